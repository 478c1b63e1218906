package wsauth_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// plainEcho is a handler of "another library": it upgrades itself and
// knows nothing of wsauth but PrincipalFrom. It fails t if the credential
// reaches it.
func plainEcho(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := wsauth.PrincipalFrom(r.Context())
		if !ok {
			t.Error("no principal in the request Middleware passed on")
		}
		checkNoCredential(t, r)
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols(r)})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			c.Write(context.Background(), typ, append([]byte(p.Subject+": "), b...))
		}
	})
}

// gorillaEcho is plainEcho on gorilla/websocket, the library most
// Middleware users upgrade with.
func gorillaEcho(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Middleware left in the request only the protocol it selected.
		up := gorilla.Upgrader{Subprotocols: gorilla.Subprotocols(r), CheckOrigin: func(*http.Request) bool { return true }}
		p, ok := wsauth.PrincipalFrom(r.Context())
		if !ok {
			t.Error("no principal in the request Middleware passed on")
		}
		checkNoCredential(t, r)
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(typ, append([]byte(p.Subject+": "), b...))
		}
	})
}

// checkNoCredential fails t if r, as Middleware passes it on, still holds
// a credential where a route of routes_test.go puts one.
func checkNoCredential(t *testing.T, r *http.Request) {
	t.Helper()
	if r.URL.Query().Has("ticket") {
		t.Error("the ticket parameter reached next")
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("the Authorization header reached next")
	}
	if _, err := r.Cookie("session"); err == nil {
		t.Error("the session cookie reached next")
	}
	for _, p := range subprotocols(r) {
		if strings.HasPrefix(p, transport.SubprotocolPrefix) {
			t.Error("the credential's subprotocol reached next")
		}
	}
}

// subprotocols is websocket.Subprotocols for a request's header.
func subprotocols(r *http.Request) []string {
	var out []string
	for _, l := range r.Header.Values("Sec-Websocket-Protocol") {
		for _, p := range strings.Split(l, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// TestMiddleware: on every handshake strategy, in front of a handler that
// upgrades with coder/websocket or with gorilla/websocket, Middleware
// passes on the principal and never the credential, ends the connection
// at expiry and on Revoke, and keeps refusals from next.
func TestMiddleware(t *testing.T) {
	libs := []struct {
		name string
		next func(*testing.T) http.Handler
	}{{"coder", plainEcho}, {"gorilla", gorillaEcho}}
	for _, rt := range []route{queryRoute, subprotocolRoute, headerRoute, cookieRoute} {
		for _, lib := range libs {
			t.Run(rt.name+"/"+lib.name, func(t *testing.T) { testMiddleware(t, rt, lib.next(t)) })
		}
	}
}

func testMiddleware(t *testing.T, rt route, next http.Handler) {
	synctest.Test(t, func(t *testing.T) {
		reg := wsauth.NewRegistry(nil, nil)
		var ev events
		a := wsauth.New(expiring(), rt.strategy, &wsauth.Options{Registry: reg, Events: ev.hook})
		n := newVNet(t, a.Middleware(next))
		ctx := vctx(t)
		start := time.Now()

		c, out := rt.dial(ctx, vURL, "t1", n.opts())
		if c == nil {
			t.Fatal(out)
		}
		defer c.CloseNow()
		if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
			t.Fatalf("echo %q", got)
		}
		// Expiry: Middleware cannot write on the library's
		// connection, so it ends it.
		if code, _ := closeOf(ctx, c); code != -1 || time.Since(start) != time.Minute {
			t.Fatalf("at %v closed with %v, want the connection ended at 1m", time.Since(start), code)
		}

		// Revoke reaches a Middleware connection.
		c, out = rt.dial(ctx, vURL, "t2", n.opts())
		if c == nil {
			t.Fatal(out)
		}
		defer c.CloseNow()
		if err := reg.Revoke(ctx, "alice", ""); err != nil {
			t.Fatal(err)
		}
		if code, _ := closeOf(ctx, c); code != -1 {
			t.Fatalf("revoked: closed with %v", code)
		}
		synctest.Wait()
		var reasons []string
		for _, e := range ev.of(wsauth.EventClosed) {
			reasons = append(reasons, e.Reason)
		}
		if strings.Join(reasons, ",") != "expired,revoked" {
			t.Fatalf("closed events %q", reasons)
		}

		// Refusals never reach next.
		if c, out := rt.dial(ctx, vURL, "mallory", n.opts()); c != nil || out.status != http.StatusUnauthorized {
			t.Fatalf("refused: %v", out)
		}
	})
}

// TestMiddlewareTellsTheProtocol: next sees only the selected protocol,
// never the credential.
func TestMiddlewareTellsTheProtocol(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan []string, 1)
		a := wsauth.New(verifier(), wsauth.Subprotocol{Protocols: []string{"chat.v2", "chat.v1"}}, nil)
		n := newVNet(t, a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen <- subprotocols(r)
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols(r)})
			if err == nil {
				c.CloseNow()
			}
		})))
		c, _, err := transport.DialSubprotocol(vctx(t), vURL, "alice-token", []string{"chat.v1", "chat.v2"}, n.opts())
		if err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
		if got := <-seen; len(got) != 1 || got[0] != "chat.v2" {
			t.Fatalf("next saw %q", got)
		}
		if c.Subprotocol() != "chat.v2" {
			t.Fatalf("echoed %q", c.Subprotocol())
		}
	})
}

// TestMiddlewareRevokedBeforeTheHijack: a connection revoked after the
// registration but before next upgrades is never served: the library's
// hijack fails.
func TestMiddlewareRevokedBeforeTheHijack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := wsauth.NewRegistry(nil, nil)
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Registry: reg})
		var served atomic.Bool
		n := newVNet(t, a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reg.Revoke(r.Context(), "alice", "")
			c, err := websocket.Accept(w, r, nil)
			if err == nil {
				served.Store(true)
				c.CloseNow()
			}
		})))
		ctx := vctx(t)
		c, _, err := transport.DialQuery(ctx, vURL, "alice-token", n.opts())
		if err == nil {
			// The 101 may be out before the hijack fails: then the
			// connection is ended at once.
			if code, _ := closeOf(ctx, c); code != -1 {
				t.Fatalf("closed with %v", code)
			}
			c.CloseNow()
		}
		synctest.Wait()
		if served.Load() {
			t.Fatal("a connection revoked before its upgrade was served")
		}
	})
}

func TestMiddlewareNeedsAHandshakeStrategy(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Middleware with FirstMessage did not panic")
		}
	}()
	wsauth.New(wsauthtest.NewVerifier(nil), wsauth.FirstMessage{}, nil).Middleware(http.NotFoundHandler())
}

// TestMiddlewareRefusals: Middleware refuses as Accept does, panics
// included, and a refused request never reaches next.
func TestMiddlewareRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good := verifier()
		v := wsauth.VerifierFunc(func(ctx context.Context, cred string, p wsauth.Peer) (wsauth.Principal, error) {
			if cred == "boom" {
				panic("verifier boom")
			}
			return good.Verify(ctx, cred, p)
		})
		a := wsauth.New(v, wsauth.Query{}, &wsauth.Options{Limiter: wsauth.NewLimiter(0, 0)})
		n := newVNet(t, a.Middleware(plainEcho(t)))
		ctx := vctx(t)
		for cred, want := range map[string]int{"boom": 500, "mallory": 401} {
			if c, out := queryRoute.dial(ctx, vURL, cred, n.opts()); c != nil || out.status != want {
				t.Errorf("%s: %v, want HTTP %d", cred, out, want)
			}
		}
		c, out := queryRoute.dial(ctx, vURL, "alice-token", n.opts())
		if c == nil {
			t.Fatalf("after the panic: %v", out)
		}
		c.CloseNow()
	})
}

// TestMiddlewareNextThatDoesNotUpgrade: a next that answers over HTTP, or
// panics (net/http recovers it), before it hijacks ends its session: one
// EventClosed for the EventAuthenticated (the end unregisters it).
func TestMiddlewareNextThatDoesNotUpgrade(t *testing.T) {
	for _, panics := range []bool{false, true} {
		name := "returns"
		if panics {
			name = "panics"
		}
		t.Run(name, func(t *testing.T) {
			var ev events
			reg := wsauth.NewRegistry(nil, nil)
			a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Registry: reg, Events: ev.hook})
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if panics {
					panic("handler bug")
				}
				http.Error(w, "no", http.StatusTeapot)
			})
			srv := httptest.NewUnstartedServer(a.Middleware(next))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Start()
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			ctx := testCtx(t)
			c, _, err := transport.DialQuery(ctx, url, "alice-token", nil)
			if err == nil {
				c.CloseNow()
				t.Fatal("upgrade succeeded")
			}
			// The client's request has ended: the handler goroutine has
			// returned or unwound through Middleware.
			if n := len(ev.of(wsauth.EventAuthenticated)); n != 1 {
				t.Fatalf("authenticated events: %d", n)
			}
			if n := len(ev.of(wsauth.EventClosed)); n != 1 {
				t.Fatalf("%d closed events after next returned or panicked, want 1", n)
			}
		})
	}
}
