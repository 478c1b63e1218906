package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/wsauth/wsauth/internal/memnet"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// quiet is the config of a test that reads neither log.
func quiet() config {
	return config{AccessLog: io.Discard, Events: slog.New(slog.DiscardHandler)}
}

// Trap 1: middleware.RealIP. A ticket is bound to the address it was
// issued to; RealIP lets anyone name that address in X-Forwarded-For.
func TestRealIP(t *testing.T) {
	t.Run("the trap: RealIP in front of wsauth", func(t *testing.T) {
		ctx := testCtx(t)
		store := memstore.New(nil)
		r := chi.NewRouter()
		r.Use(middleware.RealIP)
		r.Method(http.MethodGet, "/ws", wsauth.Handler(wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil), echo))
		hs := serve(t, r)
		tk := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"}) // bound to 127.0.0.1
		// From 127.0.0.2, claiming to be 127.0.0.1: let in.
		conn := newClient(t, "127.0.0.2", "127.0.0.1").mustDial(t, ctx, hs.URL, "/ws", tk)
		echoes(t, ctx, conn, "alice", "stolen ticket")
	})

	t.Run("fixed: no RealIP, no trusted proxy", func(t *testing.T) {
		ctx := testCtx(t)
		hs := serve(t, newRouter(quiet()))
		owner := newClient(t, "127.0.0.1", "")
		forger := newClient(t, "127.0.0.2", "127.0.0.1")
		for _, path := range []string{"/ws", "/ws/plain"} {
			if _, status, err := forger.dial(ctx, hs.URL, path, owner.ticket(t, hs.URL, "alice")); status != http.StatusUnauthorized {
				t.Errorf("%s: a forged X-Forwarded-For from 127.0.0.2: %d, %v; want 401", path, status, err)
			}
			echoes(t, ctx, owner.mustDial(t, ctx, hs.URL, path, owner.ticket(t, hs.URL, "alice")), "alice", "mine")
		}
	})

	t.Run("fixed: through a trusted proxy, the real client", func(t *testing.T) {
		ctx := testCtx(t)
		var access logBuffer
		cfg := quiet()
		cfg.AccessLog = &access
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
		hs := serve(t, newRouter(cfg))
		// The proxy at 127.0.0.2 forwards for 198.51.100.7: the ticket is
		// bound to 198.51.100.7, and redeemed by it, through the proxy.
		proxied := newClient(t, "127.0.0.2", "198.51.100.7")
		echoes(t, ctx, proxied.mustDial(t, ctx, hs.URL, "/ws", proxied.ticket(t, hs.URL, "alice")), "alice", "through the proxy")
		echoes(t, ctx, proxied.mustDial(t, ctx, hs.URL, "/ws/plain", proxied.ticket(t, hs.URL, "alice")), "alice", "through the proxy")
		access.waitFor(ctx, t, "from 198.51.100.7 - 200") // the access log agrees: chi's ClientIPFromXFF, same proxies

		// Another client behind the same proxy is not 198.51.100.7.
		if _, status, err := newClient(t, "127.0.0.2", "198.51.100.8").dial(ctx, hs.URL, "/ws", proxied.ticket(t, hs.URL, "alice")); status != http.StatusUnauthorized {
			t.Errorf("another client of the proxy: %d, %v; want 401", status, err)
		}
		// From an address that is not a trusted proxy the header is not
		// believed: the client is 127.0.0.3.
		if _, status, err := newClient(t, "127.0.0.3", "198.51.100.7").dial(ctx, hs.URL, "/ws", proxied.ticket(t, hs.URL, "alice")); status != http.StatusUnauthorized {
			t.Errorf("a forged X-Forwarded-For from 127.0.0.3: %d, %v; want 401", status, err)
		}
	})
}

// Trap 2: middleware.Logger. It formats the request line, ?ticket=
// included, when the request starts, before wsauth removes it.
func TestLogger(t *testing.T) {
	t.Run("the trap: Logger in front of wsauth", func(t *testing.T) {
		ctx := testCtx(t)
		var access logBuffer
		store := memstore.New(nil)
		r := chi.NewRouter()
		r.Use(middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: stdlog.New(&access, "", 0), NoColor: true}))
		r.Method(http.MethodGet, "/ws", wsauth.Handler(wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil), echo))
		hs := serve(t, r)
		tk := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})
		conn := newClient(t, "127.0.0.1", "").mustDial(t, ctx, hs.URL, "/ws", tk)
		echoes(t, ctx, conn, "alice", "hi")
		conn.Close(websocket.StatusNormalClosure, "")
		access.waitFor(ctx, t, "GET ") // written when the connection ends
		if !strings.Contains(access.String(), "?ticket="+tk) {
			t.Fatalf("expected the ticket in the access log:\n%s", access.String())
		}
	})

	t.Run("fixed: no ticket in the access log", func(t *testing.T) {
		ctx := testCtx(t)
		var access, events logBuffer
		hs := serve(t, newRouter(config{AccessLog: &access, Events: slog.New(slog.NewTextHandler(&events, nil))}))
		c := newClient(t, "127.0.0.1", "")
		t1, t2 := c.ticket(t, hs.URL, "alice"), c.ticket(t, hs.URL, "bob")
		ws := c.mustDial(t, ctx, hs.URL, "/ws", t1)
		echoes(t, ctx, ws, "alice", "hi")
		plain := c.mustDial(t, ctx, hs.URL, "/ws/plain", t2)
		echoes(t, ctx, plain, "bob", "hi")
		ws.Close(websocket.StatusNormalClosure, "")
		plain.Close(websocket.StatusNormalClosure, "")

		host := strings.TrimPrefix(hs.URL, "http://")
		access.waitFor(ctx, t, "POST http://"+host+"/tickets HTTP/1.1")
		// The Logger after auth.Middleware logs the request wsauth has
		// stripped, when the connection ends.
		access.waitFor(ctx, t, "GET http://"+host+"/ws/plain HTTP/1.1")
		// /ws is not in chi's log but in wsauth's events.
		events.waitFor(ctx, t, `msg="wsauth: closed" reason=gone subject=alice`)
		events.waitFor(ctx, t, `msg="wsauth: closed" reason=gone subject=bob`)
		if strings.Contains(access.String(), "/ws HTTP") {
			t.Errorf("/ws in chi's access log:\n%s", access.String())
		}
		for name, log := range map[string]string{"access": access.String(), "events": events.String()} {
			if strings.Contains(log, t1) || strings.Contains(log, t2) || strings.Contains(log, "ticket=") {
				t.Errorf("a ticket in the %s log (cut out below):\n%s", name, strings.NewReplacer(t1, "[ticket]", t2, "[ticket]").Replace(log))
			}
		}
	})
}

// Trap 3: middleware.Timeout cancels the request's context at its
// deadline. Here it wraps WebSocket routes, as the example's router does
// not: wsauth.Handler's connections outlive it, but the handshake does
// not, for the credential is checked under the request's context. Each
// case runs in a testing/synctest bubble over internal/memnet, so the
// deadline passes in the bubble's time.
func TestTimeout(t *testing.T) {
	const timeout = 5 * time.Second // under FirstMessage's 10 s

	// timed serves h on path behind chi's Timeout, on an in-memory
	// network, with the request's context (the one Timeout cancels) sent
	// on reqCtx, done closed once the request's handlers have returned,
	// and net/http's error log; hc reaches it from 127.0.0.1.
	timed := func(t *testing.T, path string, h http.Handler) (base string, hc *http.Client, reqCtx chan context.Context, done chan struct{}, errLog *logBuffer) {
		reqCtx, done, errLog = make(chan context.Context, 1), make(chan struct{}), &logBuffer{}
		r := chi.NewRouter()
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				next.ServeHTTP(w, r)
			})
		})
		r.Use(middleware.Timeout(timeout))
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reqCtx <- r.Context()
				next.ServeHTTP(w, r)
			})
		})
		r.Method(http.MethodGet, path, h)
		l := memnet.Listen(nil, nil)
		hs := &http.Server{Handler: r, ErrorLog: stdlog.New(errLog, "", 0)}
		go hs.Serve(l)
		hc = l.Client(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		t.Cleanup(func() {
			hs.Close()
			hc.CloseIdleConnections()
		})
		return "http://wsauth.test", hc, reqCtx, done, errLog
	}
	// expired waits for the request's context to reach Timeout's deadline.
	expired := func(t *testing.T, ctx context.Context, reqCtx chan context.Context) {
		t.Helper()
		select {
		case rc := <-reqCtx:
			select {
			case <-rc.Done():
				if !errors.Is(rc.Err(), context.DeadlineExceeded) {
					t.Fatalf("the request's context ended with %v", rc.Err())
				}
			case <-ctx.Done():
				t.Fatal("Timeout never cancelled the request's context")
			}
		case <-ctx.Done():
			t.Fatal("no request")
		}
	}

	t.Run("connections outlive it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*timeout)
			defer cancel()
			store := memstore.New(nil)
			handlerCtx := make(chan context.Context, 1)
			auth := wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil)
			base, hc, reqCtx, done, errLog := timed(t, "/ws", wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
				handlerCtx <- ctx
				echo(ctx, c)
			}))
			conn := (&client{opts: &websocket.DialOptions{HTTPClient: hc}}).mustDial(t, ctx, base, "/ws", wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"}))
			echoes(t, ctx, conn, "alice", "before the timeout")
			expired(t, ctx, reqCtx)
			echoes(t, ctx, conn, "alice", "after the timeout")
			if err := (<-handlerCtx).Err(); err != nil {
				t.Fatalf("the handler's context ended with the request's: %v", err)
			}
			conn.Close(websocket.StatusNormalClosure, "")
			select {
			case <-done:
			case <-ctx.Done():
				t.Fatal("the handler never returned")
			}
			// And when the connection ends, Timeout writes its 504 onto
			// the hijacked connection: net/http complains.
			if !strings.Contains(errLog.String(), "WriteHeader on hijacked connection") {
				t.Errorf("net/http's error log:\n%s", errLog.String())
			}
		})
	})

	t.Run("an in-band handshake outlives it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*timeout)
			defer cancel()
			store := memstore.New(nil)
			events := make(chan wsauth.Event, 4)
			auth := wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.FirstMessage{},
				&wsauth.Options{Events: func(_ context.Context, e wsauth.Event) { events <- e }})
			base, hc, reqCtx, _, _ := timed(t, "/ws", wsauth.Handler(auth, echo))
			// A client that sends its (valid) ticket after chi's
			// deadline, well within FirstMessage's 10 s of its own: once
			// upgraded, wsauth checks it on a context of its own, not on
			// the request's, which has ended.
			conn, _, err := websocket.Dial(ctx, wsURL(base, "/ws"), &websocket.DialOptions{HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			expired(t, ctx, reqCtx)
			if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","token":"`+wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})+`"}`)); err != nil {
				t.Fatal(err)
			}
			if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"auth_ok"`) {
				t.Fatalf("read %q, %v; want auth_ok", b, err)
			}
			echoes(t, ctx, conn, "alice", "authenticated after the timeout")
			select {
			case e := <-events:
				if e.Kind != wsauth.EventAuthenticated || e.Subject != "alice" {
					t.Fatalf("event %+v", e)
				}
			case <-ctx.Done():
				t.Fatal("no event")
			}
		})
	})
}

// TestRun: run prints its address and serves there; with the port taken
// it fails (main exits 1), and it returns nil when its context ends.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), ln.Addr().String(), quiet(), io.Discard)
	ln.Close()
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("run on a busy port: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", quiet(), pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("printed %q", line)
	}
	c := newClient(t, "127.0.0.1", "")
	wctx := testCtx(t)
	echoes(t, wctx, c.mustDial(t, wctx, base, "/ws", c.ticket(t, base, "alice")), "alice", "hi")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	pw.Close()
}
