package main

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/wsauth/wsauth/internal/rawws"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestRevokeWhileAuthOKIsStalled is wsauth's test of the same name over
// gorilla/websocket: a client floods pings and stops reading, so the
// server's pongs fill the buffer and its auth_ok write blocks; a Revoke
// then must reach the connection, which the client reads closed 4401 when
// it drains, and the handler never runs.
func TestRevokeWhileAuthOKIsStalled(t *testing.T) {
	for _, tt := range []struct {
		name     string
		strategy wsauth.Strategy
		frame    func() []byte
	}{
		{"first-message", wsauth.FirstMessage{}, func() []byte {
			b, _ := transport.AppendControl(nil, transport.TypeAuth, "alice-token")
			return b
		}},
		{"per-message", wsauth.PerMessage{}, func() []byte {
			b, _ := transport.AppendEnvelope(nil, "alice-token", []byte(`"hi"`))
			return b
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := wsauth.NewRegistry(nil, nil)
				v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"alice-token": {Subject: "alice"}})
				a := wsauth.New(v, tt.strategy, &wsauth.Options{Registry: reg, Upgrade: Upgrade})
				var served atomic.Bool
				h := wsauth.Handler(a, func(context.Context, *wsauth.Conn) { served.Store(true) })
				code := rawws.StalledAnswer(t, h, tt.frame(), func() {
					if err := reg.Revoke(t.Context(), "alice", "logged out"); err != nil {
						t.Fatal(err)
					}
				})
				if code != transport.CloseUnauthenticated {
					t.Fatalf("closed with %d, want 4401", code)
				}
				if served.Load() {
					t.Fatal("the revoked connection was served")
				}
			})
		})
	}
}
