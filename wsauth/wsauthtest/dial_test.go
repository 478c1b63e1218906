package wsauthtest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// echo answers each message with "<subject>: <data>".
func echo(ctx context.Context, c *wsauth.Conn) {
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)) != nil {
			return
		}
	}
}

func read(t *testing.T, ctx context.Context, c *websocket.Conn) string {
	t.Helper()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// TestServerDialHelpers runs each Dial helper against both kinds of
// Server: on a loopback port, and on the in-memory network in a synctest
// bubble, which only the Server's Client reaches.
func TestServerDialHelpers(t *testing.T) {
	for _, kind := range []struct {
		name string
		new  func(testing.TB, *wsauth.Authenticator) *wsauthtest.Server
		run  func(*testing.T, func(*testing.T))
	}{
		{"loopback", func(t testing.TB, a *wsauth.Authenticator) *wsauthtest.Server {
			return wsauthtest.NewServer(t, a, echo)
		}, func(t *testing.T, f func(*testing.T)) { f(t) }},
		{"memory", func(t testing.TB, a *wsauth.Authenticator) *wsauthtest.Server {
			return wsauthtest.NewMemServer(t, wsauth.Handler(a, echo))
		}, synctest.Test},
	} {
		t.Run(kind.name, func(t *testing.T) { testDialHelpers(t, kind.new, kind.run) })
	}
}

func testDialHelpers(t *testing.T, newServer func(testing.TB, *wsauth.Authenticator) *wsauthtest.Server, run func(*testing.T, func(*testing.T))) {
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"tok": {Subject: "alice"}})
	t.Run("query", func(t *testing.T) {
		run(t, func(t *testing.T) {
			ctx := testCtx(t)
			srv := newServer(t, wsauth.New(v, wsauth.Query{}, nil))
			c, _, err := srv.DialQuery(ctx, "/ws", "tok", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			c.Write(ctx, websocket.MessageText, []byte("hi"))
			if got := read(t, ctx, c); got != "alice: hi" {
				t.Fatalf("echo %q", got)
			}
			if _, resp, err := srv.DialQuery(ctx, "/ws", "nope", nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("bad credential: %v, %v", err, resp)
			}
		})
	})
	t.Run("subprotocol", func(t *testing.T) {
		run(t, func(t *testing.T) {
			ctx := testCtx(t)
			srv := newServer(t, wsauth.New(v, wsauth.Subprotocol{}, nil))
			c, _, err := srv.DialSubprotocol(ctx, "/ws", "tok", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if c.Subprotocol() != "wsauth" {
				t.Fatalf("subprotocol %q", c.Subprotocol())
			}
		})
	})
	t.Run("first message", func(t *testing.T) {
		run(t, func(t *testing.T) {
			ctx := testCtx(t)
			srv := newServer(t, wsauth.New(v, wsauth.FirstMessage{}, nil))
			c, ok, err := srv.DialFirstMessage(ctx, "/ws", "tok", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if ok.Subject != "alice" {
				t.Fatalf("auth_ok %+v", ok)
			}
		})
	})
	t.Run("per message", func(t *testing.T) {
		run(t, func(t *testing.T) {
			ctx := testCtx(t)
			srv := newServer(t, wsauth.New(v, wsauth.PerMessage{}, nil))
			tc, ok, err := srv.DialPerMessage(ctx, "/ws", "tok", []byte(`"hi"`), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tc.Conn().CloseNow()
			if ok.Subject != "alice" {
				t.Fatalf("auth_ok %+v", ok)
			}
			if got := read(t, ctx, tc.Conn()); got != `alice: "hi"` {
				t.Fatalf("echo %q", got)
			}
			if err := tc.Write(ctx, []byte(`"again"`)); err != nil {
				t.Fatal(err)
			}
			if got := read(t, ctx, tc.Conn()); got != `alice: "again"` {
				t.Fatalf("echo %q", got)
			}
		})
	})
}

// A ticket from wsauthtest.Ticket is bound to 127.0.0.1: redeemed from
// there, refused from 127.0.0.2 (dialled with From).
func TestTicketAndFrom(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	srv := wsauthtest.NewServer(t, wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil), echo)
	away := wsauthtest.From(t, "127.0.0.2")
	defer away.HTTPClient.CloseIdleConnections()
	_, resp, err := srv.DialQuery(ctx, "/ws", wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "bob"}), away)
	if err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ticket redeemed from another address: %v, %v", err, resp)
	}
	c, _, err := srv.DialQuery(ctx, "/ws", wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "bob"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
}

// TestMemServer: NewMemServer's connections run in a synctest bubble's
// time: a credential with a minute to live is closed with 4401 exactly a
// minute later, with no real wait; its Client reaches the server over
// HTTP too.
func TestMemServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"tok": {Subject: "alice", ExpiresAt: start.Add(time.Minute)}})
		mux := http.NewServeMux()
		mux.Handle("/ws", wsauth.Handler(wsauth.New(v, wsauth.Query{}, nil), echo))
		mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
		srv := wsauthtest.NewMemServer(t, mux)
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		c, _, err := srv.DialQuery(ctx, "/ws", "tok", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		_, _, err = c.Read(ctx)
		if code := websocket.CloseStatus(err); code != transport.CloseUnauthenticated {
			t.Fatalf("closed with %v (%v), want 4401", code, err)
		}
		if at := time.Since(start); at != time.Minute {
			t.Fatalf("closed after %v, want exactly a minute", at)
		}
		resp, err := srv.Client.Get("http" + strings.TrimPrefix(srv.URL, "ws") + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "hello" {
			t.Fatalf("GET /hello: %q", b)
		}
	})
}
