package harness

import (
	"encoding/base64"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsauth/wsauth/wsauth"
)

// TestCheckerCatches feeds the checker histories that break each
// invariant the broken variants of TestBrokenVariantsAreCaught do not
// exercise, and one that breaks none, so that a checker that stopped
// looking would fail here.
func TestCheckerCatches(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	newWorld := func() *world {
		cfg := redisConfig
		return &world{t: t, cfg: cfg, start: t0, h: newHistory(), cap: &capture{}, creds: newCredTable()}
	}
	addr := netip.MustParseAddr("127.0.0.9")
	jwt := func(w *world) int {
		return w.creds.add(credRec{jwt: true, secret: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NTY3OA",
			subject: "alice", jti: "j1", sid: "s1", mintStart: at(0), mintEnd: at(1), exp: at(5000)})
	}
	served := func(w *world, key string, ms int) {
		w.h.served = append(w.h.served, servedConn{node: 0, key: key, route: "query/jwt/coder", jti: "j1", t: at(ms)})
	}
	cases := []struct {
		name  string
		build func(w *world)
		want  string // "" for none
	}{
		{"clean", func(w *world) {
			jwt(w)
			served(w, "c0.1", 10)
			w.h.deliveries = append(w.h.deliveries, delivery{key: "c0.1", frame: "c0.1:1", jti: "j1", t: at(20)})
		}, ""},
		{"leak raw", func(w *world) { w.cap.add("log", "token "+w.creds.get(jwt(w)).secret) }, vLeak},
		{"leak base64url", func(w *world) {
			w.cap.add("log", base64.RawURLEncoding.EncodeToString([]byte(w.creds.get(jwt(w)).secret)))
		}, vLeak},
		{"leak query-escaped", func(w *world) {
			w.cap.add("log", "/ws?ticket="+url.QueryEscape(w.creds.get(jwt(w)).secret+"/="))
		}, vLeak},
		{"leak signature", func(w *world) { jwt(w); w.cap.add("log", "sig c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NTY3OA") }, vLeak},
		{"ticket twice", func(w *world) {
			id := w.creds.add(credRec{secret: "ticket-id-0123456789-abcdefghijk", subject: "bob", jti: "t1"})
			for i := range 2 {
				w.h.verifies = append(w.h.verifies, verifyCall{node: i, addr: addr, cred: id, start: at(i), end: at(i + 1), done: true, ok: true})
			}
		}, vRedeemedTwice},
		{"budget", func(w *world) {
			// Twice the burst at once, as concurrent attempts get through
			// a budget checked before verifying and spent after.
			for i := range 2 * w.cfg.budget {
				w.h.verifies = append(w.h.verifies, verifyCall{addr: addr, cred: -1, start: at(i), end: at(100), done: true, spent: true})
			}
		}, vBudget},
		{"budget kept", func(w *world) {
			for i := range w.cfg.budget {
				w.h.verifies = append(w.h.verifies, verifyCall{addr: addr, cred: -1, start: at(i), end: at(100), done: true, spent: true})
			}
		}, ""},
		{"delivered after expiry", func(w *world) {
			jwt(w)
			w.h.deliveries = append(w.h.deliveries, delivery{key: "c0.1", frame: "c0.1:1", jti: "j1", t: at(5300)})
		}, vDeliveredAfterExpiry},
		{"written after end", func(w *world) {
			jwt(w)
			w.h.events = append(w.h.events, nodeEvent{key: "c0.1", e: wsauth.Event{Kind: wsauth.EventClosed, Reason: "revoked"}, t: at(100)})
			w.h.writes = append(w.h.writes, sockWrite{key: "c0.1", payload: "e:c0.1:1", jti: "j1", start: at(400), done: true, ok: true})
		}, vWrittenAfterEnd},
		{"remote node late", func(w *world) {
			jwt(w)
			w.h.revs = append(w.h.revs, revocation{node: 1, kind: revSubject, value: "alice", start: at(10), end: at(12)})
			w.h.deliveries = append(w.h.deliveries, delivery{node: 0, key: "c0.1", frame: "c0.1:1", jti: "j1", t: at(1300)})
		}, vDeliveredAfterRevocation},
		{"remote node cut, caught up in time", func(w *world) {
			jwt(w)
			w.h.revs = append(w.h.revs, revocation{node: 1, kind: revSubject, value: "alice", start: at(10), end: at(12)})
			w.h.cuts = append(w.h.cuts, cutSpan{node: 0, start: at(5), end: at(2000), cause: "listen"})
			w.h.deliveries = append(w.h.deliveries, delivery{node: 0, key: "c0.1", frame: "c0.1:1", jti: "j1", t: at(2100)})
		}, ""},
		{"accepted after revocation", func(w *world) {
			id := jwt(w)
			w.h.revs = append(w.h.revs, revocation{node: 1, kind: revID, value: "s1", start: at(10), end: at(12)})
			w.h.verifies = append(w.h.verifies, verifyCall{node: 0, addr: addr, key: "c0.1", cred: id, start: at(20), end: at(21), done: true, ok: true})
			served(w, "c0.1", 22)
		}, vAcceptedAfterRevocation},
		{"unrecorded frame", func(w *world) {
			w.h.receipts = append(w.h.receipts, receipt{key: "c0.1", payload: "e:c0.1:1", t: at(1)})
		}, vUnrecorded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tc.build(w)
			vs := w.check()
			kinds := make([]string, len(vs))
			for i, v := range vs {
				kinds[i] = v.kind
			}
			switch {
			case tc.want == "" && len(vs) > 0:
				t.Fatalf("violations in a clean history: %v", vs)
			case tc.want != "" && !slices.Contains(kinds, tc.want):
				t.Fatalf("want %q, got %v", tc.want, kinds)
			}
		})
	}
}

// TestLeakCheckCatches: a goroutine and a file descriptor left behind are
// reported.
func TestLeakCheckCatches(t *testing.T) {
	w := &world{t: t, leakWait: 50 * time.Millisecond}
	fds, base := countFDs(), goleak.IgnoreCurrent()
	stop := make(chan struct{})
	go func() { <-stop }()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	vs := w.leaks(fds, base)
	close(stop)
	f.Close()
	var kinds []string
	for _, v := range vs {
		kinds = append(kinds, v.kind)
	}
	if !slices.Contains(kinds, "goroutine leak") || !slices.Contains(kinds, "fd leak") {
		t.Fatalf("leaks reported: %v", kinds)
	}
}
