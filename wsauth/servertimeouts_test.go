package wsauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestServerTimeoutsDoNotCutConnections runs every strategy behind an
// http.Server with the timeouts SECURITY.md asks for (ReadHeaderTimeout,
// IdleTimeout, MaxHeaderBytes) and with short ReadTimeout and WriteTimeout
// as well: an authenticated WebSocket must outlive them all. (net/http
// clears a connection's deadlines when it is hijacked; this keeps that
// promise checked.) The server answers the first message only once every
// deadline it had has passed; a slow machine only makes the wait longer.
func TestServerTimeoutsDoNotCutConnections(t *testing.T) {
	const d = 500 * time.Millisecond
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"tok": {Subject: "alice"}})
	o := &wsauth.Options{Verifier: v, DisableLimiter: true}
	// late answers the first message after the server's deadlines have
	// passed; a plain HTTP handler on the same server shows they did.
	late := func(ctx context.Context, c *wsauth.Conn) {
		m, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		<-time.After(2 * d) // waiting out the deadlines is the point of the test
		c.Write(ctx, websocket.MessageText, append([]byte("late: "), m.Data...))
		c.ReadMessage(ctx) // until the client closes
	}
	mux := http.NewServeMux()
	mux.Handle("/query", wsauth.Handler(wsauth.Query(o), late))
	mux.Handle("/sub", wsauth.Handler(wsauth.Subprotocol(o), late))
	mux.Handle("/first", wsauth.Handler(wsauth.FirstMessage(o), late))
	mux.Handle("/per", wsauth.Handler(wsauth.PerMessage(o), late))
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.ReadHeaderTimeout = d
	hs.Config.ReadTimeout = d
	hs.Config.WriteTimeout = d
	hs.Config.IdleTimeout = d
	hs.Config.MaxHeaderBytes = 16 << 10
	hs.Start()
	t.Cleanup(hs.Close)
	srv := &wsauthtest.Server{URL: "ws" + strings.TrimPrefix(hs.URL, "http"), HTTP: hs}

	for _, path := range strategyPaths {
		t.Run(path[1:], func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			var c *websocket.Conn
			var err error
			msg := []byte("hi")
			switch path {
			case "/query":
				c, _, err = srv.DialQuery(ctx, path, "tok", nil)
			case "/sub":
				c, _, err = srv.DialSubprotocol(ctx, path, "tok", nil)
			case "/first":
				c, _, err = srv.DialFirstMessage(ctx, path, "tok", nil)
			case "/per":
				c, _, err = websocket.Dial(ctx, srv.URL+path, nil)
				msg, _ = transport.AppendEnvelope(nil, "tok", []byte(`"hi"`))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
				t.Fatal(err)
			}
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("the server's ReadTimeout/WriteTimeout cut an authenticated connection: %v", err)
			}
			if !strings.HasPrefix(string(b), "late: ") {
				t.Fatalf("got %q", b)
			}
			c.Close(websocket.StatusNormalClosure, "")
		})
	}
}
