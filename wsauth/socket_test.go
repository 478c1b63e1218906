package wsauth_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// bareSocket is a Socket that is not a *websocket.Conn and has no
// CloseNow, as an adapter of another library would be.
type bareSocket struct {
	c      *websocket.Conn
	writes atomic.Int64
}

func (s *bareSocket) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	return s.c.Read(ctx)
}

func (s *bareSocket) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	s.writes.Add(1)
	return s.c.Write(ctx, typ, p)
}

func (s *bareSocket) Close(code websocket.StatusCode, reason string) error {
	return s.c.Close(code, reason)
}

func (s *bareSocket) SetReadLimit(n int64) { s.c.SetReadLimit(n) }

// TestAnySocket: through Options.Upgrade every strategy runs over a
// Socket of another kind: accept, refusal codes, expiry and refresh.
func TestAnySocket(t *testing.T) {
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var made []*bareSocket
				upgrade := func(w http.ResponseWriter, r *http.Request, p string) (wsauth.Socket, error) {
					s, err := acceptSocket(w, r, p)
					if err != nil {
						return nil, err
					}
					b := &bareSocket{c: s.(*websocket.Conn)}
					made = append(made, b)
					return b, nil
				}
				a := wsauth.New(expiring(), rt.strategy, &wsauth.Options{Upgrade: upgrade})
				n := newVNet(t, wsauth.Handler(a, echo))
				ctx := vctx(t)
				start := time.Now()
				if c, out := rt.dial(ctx, vURL, "mallory", n.opts()); c != nil || !rt.refusedAs(out, 401, 4401) {
					t.Fatalf("refusal: %v", out)
				}
				c, out := rt.dial(ctx, vURL, "t1", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				if rt.name == "per_message" {
					c.Read(ctx)
				}
				if rt.inBand() {
					c.Read(ctx) // notice
					transport.Refresh(ctx, c, "t2")
					c.Read(ctx) // auth_ok
				}
				wantClose(t, ctx, c, transport.CloseUnauthenticated)
				want := time.Minute
				if rt.inBand() {
					want = 2 * time.Minute
				}
				if at := time.Since(start); at != want {
					t.Fatalf("closed at %v, want %v", at, want)
				}
				if rt.inBand() && made[len(made)-1].writes.Load() == 0 {
					t.Fatal("the connection was not written through the Socket")
				}
			})
		})
	}
}
