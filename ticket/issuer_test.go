package ticket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// identifyAlice accepts any caller as alice with scope "general".
func identifyAlice(*http.Request) (ticket.Ticket, error) {
	return ticket.Ticket{Subject: "alice", Scope: []string{"general"}, Metadata: map[string]string{"k": "v"}}, nil
}

func newIssuer(st ticket.Store, clk *clock) *ticket.Issuer {
	return &ticket.Issuer{Store: st, Identify: identifyAlice, Now: clk.Now}
}

func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://example.com/ticket", strings.NewReader(body))
	r.RemoteAddr = "192.0.2.10:40000"
	return r
}

// serve runs iss on r and checks what every response must hold.
func serve(t *testing.T, iss http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	iss.ServeHTTP(w, r)
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("status %d: Cache-Control = %q, want no-store", w.Code, cc)
	}
	return w
}

func TestIssuerServeHTTP(t *testing.T) {
	clk := newClock()
	st := newMapStore()
	w := serve(t, newIssuer(st, clk), post(""))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, body %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var resp map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if len(resp) != 2 {
		t.Errorf("body has fields %v, want ticket and expires_at", resp)
	}
	id, _ := resp["ticket"].(string)
	if len(id) != ticket.IDLen {
		t.Fatalf("ticket = %q", id)
	}
	exp, err := time.Parse(time.RFC3339Nano, fmt.Sprint(resp["expires_at"]))
	if err != nil || !exp.Equal(clk.Now().Add(ticket.DefaultTTL)) {
		t.Fatalf("expires_at = %v (%v), want %v", resp["expires_at"], err, clk.Now().Add(ticket.DefaultTTL))
	}
	if !strings.HasSuffix(fmt.Sprint(resp["expires_at"]), "Z") {
		t.Errorf("expires_at %v not in UTC", resp["expires_at"])
	}
	for k, v := range w.Header() {
		if strings.Contains(k+strings.Join(v, ","), id) {
			t.Fatalf("header %s carries the ticket ID", k)
		}
	}
	key, _ := ticket.KeyOf(id)
	st.mu.Lock()
	ttl := st.ttls[key]
	st.mu.Unlock()
	if ttl != ticket.DefaultTTL {
		t.Errorf("Put TTL = %v, want %v", ttl, ticket.DefaultTTL)
	}

	// Another address cannot redeem it, and that burns it.
	rd := &ticket.Redeemer{Store: st, Now: clk.Now}
	id2 := serve(t, newIssuer(st, clk), post("")).Body.String()
	var r2 struct{ Ticket string }
	json.Unmarshal([]byte(id2), &r2)
	if _, err := rd.Redeem(context.Background(), r2.Ticket, ip1, ""); !errors.Is(err, ticket.ErrClientIP) {
		t.Fatalf("redeem from another IP: %v", err)
	}

	tk, err := rd.Redeem(context.Background(), id, netip.MustParseAddr("192.0.2.10"), "general")
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if tk.Subject != "alice" || tk.ClientIP != netip.MustParseAddr("192.0.2.10") ||
		!tk.IssuedAt.Equal(clk.Now()) || tk.Metadata["k"] != "v" {
		t.Fatalf("redeemed %+v", tk)
	}
}

func TestIssuerIgnoresIdentifyTimesAndIP(t *testing.T) {
	clk := newClock()
	st := newMapStore()
	iss := &ticket.Issuer{Store: st, Now: clk.Now, Identify: func(*http.Request) (ticket.Ticket, error) {
		return ticket.Ticket{
			Subject:   "alice",
			ClientIP:  netip.MustParseAddr("1.1.1.1"),
			IssuedAt:  clk.Now().Add(-time.Hour),
			ExpiresAt: clk.Now().Add(365 * 24 * time.Hour),
		}, nil
	}}
	w := serve(t, iss, post(""))
	var resp struct{ Ticket string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != 200 {
		t.Fatalf("status %d body %q", w.Code, w.Body)
	}
	key, _ := ticket.KeyOf(resp.Ticket)
	tk, ok, _ := st.Take(context.Background(), key)
	if !ok {
		t.Fatal("ticket not stored")
	}
	if tk.ClientIP != netip.MustParseAddr("192.0.2.10") || !tk.IssuedAt.Equal(clk.Now()) ||
		!tk.ExpiresAt.Equal(clk.Now().Add(ticket.DefaultTTL)) {
		t.Fatalf("stored %+v: Identify's IP or times were kept", tk)
	}
}

func TestIssuerTrustedProxy(t *testing.T) {
	clk := newClock()
	st := newMapStore()
	iss := newIssuer(st, clk)
	iss.ClientIP = proxies
	r := post("")
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	w := serve(t, iss, r)
	var resp struct{ Ticket string }
	json.Unmarshal(w.Body.Bytes(), &resp)
	rd := &ticket.Redeemer{Store: st, Now: clk.Now}
	if _, err := rd.Redeem(context.Background(), resp.Ticket, netip.MustParseAddr("203.0.113.5"), ""); err != nil {
		t.Fatalf("Redeem as forwarded client: %v", err)
	}
}

func TestIssuerErrors(t *testing.T) {
	deny := func(err error) func(*http.Request) (ticket.Ticket, error) {
		return func(*http.Request) (ticket.Ticket, error) { return ticket.Ticket{}, err }
	}
	tests := []struct {
		name     string
		req      func() *http.Request
		identify func(*http.Request) (ticket.Ticket, error)
		store    ticket.Store
		want     int
	}{
		{name: "get", want: http.StatusMethodNotAllowed, req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/ticket", nil)
		}},
		{name: "put", want: http.StatusMethodNotAllowed, req: func() *http.Request {
			return httptest.NewRequest(http.MethodPut, "/ticket", nil)
		}},
		{name: "cross-site fetch", want: http.StatusForbidden, req: func() *http.Request {
			r := post("")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}},
		{name: "same-site fetch", want: http.StatusForbidden, req: func() *http.Request {
			r := post("")
			r.Header.Set("Sec-Fetch-Site", "same-site")
			return r
		}},
		{name: "foreign origin", want: http.StatusForbidden, req: func() *http.Request {
			r := post("")
			r.Header.Set("Origin", "https://evil.example")
			return r
		}},
		{name: "identify error", want: http.StatusUnauthorized, identify: deny(errors.New("no session"))},
		{name: "forbidden", want: http.StatusForbidden, identify: deny(fmt.Errorf("banned: %w", ticket.ErrForbidden))},
		{name: "empty subject", want: http.StatusUnauthorized, identify: func(*http.Request) (ticket.Ticket, error) {
			return ticket.Ticket{Scope: []string{"general"}}, nil
		}},
		{name: "store down", want: http.StatusServiceUnavailable, store: &failStore{}},
		{name: "bad remote", want: http.StatusBadRequest, req: func() *http.Request {
			r := post("")
			r.RemoteAddr = "pipe"
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMapStore()
			iss := newIssuer(st, newClock())
			if tt.identify != nil {
				iss.Identify = tt.identify
			}
			if tt.store != nil {
				iss.Store = tt.store
			}
			r := post("")
			if tt.req != nil {
				r = tt.req()
			}
			w := serve(t, iss, r)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.want, w.Body)
			}
			if st.puts.Load() != 0 || st.len() != 0 {
				t.Fatal("a ticket was stored")
			}
			if tt.want == http.StatusMethodNotAllowed && w.Header().Get("Allow") != http.MethodPost {
				t.Fatalf("Allow = %q", w.Header().Get("Allow"))
			}
			if strings.Contains(w.Body.String(), `"ticket"`) || strings.Contains(w.Header().Get("Content-Type"), "json") {
				t.Fatalf("error response looks like a ticket: %q", w.Body)
			}
			// A 43-character base64url run would be a ticket ID.
			for _, f := range strings.FieldsFunc(w.Body.String()+fmt.Sprint(w.Header()), func(r rune) bool {
				return !strings.ContainsRune(b64url, r)
			}) {
				if len(f) >= ticket.IDLen {
					t.Fatalf("response carries an ID-like string %q", f)
				}
			}
		})
	}
}

// A failed Put's ID never reaches the client: the store saw only the key.
func TestIssuerStoreFailureHidesID(t *testing.T) {
	st := &failStore{}
	w := serve(t, newIssuer(st, newClock()), post(""))
	if w.Code != http.StatusServiceUnavailable || st.calls.Load() != 1 {
		t.Fatalf("status %d, store calls %d", w.Code, st.calls.Load())
	}
	if strings.Contains(w.Body.String(), errBackend.Error()) {
		t.Fatalf("body %q leaks the store error", w.Body)
	}
}

func TestIssuerCrossOriginAllowed(t *testing.T) {
	st := newMapStore()
	iss := newIssuer(st, newClock())
	iss.CrossOrigin = http.NewCrossOriginProtection()
	if err := iss.CrossOrigin.AddTrustedOrigin("https://app.example"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		origin string
		want   int
	}{{"https://app.example", 200}, {"https://evil.example", 403}} {
		r := post("")
		r.Header.Set("Origin", tc.origin)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		if w := serve(t, iss, r); w.Code != tc.want {
			t.Errorf("Origin %s: status %d, want %d", tc.origin, w.Code, tc.want)
		}
	}
	// Same-origin browser requests pass the default check.
	r := post("")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Origin", "http://example.com")
	if w := serve(t, newIssuer(st, newClock()), r); w.Code != 200 {
		t.Errorf("same-origin: status %d", w.Code)
	}
}

func TestIssuerIdentifyReadsBody(t *testing.T) {
	type creds struct {
		User string `json:"user"`
	}
	var readErr error
	iss := newIssuer(newMapStore(), newClock())
	iss.Identify = func(r *http.Request) (ticket.Ticket, error) {
		var c creds
		if readErr = json.NewDecoder(r.Body).Decode(&c); readErr != nil {
			return ticket.Ticket{}, readErr
		}
		return ticket.Ticket{Subject: c.User}, nil
	}
	if w := serve(t, iss, post(`{"user":"bob"}`)); w.Code != 200 || readErr != nil {
		t.Fatalf("small body: status %d, err %v", w.Code, readErr)
	}

	iss.Identify = func(r *http.Request) (ticket.Ticket, error) {
		_, readErr = io.ReadAll(r.Body)
		if readErr != nil {
			return ticket.Ticket{}, readErr
		}
		return ticket.Ticket{Subject: "bob"}, nil
	}
	if w := serve(t, iss, post(strings.Repeat("x", 64<<10))); w.Code != 200 || readErr != nil {
		t.Fatalf("64 KiB body: status %d, err %v", w.Code, readErr)
	}
	w := serve(t, iss, post(strings.Repeat("x", 64<<10+1)))
	var mbe *http.MaxBytesError
	if w.Code != http.StatusUnauthorized || !errors.As(readErr, &mbe) || mbe.Limit != 64<<10 {
		t.Fatalf("oversized body: status %d, err %v", w.Code, readErr)
	}
}

func TestIssue(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration
		in      ticket.Ticket
		wantIat time.Duration // from now
		wantExp time.Duration
	}{
		{name: "default ttl", wantExp: 30 * time.Second},
		{name: "negative ttl is default", ttl: -time.Second, wantExp: 30 * time.Second},
		{name: "custom ttl", ttl: 5 * time.Minute, wantExp: 5 * time.Minute},
		{name: "given issued-at", ttl: time.Minute, in: ticket.Ticket{IssuedAt: newClock().Now().Add(-10 * time.Second)},
			wantIat: -10 * time.Second, wantExp: 50 * time.Second},
		{name: "given expiry", in: ticket.Ticket{ExpiresAt: newClock().Now().Add(time.Hour)}, wantExp: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			st := newMapStore()
			iss := &ticket.Issuer{Store: st, Now: clk.Now, TTL: tt.ttl}
			tt.in.Subject = "alice"
			id, got, err := iss.Issue(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			now := clk.Now()
			if !got.IssuedAt.Equal(now.Add(tt.wantIat)) || !got.ExpiresAt.Equal(now.Add(tt.wantExp)) {
				t.Fatalf("IssuedAt %v ExpiresAt %v; want now%+v, now+%v", got.IssuedAt, got.ExpiresAt, tt.wantIat, tt.wantExp)
			}
			key, err := ticket.KeyOf(id)
			if err != nil {
				t.Fatal(err)
			}
			st.mu.Lock()
			stored, ttl := st.m[key], st.ttls[key]
			st.mu.Unlock()
			if !sameTicket(stored, got) || ttl != tt.wantExp {
				t.Fatalf("stored %+v ttl %v; want %+v ttl %v", stored, ttl, got, tt.wantExp)
			}
		})
	}
}

func TestIssueErrors(t *testing.T) {
	clk := newClock()
	st := newMapStore()
	iss := &ticket.Issuer{Store: st, Now: clk.Now}
	for _, exp := range []time.Time{clk.Now(), clk.Now().Add(-time.Second)} {
		id, _, err := iss.Issue(context.Background(), ticket.Ticket{Subject: "a", ExpiresAt: exp})
		if !errors.Is(err, ticket.ErrExpired) || id != "" {
			t.Errorf("expiry %v: id %q err %v, want ErrExpired", exp, id, err)
		}
	}
	if st.puts.Load() != 0 {
		t.Error("expired ticket was stored")
	}
	iss.Store = &failStore{}
	id, _, err := iss.Issue(context.Background(), ticket.Ticket{Subject: "a"})
	if !errors.Is(err, ticket.ErrStoreUnavailable) || !errors.Is(err, errBackend) || id != "" {
		t.Fatalf("store failure: id %q err %v", id, err)
	}
	if !strings.HasPrefix(err.Error(), "ticket: issue: ") {
		t.Errorf("error %q lacks context", err)
	}
}
