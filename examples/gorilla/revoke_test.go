package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestRevokedWhileChecked: over gorilla/websocket, a Revoke(subject) that
// lands while a later credential is being checked (here, from the
// Authorizer) is never answered as a success: no auth_ok for a refresh,
// no frame for the handler, no EventRefreshed; the client reads 4401.
func TestRevokedWhileChecked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy wsauth.Strategy
	}{{"first-message", wsauth.FirstMessage{}}, {"per-message", wsauth.PerMessage{}}} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
				"t1": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Claims: map[string]any{"jti": "j1"}},
				"t2": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Hour), Claims: map[string]any{"jti": "j2"}},
			})
			reg := wsauth.NewRegistry(newStore(), nil)
			logout := func(ctx context.Context, p wsauth.Principal, _ *http.Request) error {
				if p.Claims["jti"] == "j2" {
					return reg.Revoke(ctx, "alice", "logged out")
				}
				return nil
			}
			var refreshed atomic.Int32
			a := wsauth.New(v, tc.strategy, &wsauth.Options{Registry: reg, Authorizer: logout, Upgrade: Upgrade,
				Events: func(_ context.Context, e wsauth.Event) {
					if e.Kind == wsauth.EventRefreshed {
						refreshed.Add(1)
					}
				}})
			handlerDone := make(chan []string, 1)
			srv := httptest.NewServer(wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
				var got []string
				defer func() { handlerDone <- got }()
				for {
					m, err := c.Read(ctx)
					if err != nil {
						return
					}
					got = append(got, string(m.Data))
					if err := c.Write(ctx, websocket.MessageText, m.Data); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			ctx := testCtx(t, 10*time.Second)
			var c *websocket.Conn
			var later []byte
			if tc.name == "per-message" {
				pc, _, err := transport.DialPerMessage(ctx, url, "t1", []byte(`"hello"`), nil)
				if err != nil {
					t.Fatal(err)
				}
				c = pc.Conn()
				if _, b, err := c.Read(ctx); err != nil || string(b) != `"hello"` {
					t.Fatalf("first frame: %q, %v", b, err)
				}
				later, _ = transport.AppendEnvelope(nil, "t2", []byte(`"after the logout"`))
			} else {
				var err error
				if c, _, err = transport.DialFirstMessage(ctx, url, "t1", nil); err != nil {
					t.Fatal(err)
				}
				later, _ = transport.AppendControl(nil, transport.TypeRefresh, "t2")
			}
			defer c.CloseNow()
			if err := c.Write(ctx, websocket.MessageText, later); err != nil {
				t.Fatal(err)
			}
			if _, b, err := c.Read(ctx); err == nil {
				t.Fatalf("answered %q for a credential whose subject was revoked while it was checked", b)
			} else if code := websocket.CloseStatus(err); code != transport.CloseUnauthenticated {
				t.Fatalf("closed with %v, want 4401", err)
			}
			if got := <-handlerDone; slices.Contains(got, `"after the logout"`) {
				t.Fatalf("the handler read a frame checked while its subject was revoked: %q", got)
			}
			if n := refreshed.Load(); n != 0 {
				t.Fatalf("%d EventRefreshed after the logout", n)
			}
		})
	}
}
