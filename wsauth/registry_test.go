package wsauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

var _ wsauth.RevocationBus = (*wsauthtest.Bus)(nil)

// node serves /q (Query) and /first (FirstMessage), both registering in
// reg, and reports on done each time a handler has returned.
type node struct {
	*wsauthtest.Server
	done chan struct{}
}

func newNode(t *testing.T, o *wsauth.Options, fn func(context.Context, *wsauth.Conn)) *node {
	t.Helper()
	n := &node{done: make(chan struct{}, 64)}
	mux := http.NewServeMux()
	for path, h := range map[string]http.Handler{
		"/q":     wsauth.Handler(wsauth.Query(o), fn),
		"/first": wsauth.Handler(wsauth.FirstMessage(o), fn),
	} {
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			n.done <- struct{}{}
		}))
	}
	n.Server = wsauthtest.NewHandlerServer(t, mux)
	return n
}

// handled waits for a handler of n to return.
func (n *node) handled(t *testing.T) {
	t.Helper()
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not return")
	}
}

func mustDialQuery(t *testing.T, srv *wsauthtest.Server, cred string) *websocket.Conn {
	t.Helper()
	c, _, err := srv.DialQuery(testCtx(t), "/q", cred, nil)
	if err != nil {
		t.Fatalf("dial as %s: %v", cred, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func mustDialFirst(t *testing.T, srv *wsauthtest.Server, cred string) *websocket.Conn {
	t.Helper()
	c, _, err := srv.DialFirstMessage(testCtx(t), "/first", cred, nil)
	if err != nil {
		t.Fatalf("dial as %s: %v", cred, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestRevoke(t *testing.T) {
	ctx := testCtx(t)
	reg := wsauth.NewRegistry(nil)
	log := newEventLog()
	n := newNode(t, &wsauth.Options{Verifier: fakeVerifier(), Registry: reg, Events: log.hook}, echo)
	alice1 := mustDialQuery(t, n.Server, "alice-token")
	alice2 := mustDialFirst(t, n.Server, "alice-2")
	bob := mustDialQuery(t, n.Server, "bob-token")
	// A round trip each: the server side is registered by then.
	for _, c := range []*websocket.Conn{alice1, alice2, bob} {
		roundTrip(t, ctx, c, "hi")
	}
	if reg.Count("alice") != 2 || reg.Len() != 3 {
		t.Fatalf("registered: alice %d, all %d", reg.Count("alice"), reg.Len())
	}

	if err := reg.Revoke(ctx, "alice", "logged out"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{alice1, alice2} {
		if code, reason := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated || reason != "logged out" {
			t.Fatalf("revoked connection closed with %v %q, want 4401 \"logged out\"", code, reason)
		}
	}
	for range 2 {
		if e := log.next(t, wsauth.EventRevoked); e.Subject != "alice" || !errors.Is(e.Err, wsauth.ErrRevoked) {
			t.Errorf("revoked event %+v", e)
		}
	}
	if got := roundTrip(t, ctx, bob, "still here"); got != "bob: still here" {
		t.Fatalf("bob: %q", got)
	}
	if reg.Count("alice") != 0 || reg.Len() != 1 {
		t.Fatalf("after revoke: alice %d, all %d", reg.Count("alice"), reg.Len())
	}
}

// The handler's own Read and Write say why the connection ended.
func TestRevokedConnErrors(t *testing.T) {
	ctx := testCtx(t)
	reg := wsauth.NewRegistry(nil)
	errs := make(chan error, 2)
	n := newNode(t, &wsauth.Options{Verifier: fakeVerifier(), Registry: reg}, func(ctx context.Context, c *wsauth.Conn) {
		c.Write(ctx, websocket.MessageText, []byte("ready"))
		_, _, err := c.Read(ctx)
		errs <- err
		errs <- c.Write(ctx, websocket.MessageText, []byte("late"))
	})
	c := mustDialQuery(t, n.Server, "alice-token")
	if _, b, err := c.Read(ctx); err != nil || string(b) != "ready" {
		t.Fatalf("%s %v", b, err)
	}
	reg.Revoke(ctx, "alice", "")
	if code, reason := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated || reason != "revoked" {
		t.Fatalf("closed with %v %q", code, reason)
	}
	for _, what := range []string{"Read", "Write"} {
		if err := <-errs; !errors.Is(err, wsauth.ErrRevoked) {
			t.Errorf("%s after revoke: %v, want ErrRevoked", what, err)
		}
	}
}

// Two registries sharing a bus are two nodes: a revoke on one closes the
// subject's connections on the other.
func TestRevokeAcrossNodes(t *testing.T) {
	ctx := testCtx(t)
	var bus wsauthtest.Bus
	regA := wsauth.NewRegistry(&wsauth.RegistryOptions{Bus: &bus})
	regB := wsauth.NewRegistry(&wsauth.RegistryOptions{Bus: &bus})
	for _, r := range []*wsauth.Registry{regA, regB} {
		if err := r.Listen(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a := newNode(t, &wsauth.Options{Verifier: fakeVerifier(), Registry: regA}, echo)
	b := newNode(t, &wsauth.Options{Verifier: fakeVerifier(), Registry: regB}, echo)
	onA := mustDialQuery(t, a.Server, "alice-token")
	onB := mustDialFirst(t, b.Server, "alice-2")
	bobB := mustDialFirst(t, b.Server, "bob-token")
	for _, c := range []*websocket.Conn{onA, onB, bobB} {
		roundTrip(t, ctx, c, "hi")
	}
	start := time.Now()
	if err := regA.Revoke(ctx, "alice", "revoked by admin"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{onA, onB} {
		if code, _ := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated {
			t.Fatalf("close %v", code)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("revocation took %v", d)
	}
	if got := roundTrip(t, ctx, bobB, "x"); got != "bob: x" {
		t.Fatalf("bob on B: %q", got)
	}
}

// A close reason is at most 123 bytes of printable UTF-8.
func TestRevokeReasonSanitised(t *testing.T) {
	ctx := testCtx(t)
	reg := wsauth.NewRegistry(nil)
	n := newNode(t, &wsauth.Options{Verifier: fakeVerifier(), Registry: reg}, echo)
	c := mustDialQuery(t, n.Server, "alice-token")
	roundTrip(t, ctx, c, "hi")
	reg.Revoke(ctx, "alice", "bad\x00\n\xff"+strings.Repeat("é", 100))
	code, reason := closeCode(t, ctx, c)
	if code != wsauth.CloseUnauthenticated || len(reason) > 123 || !utf8.ValidString(reason) || !strings.HasPrefix(reason, "badé") {
		t.Fatalf("close %v %q (%d bytes)", code, reason, len(reason))
	}
}

// A connection leaves the registry on every way it can end.
func TestRegistryForgetsClosedConns(t *testing.T) {
	ctx := testCtx(t)
	v := fakeVerifier()
	reg := wsauth.NewRegistry(nil)
	o := &wsauth.Options{Verifier: v, Registry: reg}

	t.Run("handler returns", func(t *testing.T) {
		n := newNode(t, o, func(context.Context, *wsauth.Conn) {})
		c := mustDialQuery(t, n.Server, "alice-token")
		closeCode(t, ctx, c) // answers Handler's close
		n.handled(t)
		if reg.Len() != 0 {
			t.Fatalf("%d registered", reg.Len())
		}
	})
	t.Run("peer goes away", func(t *testing.T) {
		n := newNode(t, o, echo)
		c := mustDialFirst(t, n.Server, "alice-token")
		roundTrip(t, ctx, c, "hi")
		c.CloseNow()
		n.handled(t)
		if reg.Len() != 0 {
			t.Fatalf("%d registered", reg.Len())
		}
	})
	t.Run("expiry", func(t *testing.T) {
		n := newNode(t, o, echo)
		v.Set("short", wsauth.Principal{Subject: "carol", ExpiresAt: time.Now().Add(300 * time.Millisecond)})
		c := mustDialFirst(t, n.Server, "short")
		if code, _ := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated {
			t.Fatalf("close %v", code)
		}
		n.handled(t)
		if reg.Len() != 0 {
			t.Fatalf("%d registered", reg.Len())
		}
	})
	t.Run("never closed by its user", func(t *testing.T) {
		a := wsauth.Query(o)
		done := make(chan struct{})
		srv := wsauthtest.NewHandlerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			c, err := a.Accept(w, r)
			if err != nil {
				return
			}
			for {
				if _, _, err := c.Read(r.Context()); err != nil {
					return // and no Close
				}
			}
		}))
		c, _, err := srv.DialQuery(ctx, "/", "alice-token", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(ctx, websocket.MessageText, []byte("hi"))
		c.CloseNow()
		<-done
		if reg.Len() != 0 {
			t.Fatalf("%d registered", reg.Len())
		}
	})
}

// jtiVerifier knows tokens carrying a "jti" claim.
func jtiVerifier() *wsauthtest.Verifier {
	exp := time.Now().Add(time.Hour)
	return wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"token-1": {Subject: "alice", ExpiresAt: exp, Claims: map[string]any{"jti": "id-1"}},
		"token-2": {Subject: "alice", ExpiresAt: exp, Claims: map[string]any{"jti": "id-2"}},
	})
}

func TestRevokeToken(t *testing.T) {
	ctx := testCtx(t)
	reg := wsauth.NewRegistry(&wsauth.RegistryOptions{Denylist: memstore.New(nil)})
	n := newNode(t, &wsauth.Options{Verifier: jtiVerifier(), Registry: reg}, echo)
	live := mustDialFirst(t, n.Server, "token-1")

	if err := reg.RevokeToken(ctx, "id-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Refused on reconnect, by either strategy.
	if _, resp, err := n.DialQuery(ctx, "/q", "token-1", nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("query reconnect with a revoked jti: %v", err)
	}
	if _, _, err := n.DialFirstMessage(ctx, "/first", "token-1", nil); websocket.CloseStatus(err) != wsauth.CloseUnauthenticated {
		t.Fatalf("first-message reconnect with a revoked jti: %v", err)
	}
	// And as a refresh.
	transport.Refresh(ctx, live, "token-1")
	if code, reason := closeCode(t, ctx, live); code != wsauth.CloseUnauthenticated || reason != "credential revoked" {
		t.Fatalf("refresh with a revoked jti: %v %q", code, reason)
	}
	// Other tokens of the subject are fine.
	mustDialQuery(t, n.Server, "token-2")
}

// A deny list that cannot be consulted refuses (503), and one that is not
// configured is an error for RevokeToken.
func TestDenylistFailsClosed(t *testing.T) {
	ctx := testCtx(t)
	reg := wsauth.NewRegistry(&wsauth.RegistryOptions{Denylist: failingDenylist{}})
	n := newNode(t, &wsauth.Options{Verifier: jtiVerifier(), Registry: reg}, echo)
	_, resp, err := n.DialQuery(ctx, "/q", "token-1", nil)
	if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial with the deny list down: %v", err)
	}
	if err := wsauth.NewRegistry(nil).RevokeToken(ctx, "id-1", time.Now().Add(time.Hour)); err == nil {
		t.Fatal("RevokeToken without a Denylist succeeded")
	}
}

type failingDenylist struct{}

func (failingDenylist) Deny(context.Context, ticket.Key, time.Time) error {
	return ticket.ErrStoreUnavailable
}

func (failingDenylist) Denied(context.Context, ticket.Key) (bool, error) {
	return false, ticket.ErrStoreUnavailable
}
