package wsauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
)

// TestServerTimeoutsDoNotCutConnections runs every strategy behind an
// http.Server with the timeouts SECURITY.md asks for (ReadHeaderTimeout,
// IdleTimeout, MaxHeaderBytes) and with short ReadTimeout and WriteTimeout
// as well: an authenticated WebSocket must outlive them all (net/http
// clears a connection's deadlines when it is hijacked). The handler
// answers only once every deadline the server had has passed, in virtual
// time.
func TestServerTimeoutsDoNotCutConnections(t *testing.T) {
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const d = 5 * time.Second
				late := func(ctx context.Context, c *wsauth.Conn) {
					time.Sleep(2 * d) // past every deadline of the server
					c.Write(ctx, websocket.MessageText, []byte("late"))
					c.Read(ctx) // until the client closes
				}
				n := newVNetServer(t, &http.Server{
					Handler:           wsauth.Handler(wsauth.New(verifier(), rt.strategy, nil), late),
					ReadHeaderTimeout: d, ReadTimeout: d, WriteTimeout: d, IdleTimeout: d,
					MaxHeaderBytes: 16 << 10,
				})
				ctx := vctx(t)
				c, out := rt.dial(ctx, vURL, "alice-token", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				_, b, err := c.Read(ctx)
				if err != nil || !strings.HasPrefix(string(b), "late") {
					t.Fatalf("the server's timeouts cut an authenticated connection: %q, %v", b, err)
				}
				c.Close(websocket.StatusNormalClosure, "")
			})
		})
	}
}
