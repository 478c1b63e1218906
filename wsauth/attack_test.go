package wsauth_test

// Attacks on the pipeline's guarantees, over real loopback connections:
// each of these failed before the pipeline was one (see SECURITY.md).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// allRoutes is every strategy, and the handshake ones in band too.
var allRoutes = append(append([]route{}, routes...), queryRoute.withInBand(), subprotocolRoute.withInBand(), headerRoute.withInBand(), cookieRoute.withInBand())

// TestRevokeDuringAccept: a Revoke that runs at any moment of an accept
// either makes it fail or closes the connection afterwards; the handler
// never runs. The revocation lands between the credential check and the
// registration (from the Authorizer), during the 101 (from the upgrade),
// and during auth_ok (from the socket's first write).
func TestRevokeDuringAccept(t *testing.T) {
	type moment struct {
		name  string
		hooks func(revoke func()) (wsauth.Authorizer, func(w http.ResponseWriter, r *http.Request, p string) (wsauth.Socket, error))
	}
	moments := []moment{
		{"before registration", func(revoke func()) (wsauth.Authorizer, func(http.ResponseWriter, *http.Request, string) (wsauth.Socket, error)) {
			return func(context.Context, wsauth.Principal, *http.Request) error { revoke(); return nil }, nil
		}},
		{"during the upgrade", func(revoke func()) (wsauth.Authorizer, func(http.ResponseWriter, *http.Request, string) (wsauth.Socket, error)) {
			return nil, func(w http.ResponseWriter, r *http.Request, p string) (wsauth.Socket, error) {
				revoke()
				return acceptSocket(w, r, p)
			}
		}},
		{"during the success write", func(revoke func()) (wsauth.Authorizer, func(http.ResponseWriter, *http.Request, string) (wsauth.Socket, error)) {
			return nil, func(w http.ResponseWriter, r *http.Request, p string) (wsauth.Socket, error) {
				s, err := acceptSocket(w, r, p)
				if err != nil {
					return nil, err
				}
				return &onFirstWrite{Socket: s, fn: revoke}, nil
			}
		}},
	}
	for _, rt := range allRoutes {
		for _, m := range moments {
			if m.name == "during the success write" && !rt.inBand() {
				continue // their success write is the 101: the upgrade
			}
			t.Run(rt.name+"/"+m.name, func(t *testing.T) {
				reg := wsauth.NewRegistry(nil, nil)
				var served atomic.Bool
				authorize, upgrade := m.hooks(func() {
					if err := reg.Revoke(context.Background(), "alice", "logged out"); err != nil {
						t.Errorf("Revoke: %v", err)
					}
				})
				a := wsauth.New(verifier(), rt.strategy, &wsauth.Options{Registry: reg, Authorizer: authorize, Upgrade: upgrade})
				url := loopback(t, wsauth.Handler(a, func(context.Context, *wsauth.Conn) {
					served.Store(true) // and close with 1000
				}))
				ctx := testCtx(t)
				c, out := rt.dial(ctx, url, "alice-token", nil)
				if c != nil {
					// Upgraded before the revocation was noticed: then it
					// must be closed with 4401, and never served.
					out.code, _ = closeOf(ctx, c)
					c.CloseNow()
				}
				switch {
				case out.status == http.StatusUnauthorized:
				case out.code == transport.CloseUnauthenticated:
				default:
					t.Fatalf("answered %v, want 401 or close 4401", out)
				}
				if served.Load() {
					t.Fatal("a revoked connection was served")
				}
			})
		}
	}
}

// acceptSocket is coder/websocket's upgrade, as the default does it.
func acceptSocket(w http.ResponseWriter, r *http.Request, p string) (wsauth.Socket, error) {
	o := &websocket.AcceptOptions{InsecureSkipVerify: true}
	if p != "" {
		o.Subprotocols = []string{p}
	}
	c, err := websocket.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// onFirstWrite calls fn before its first write.
type onFirstWrite struct {
	wsauth.Socket
	once sync.Once
	fn   func()
}

func (s *onFirstWrite) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	s.once.Do(s.fn)
	return s.Socket.Write(ctx, typ, p)
}

// TestFailureBudgetIsExact: 300 simultaneous failing attempts from one
// address with a budget of 20: at most 20 reach the Verifier, the others
// are refused unheard with 429 or 4429.
func TestFailureBudgetIsExact(t *testing.T) {
	t.Parallel() // after the serial tests, which measure the heap or flip internal/breaks
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			const attempts, burst = 300, 20
			var calls atomic.Int64
			release := make(chan struct{})
			v := wsauth.VerifierFunc(func(ctx context.Context, _ string, _ wsauth.Peer) (wsauth.Principal, error) {
				calls.Add(1)
				<-release // a slow verifier: every call overlaps every other
				return wsauth.Principal{}, wsauth.ErrInvalid
			})
			a := wsauth.New(v, rt.strategy, &wsauth.Options{Limiter: wsauth.NewLimiter(burst, time.Hour)})
			url := loopback(t, wsauth.Handler(a, echo))
			// Registered after loopback, so it runs before the server's
			// close, which waits for the handlers the verifier holds.
			unblock := sync.OnceFunc(func() { close(release) })
			t.Cleanup(unblock)
			ctx := testCtx(t)
			outs := make(chan outcome, attempts)
			var wg sync.WaitGroup
			for range attempts {
				wg.Go(func() {
					c, out := rt.dial(ctx, url, "mallory-token", nil)
					if c != nil {
						c.CloseNow()
					}
					outs <- out
				})
			}
			// Every attempt beyond the budget is answered while the
			// verifier still holds the first ones.
			limited := 0
			deadline := time.After(20 * time.Second)
			for limited < attempts-burst {
				select {
				case out := <-outs:
					if !rt.refusedAs(out, http.StatusTooManyRequests, transport.CloseTooManyAttempts) {
						t.Fatalf("attempt answered %v while the budget was reserved, want 429/4429", out)
					}
					limited++
				case <-deadline:
					t.Fatalf("after %d refusals, %d attempts are stuck in the verifier (%d calls)", limited, attempts-limited, calls.Load())
				}
			}
			unblock()
			wg.Wait()
			close(outs)
			for out := range outs {
				if !rt.refusedAs(out, http.StatusUnauthorized, transport.CloseUnauthenticated) {
					t.Errorf("verified attempt answered %v, want 401/4401", out)
				}
			}
			if n := calls.Load(); n != burst {
				t.Fatalf("%d attempts reached the verifier, budget %d", n, burst)
			}
		})
	}
}

// TestLaterFramesAreChecked: on a per-message connection, a later frame
// whose token differs from the last one verified goes through the deny
// list and the Authorizer like the first: a revoked token closes 4401, a
// token for another room 4403.
func TestLaterFramesAreChecked(t *testing.T) {
	now := time.Now()
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"first":   {Subject: "alice", IssuedAt: now, Scope: []string{"general"}, Claims: map[string]any{"jti": "j1"}},
		"revoked": {Subject: "alice", IssuedAt: now, Scope: []string{"general"}, Claims: map[string]any{"jti": "j2"}},
		"elsewhr": {Subject: "alice", IssuedAt: now, Scope: []string{"secret"}, Claims: map[string]any{"jti": "j3"}},
		"fresh":   {Subject: "alice", IssuedAt: now, Scope: []string{"general"}, Claims: map[string]any{"jti": "j4"}},
	})
	reg := wsauth.NewRegistry(newRevocations(), nil)
	inRoom := func(_ context.Context, p wsauth.Principal, r *http.Request) error {
		if !containsString(p.Scope, r.URL.Query().Get("room")) {
			return fmt.Errorf("not in this room")
		}
		return nil
	}
	a := wsauth.New(v, wsauth.PerMessage{}, &wsauth.Options{Registry: reg, Authorizer: inRoom})
	url := loopback(t, wsauth.Handler(a, echo)) + "/?room=general"
	ctx := testCtx(t)
	if err := reg.RevokeToken(ctx, "j2", now.Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		token string
		code  websocket.StatusCode
	}{
		{"revoked", transport.CloseUnauthenticated},
		{"elsewhr", transport.CloseForbidden},
	} {
		c, out := perMessageRoute.dial(ctx, url, "first", nil)
		if c == nil {
			t.Fatalf("first frame refused: %v", out)
		}
		if _, b, err := c.Read(ctx); err != nil || string(b) != `alice: "hello"` {
			t.Fatalf("first frame: %q, %v", b, err)
		}
		if got := roundTrip(t, ctx, c, string(envelope(t, "fresh", `"ok"`))); got != `alice: "ok"` {
			t.Fatalf("fresh token: %q", got)
		}
		if err := c.Write(ctx, websocket.MessageText, envelope(t, tt.token, `"x"`)); err != nil {
			t.Fatal(err)
		}
		wantClose(t, ctx, c, tt.code)
		c.CloseNow()
	}
}

func containsString(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// TestDroppedFramesSpendTheBudget: with DropInvalid, each bad frame still
// spends the address's failure budget, whether its token reached the
// Verifier or the frame was refused before (malformed, no token); once the
// budget is spent the connection is closed with 4429 and no more frames
// reach the Verifier.
func TestDroppedFramesSpendTheBudget(t *testing.T) {
	const burst = 5
	cases := []struct {
		name     string
		frame    func(t *testing.T, i int) []byte
		verified int // frames that reach the Verifier
		err      error
	}{
		{"bad token", func(t *testing.T, i int) []byte { return envelope(t, fmt.Sprintf("bad-%d", i), `1`) }, burst, wsauth.ErrInvalid},
		{"no token", func(*testing.T, int) []byte { return []byte(`{"data":1}`) }, 0, wsauth.ErrInvalid},
		{"malformed", func(*testing.T, int) []byte { return []byte(`{"token":"alice-token","data":}`) }, 0, wsauth.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier()
			errs := make(chan error, 64)
			a := wsauth.New(v, wsauth.PerMessage{DropInvalid: true}, &wsauth.Options{Limiter: wsauth.NewLimiter(burst, time.Hour)})
			url := loopback(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
				for {
					_, err := c.Read(ctx)
					if err != nil {
						errs <- err
						if strings.Contains(err.Error(), "too many") {
							return
						}
						continue
					}
				}
			}))
			ctx := testCtx(t)
			c, out := perMessageRoute.dial(ctx, url, "alice-token", nil)
			if c == nil {
				t.Fatal(out)
			}
			defer c.CloseNow()
			before := v.Calls()
			for i := range 100 {
				if err := c.Write(ctx, websocket.MessageText, tc.frame(t, i)); err != nil {
					break // closed: 4429
				}
			}
			wantClose(t, ctx, c, transport.CloseTooManyAttempts)
			if n := v.Calls() - before; n != tc.verified {
				t.Fatalf("%d bad frames reached the verifier, want %d", n, tc.verified)
			}
			// The handler read each dropped frame's refusal, then the last
			// one's.
			for i := range burst + 1 {
				want := tc.err
				if i == burst {
					want = wsauth.ErrRateLimited
				}
				if err := <-errs; !errors.Is(err, want) {
					t.Fatalf("Read error %d: %v, want %v", i, err, want)
				}
			}
			// A new connection from the spent address is refused unheard.
			if c2, out := perMessageRoute.dial(ctx, url, "alice-token", nil); c2 != nil || out.code != transport.CloseTooManyAttempts {
				t.Fatalf("after the budget: %v", out)
			}
		})
	}
}

// TestSubprotocolWithoutCredentialOverLoopback: 401, and 4401 in band.
func TestSubprotocolWithoutCredentialOverLoopback(t *testing.T) {
	for _, inBand := range []bool{false, true} {
		a := wsauth.New(verifier(), wsauth.Subprotocol{Protocols: []string{"chat.v1"}, InBand: inBand}, nil)
		url := loopback(t, wsauth.Handler(a, echo))
		ctx := testCtx(t)
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"chat.v1"}})
		if !inBand {
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("without a credential: %v, %v; want 401", resp, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("in band: %v", err)
		}
		wantClose(t, ctx, c, transport.CloseUnauthenticated)
	}
}

// TestPrincipalFromAfterRefresh: the handler's context follows the
// connection's principal, so a refresh is visible through PrincipalFrom.
func TestPrincipalFromAfterRefresh(t *testing.T) {
	t1, t2 := time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"t1": {Subject: "alice", IssuedAt: time.Now(), ExpiresAt: t1},
		"t2": {Subject: "alice", IssuedAt: time.Now(), ExpiresAt: t2},
	})
	a := wsauth.New(v, wsauth.FirstMessage{}, nil)
	url := loopback(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
		for {
			if _, err := c.Read(ctx); err != nil {
				return
			}
			p, _ := wsauth.PrincipalFrom(ctx)
			c.Write(ctx, websocket.MessageText, []byte(p.ExpiresAt.UTC().Format(time.RFC3339)))
		}
	}))
	ctx := testCtx(t)
	c, ok, err := transport.DialFirstMessage(ctx, url, "t1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if !ok.ExpiresAt.Equal(t1) {
		t.Fatalf("auth_ok expires %v", ok.ExpiresAt)
	}
	if err := transport.Refresh(ctx, c, "t2"); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err := ok.UnmarshalJSON(b); err != nil || !ok.ExpiresAt.Equal(t2) {
		t.Fatalf("refresh answered %q: %v", b, err)
	}
	if got := roundTrip(t, ctx, c, "when?"); got != t2.UTC().Format(time.RFC3339) {
		t.Fatalf("PrincipalFrom after the refresh expires %s, want %s", got, t2.UTC().Format(time.RFC3339))
	}
}

// TestFirstMessageLargeAuthFrame: the auth frame is bounded by ReadLimit,
// not by a parser limit of its own.
func TestFirstMessageLargeAuthFrame(t *testing.T) {
	big := strings.Repeat("t", 6<<10)
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{big: {Subject: "alice"}})
	mux := http.NewServeMux()
	mux.Handle("/16k", wsauth.Handler(wsauth.New(v, wsauth.FirstMessage{ReadLimit: 16 << 10}, nil), echo))
	mux.Handle("/default", wsauth.Handler(wsauth.New(v, wsauth.FirstMessage{}, nil), echo))
	url := loopback(t, mux)
	ctx := testCtx(t)
	c, _, err := transport.DialFirstMessage(ctx, url+"/16k", big, nil)
	if err != nil {
		t.Fatalf("6 KiB auth frame under a 16 KiB limit: %v", err)
	}
	c.CloseNow()
	_, _, err = transport.DialFirstMessage(ctx, url+"/default", big, nil)
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		t.Fatalf("6 KiB auth frame under the default 4 KiB limit: %v", err)
	}
}

// ticketFor issues a ticket for subject in store.
func ticketFor(t *testing.T, store ticket.Store, subject string) string {
	return wsauthtest.Ticket(t, store, ticket.Ticket{Subject: subject})
}

// stableVerifier is a test Verifier that says its answers hold until they
// expire, as jwtverify's does, so that PerMessage takes its fast path.
type stableVerifier struct{ *wsauthtest.Verifier }

func (stableVerifier) Stable(tok string) (string, bool) { return tok, true }

// oldAndNew knows alice's two tokens: "old", expiring in an hour, and
// "new", in two, each with a jti of its own.
func oldAndNew() *wsauthtest.Verifier {
	now := time.Now()
	return wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"old": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Claims: map[string]any{"jti": "j1"}},
		"new": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Hour), Claims: map[string]any{"jti": "j2"}},
	})
}

// dialOld opens a per-message connection to url with "old" and reads the
// echo of its first frame. It is closed when the test ends.
func dialOld(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	c, out := perMessageRoute.dial(ctx, url, "old", nil)
	if c == nil {
		t.Fatalf("first frame refused: %v", out)
	}
	t.Cleanup(func() { c.CloseNow() })
	if _, b, err := c.Read(ctx); err != nil || string(b) != `alice: "hello"` {
		t.Fatalf("first frame: %q, %v", b, err)
	}
	return c
}

// TestOldTokenRevokedAfterRefresh: a per-message connection that moved to
// a newer token by a refresh frame is filed under the newer token's ID;
// RevokeToken of the older one must still refuse a frame that carries
// it, though the fast path remembers that token.
func TestOldTokenRevokedAfterRefresh(t *testing.T) {
	v := oldAndNew()
	reg := wsauth.NewRegistry(newRevocations(), nil)
	a := wsauth.New(stableVerifier{v}, wsauth.PerMessage{}, &wsauth.Options{Registry: reg})
	url := loopback(t, wsauth.Handler(a, echo))
	ctx := testCtx(t)
	c := dialOld(t, ctx, url)
	if got := roundTrip(t, ctx, c, string(envelope(t, "old", `"fast"`))); got != `alice: "fast"` {
		t.Fatalf("the remembered token: %q", got)
	}
	if err := transport.Refresh(ctx, c, "new"); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), transport.TypeAuthOK) {
		t.Fatalf("refresh answered %q, %v", b, err)
	}
	if err := reg.RevokeToken(ctx, "j1", time.Now().Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, envelope(t, "old", `"after"`)); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.Read(ctx); err == nil {
		t.Fatalf("a frame with the revoked older token was served: %q", b)
	} else if code := websocket.CloseStatus(err); code != transport.CloseUnauthenticated {
		t.Fatalf("closed with %v, want 4401", err)
	}
}

// TestRefreshRevokedWhileChecked: a later credential revoked while it is
// being checked (here, by the Authorizer) is never answered as a success:
// no auth_ok for a refresh frame, no delivery for a per-message frame, no
// EventRefreshed; the connection closes 4401. Whether the revocation names
// the new token, the subject (a logout), or, in per-message mode, a token
// that would not have become the connection's principal (it expires
// sooner), which the Registry does not file the connection under.
func TestRefreshRevokedWhileChecked(t *testing.T) {
	now := time.Now()
	type revocation struct {
		name, token string
		revoke      func(ctx context.Context, reg *wsauth.Registry) error
	}
	byToken := revocation{"token", "t2", func(ctx context.Context, reg *wsauth.Registry) error {
		return reg.RevokeToken(ctx, "j2", now.Add(time.Hour), "")
	}}
	bySubject := revocation{"subject", "t2", func(ctx context.Context, reg *wsauth.Registry) error {
		return reg.Revoke(ctx, "alice", "logged out")
	}}
	byShorterToken := revocation{"token expiring sooner", "t3", func(ctx context.Context, reg *wsauth.Registry) error {
		return reg.RevokeToken(ctx, "j3", now.Add(time.Hour), "")
	}}
	for _, rt := range []route{firstMessageRoute, perMessageRoute} {
		revs := []revocation{byToken, bySubject}
		if rt.name == perMessageRoute.name {
			revs = append(revs, byShorterToken)
		}
		for _, rev := range revs {
			t.Run(rt.name+"/"+rev.name, func(t *testing.T) {
				v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
					"t1": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Claims: map[string]any{"jti": "j1"}},
					"t2": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Hour), Claims: map[string]any{"jti": "j2"}},
					"t3": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(30 * time.Minute), Claims: map[string]any{"jti": "j3"}},
				})
				reg := wsauth.NewRegistry(newRevocations(), nil)
				var refreshed atomic.Int32
				revokeWhileChecked := func(ctx context.Context, p wsauth.Principal, _ *http.Request) error {
					if p.Claims["jti"] != "j1" {
						return rev.revoke(ctx, reg)
					}
					return nil
				}
				a := wsauth.New(v, rt.strategy, &wsauth.Options{Registry: reg, Authorizer: revokeWhileChecked, Events: func(_ context.Context, e wsauth.Event) {
					if e.Kind == wsauth.EventRefreshed {
						refreshed.Add(1)
					}
				}})
				// The handler's Read returns an error, not the frame.
				handlerDone := make(chan []string, 1)
				url := loopback(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					var got []string
					defer func() { handlerDone <- got }()
					for {
						m, err := c.Read(ctx)
						if err != nil {
							return
						}
						got = append(got, string(m.Data))
						if err := c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)); err != nil {
							return
						}
					}
				}))
				ctx := testCtx(t)
				c, out := rt.dial(ctx, url, "t1", nil)
				if c == nil {
					t.Fatalf("t1 refused: %v", out)
				}
				defer c.CloseNow()
				var later []byte
				if rt.name == perMessageRoute.name {
					if _, b, err := c.Read(ctx); err != nil || string(b) != `alice: "hello"` {
						t.Fatalf("first frame: %q, %v", b, err)
					}
					later = envelope(t, rev.token, `"x"`)
				} else {
					var err error
					if later, err = transport.AppendControl(nil, transport.TypeRefresh, rev.token); err != nil {
						t.Fatal(err)
					}
				}
				if err := c.Write(ctx, websocket.MessageText, later); err != nil {
					t.Fatal(err)
				}
				if _, b, err := c.Read(ctx); err == nil {
					t.Fatalf("answered %q for a credential revoked while it was checked", b)
				} else if code := websocket.CloseStatus(err); code != transport.CloseUnauthenticated {
					t.Fatalf("closed with %v, want 4401", err)
				}
				if n := refreshed.Load(); n != 0 {
					t.Fatalf("%d EventRefreshed for a revoked refresh", n)
				}
				if got := <-handlerDone; slices.Contains(got, `"x"`) {
					t.Fatalf("the handler read the frame of a credential revoked while it was checked: %q", got)
				}
			})
		}
	}
}

// TestEndedErrorsKeepTheirKind: once a later credential was refused, the
// connection's Read and Write errors wrap that refusal's error.
func TestEndedErrorsKeepTheirKind(t *testing.T) {
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"alice": {Subject: "alice", IssuedAt: time.Now()},
		"bob":   {Subject: "bob", IssuedAt: time.Now()},
	})
	errs := make(chan [2]error, 1)
	a := wsauth.New(v, wsauth.FirstMessage{}, nil)
	url := loopback(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
		_, rerr := c.Read(ctx)
		errs <- [2]error{rerr, c.Write(ctx, websocket.MessageText, []byte("x"))}
	}))
	ctx := testCtx(t)
	c, out := firstMessageRoute.dial(ctx, url, "alice", nil)
	if c == nil {
		t.Fatal(out)
	}
	defer c.CloseNow()
	if err := transport.Refresh(ctx, c, "bob"); err != nil {
		t.Fatal(err)
	}
	wantClose(t, ctx, c, transport.CloseForbidden)
	got := <-errs
	for i, op := range []string{"Read", "Write"} {
		if !errors.Is(got[i], wsauth.ErrForbidden) {
			t.Errorf("%s after a refresh naming another subject: %v, want ErrForbidden", op, got[i])
		}
	}
}

// TestOneStoreCheckPerCredential: a credential with a token ID and a
// session ID is checked against the store in one Check (one round trip
// for Redis), on the handshake and on a refresh; revoking either ID
// refuses it.
func TestOneStoreCheckPerCredential(t *testing.T) {
	now := time.Now()
	claims := func(jti string) map[string]any { return map[string]any{"jti": jti, "sid": "s1"} }
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"t1": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Claims: claims("j1")},
		"t2": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Hour), Claims: claims("j2")},
	})
	revs := newRevocations()
	reg := wsauth.NewRegistry(revs, nil)
	a := wsauth.New(v, wsauth.FirstMessage{}, &wsauth.Options{Registry: reg})
	url := loopback(t, wsauth.Handler(a, echo))
	ctx := testCtx(t)
	before := revs.checks.Load()
	c, _, err := dialFirst(ctx, url, "t1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if n := revs.checks.Load() - before; n != 1 {
		t.Fatalf("the handshake made %d store checks, want 1", n)
	}
	if err := transport.Refresh(ctx, c, "t2"); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), transport.TypeAuthOK) {
		t.Fatalf("refresh answered %q, %v", b, err)
	}
	if n := revs.checks.Load() - before; n != 2 {
		t.Fatalf("handshake and refresh made %d store checks, want 2", n)
	}
	// The session revoked in the store only (as by another node): a new
	// connection with t1 is refused, by its session ID.
	if err := revs.RevokeID(ctx, ticket.DenyKey("s1"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c2, code, _ := dialFirst(ctx, url, "t1", nil); c2 != nil || code != transport.CloseUnauthenticated {
		t.Fatalf("with its session revoked: %v, close %v; want 4401", c2, code)
	}
}

// inBandRoutes is every route whose connections can refresh.
var inBandRoutes = []route{firstMessageRoute, perMessageRoute, queryRoute.withInBand(), subprotocolRoute.withInBand(), headerRoute.withInBand(), cookieRoute.withInBand()}

// TestRefreshPassesTheChecks: a refresh frame's credential goes through
// the store's deny list and the Authorizer, as the first did, on every
// route that can refresh: a token revoked on another node (in the store
// only, not in this node's memory of recent revocations) closes 4401, a
// token for another room 4403, and neither is answered auth_ok or
// reported refreshed.
func TestRefreshPassesTheChecks(t *testing.T) {
	now := time.Now()
	tok := func(jti, room string) wsauth.Principal {
		return wsauth.Principal{Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Scope: []string{room}, Claims: map[string]any{"jti": jti}}
	}
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"t1": tok("j1", "general"), "revoked": tok("j2", "general"), "elsewhere": tok("j3", "secret"),
	})
	inRoom := func(_ context.Context, p wsauth.Principal, r *http.Request) error {
		if !containsString(p.Scope, "general") {
			return fmt.Errorf("not in general")
		}
		return nil
	}
	for _, rt := range inBandRoutes {
		for _, tt := range []struct {
			token string
			code  websocket.StatusCode
		}{
			{"revoked", transport.CloseUnauthenticated},
			{"elsewhere", transport.CloseForbidden},
		} {
			t.Run(rt.name+"/"+tt.token, func(t *testing.T) {
				revs := newRevocations()
				var refreshed atomic.Int32
				a := wsauth.New(v, rt.strategy, &wsauth.Options{Registry: wsauth.NewRegistry(revs, nil), Authorizer: inRoom, Events: func(_ context.Context, e wsauth.Event) {
					if e.Kind == wsauth.EventRefreshed {
						refreshed.Add(1)
					}
				}})
				url := loopback(t, wsauth.Handler(a, echo))
				ctx := testCtx(t)
				// Another node's Registry over the same store.
				if err := wsauth.NewRegistry(revs, nil).RevokeToken(ctx, "j2", now.Add(time.Hour), ""); err != nil {
					t.Fatal(err)
				}
				c, out := rt.dial(ctx, url, "t1", nil)
				if c == nil {
					t.Fatalf("t1 refused: %v", out)
				}
				defer c.CloseNow()
				if rt.name == perMessageRoute.name {
					if _, b, err := c.Read(ctx); err != nil || string(b) != `alice: "hello"` {
						t.Fatalf("first frame: %q, %v", b, err)
					}
				}
				if err := transport.Refresh(ctx, c, tt.token); err != nil {
					t.Fatal(err)
				}
				if _, b, err := c.Read(ctx); err == nil {
					t.Fatalf("refresh with %s answered %q", tt.token, b)
				} else if code := websocket.CloseStatus(err); code != tt.code {
					t.Fatalf("refresh with %s: %v, want close %v", tt.token, err, tt.code)
				}
				if n := refreshed.Load(); n != 0 {
					t.Fatalf("%d EventRefreshed for a refused refresh", n)
				}
			})
		}
	}
}

// TestRefreshBudgetIsExact is TestFailureBudgetIsExact for credentials
// presented on open connections: 60 connections of one address, each
// authenticated, send a bad refresh at once, against a budget of 20 and a
// verifier that holds every bad credential. Exactly 20 reach it (closed
// 4401 once released); the other 40 are closed 4429 while those are held.
func TestRefreshBudgetIsExact(t *testing.T) {
	for _, rt := range []route{firstMessageRoute, perMessageRoute} {
		t.Run(rt.name, func(t *testing.T) {
			const conns, burst = 60, 20
			var bad atomic.Int64
			release := make(chan struct{})
			v := wsauth.VerifierFunc(func(ctx context.Context, cred string, _ wsauth.Peer) (wsauth.Principal, error) {
				if cred == "alice-token" {
					return wsauth.Principal{Subject: "alice"}, nil
				}
				bad.Add(1)
				<-release
				return wsauth.Principal{}, wsauth.ErrInvalid
			})
			a := wsauth.New(v, rt.strategy, &wsauth.Options{Limiter: wsauth.NewLimiter(burst, time.Hour)})
			url := loopback(t, wsauth.Handler(a, echo))
			unblock := sync.OnceFunc(func() { close(release) })
			t.Cleanup(unblock) // before the server's close, which waits for the handlers
			ctx := testCtx(t)
			cs := make([]*websocket.Conn, conns)
			for i := range cs {
				c, out := rt.dial(ctx, url, "alice-token", nil)
				if c == nil {
					t.Fatalf("connection %d: %v", i, out)
				}
				defer c.CloseNow()
				cs[i] = c
			}
			codes := make(chan websocket.StatusCode, conns)
			for i, c := range cs {
				go func() {
					if err := transport.Refresh(ctx, c, fmt.Sprintf("mallory-%d", i)); err != nil {
						codes <- -1
						return
					}
					code, _ := closeOf(ctx, c)
					codes <- code
				}()
			}
			for range conns - burst {
				select {
				case code := <-codes:
					if code != transport.CloseTooManyAttempts {
						t.Fatalf("a refresh was answered %d while the budget was reserved, want 4429", code)
					}
				case <-ctx.Done():
					t.Fatalf("refreshes stuck: %d reached the verifier", bad.Load())
				}
			}
			unblock()
			for range burst {
				if code := <-codes; code != transport.CloseUnauthenticated {
					t.Errorf("a checked refresh was answered %d, want 4401", code)
				}
			}
			if n := bad.Load(); n != burst {
				t.Fatalf("%d bad refreshes reached the verifier, budget %d", n, burst)
			}
		})
	}
}

// TestFastPathComparesTheWholeToken is the attack of a per-message client
// that lies about carrying the token its connection verified last: a
// token one byte longer, one byte shorter, or as long with its last byte
// changed, in text and in binary envelopes. Only the remembered token
// itself takes the fast path (the verifier is not called again); every
// lie reaches the verifier and is refused.
func TestFastPathComparesTheWholeToken(t *testing.T) {
	// Each kind of envelope on an Authenticator of its own: a refused
	// credential is refused again without a check for 30 s.
	for _, binary := range []bool{false, true} {
		t.Run(map[bool]string{false: "text", true: "binary"}[binary], func(t *testing.T) {
			testFastPathComparesTheWholeToken(t, binary)
		})
	}
}

func testFastPathComparesTheWholeToken(t *testing.T, binary bool) {
	now := time.Now()
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"tok-a": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
	})
	a := wsauth.New(stableVerifier{v}, wsauth.PerMessage{DropInvalid: true}, nil)
	url := loopback(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
		for {
			m, err := c.Read(ctx)
			switch {
			case errors.Is(err, wsauth.ErrInvalid):
				c.Write(ctx, websocket.MessageText, []byte("refused")) // dropped; read on
			case err != nil:
				return
			default:
				c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...))
			}
		}
	}))
	ctx := testCtx(t)
	c, out := perMessageRoute.dial(ctx, url, "tok-a", nil)
	if c == nil {
		t.Fatalf("tok-a refused: %v", out)
	}
	defer c.CloseNow()
	if _, b, err := c.Read(ctx); err != nil || string(b) != `alice: "hello"` {
		t.Fatalf("first frame: %q, %v", b, err)
	}
	send := func(tok string) (string, int) {
		t.Helper()
		before := v.Calls()
		typ, frame := websocket.MessageText, envelope(t, tok, `"x"`)
		if binary {
			var err error
			typ = websocket.MessageBinary
			if frame, err = transport.AppendBinaryEnvelope(nil, tok, []byte(`"x"`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Write(ctx, typ, frame); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), v.Calls() - before
	}
	if got, calls := send("tok-a"); got != `alice: "x"` || calls != 0 {
		t.Fatalf("the remembered token: %q after %d verifications, want the fast path", got, calls)
	}
	for _, lie := range []string{"tok-ab", "tok-", "tok-b"} {
		if got, calls := send(lie); got != "refused" || calls != 1 {
			t.Fatalf("token %q: %q after %d verifications, want refused after one", lie, got, calls)
		}
	}
	if got, calls := send("tok-a"); got != `alice: "x"` || calls != 0 {
		t.Fatalf("the remembered token after the lies: %q after %d verifications", got, calls)
	}
}

// TestNeighbourSpendsNoOpenConnection: a client behind the same address
// (a NAT, the same IPv6 /64) that spends the failure budget with bad
// guesses does not cut another's open per-message connection, refreshed
// to a new token: its frames repeating that token take the fast path,
// which spends no budget.
func TestNeighbourSpendsNoOpenConnection(t *testing.T) {
	const burst = 5
	a := wsauth.New(stableVerifier{oldAndNew()}, wsauth.PerMessage{}, &wsauth.Options{Limiter: wsauth.NewLimiter(burst, time.Hour)})
	url := loopback(t, wsauth.Handler(a, echo))
	ctx := testCtx(t)
	victim := dialOld(t, ctx, url)
	if err := transport.Refresh(ctx, victim, "new"); err != nil {
		t.Fatal(err)
	}
	if _, b, err := victim.Read(ctx); err != nil || !strings.Contains(string(b), transport.TypeAuthOK) {
		t.Fatalf("refresh answered %q, %v", b, err)
	}
	if got := roundTrip(t, ctx, victim, string(envelope(t, "new", `1`))); got != "alice: 1" {
		t.Fatalf("victim before the attack: %q", got)
	}
	// The neighbour, same address, guesses.
	for i := range burst {
		c, _ := perMessageRoute.dial(ctx, url, fmt.Sprintf("guess-%d", i), nil)
		if c != nil {
			c.CloseNow()
		}
	}
	if err := victim.Write(ctx, websocket.MessageText, envelope(t, "new", `2`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := victim.Read(ctx)
	if err != nil {
		t.Fatalf("the open connection was closed (%v) by a neighbour's failed guesses", websocket.CloseStatus(err))
	}
	if string(b) != "alice: 2" {
		t.Fatalf("got %q", b)
	}
}
