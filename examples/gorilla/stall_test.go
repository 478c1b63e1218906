package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	coder "github.com/coder/websocket"

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

// TestStalledWriterDoesNotPinTheConnection is wsauth's test of the same
// name over gorilla/websocket: a client stops reading, so a handler's
// Write stalls; a second Write, with a deadline of its own, gives up
// waiting for the first and ends the connection. What runs on the
// handler's context must end with it: the stalled Write, a Read waiting
// for the client, and a Read started afterwards.
func TestStalledWriterDoesNotPinTheConnection(t *testing.T) {
	for _, tt := range []struct {
		name     string
		strategy wsauth.Strategy
		dial     func(ctx context.Context, s *wsauthtest.Server) error
	}{
		{"query", wsauth.Query{}, func(ctx context.Context, s *wsauthtest.Server) error {
			_, _, err := s.DialQuery(ctx, "/", "alice-token", nil)
			return err
		}},
		{"first-message", wsauth.FirstMessage{}, func(ctx context.Context, s *wsauthtest.Server) error {
			_, _, err := s.DialFirstMessage(ctx, "/", "alice-token", nil)
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"alice-token": {Subject: "alice"}})
				a := wsauth.New(v, tt.strategy, &wsauth.Options{Upgrade: Upgrade})
				served := make(chan struct{})
				srv := wsauthtest.NewMemServer(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					defer close(served)
					rawws.StalledWriter(t, ctx, c)
				}))
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				if err := tt.dial(ctx, srv); err != nil {
					t.Fatal(err)
				}
				<-served // the client reads nothing
			})
		})
	}
}

// TestOverLimitFrame is wsauth's test of the same name over
// gorilla/websocket: an authenticated client's frame over the read limit
// gets 1009, and the handler's context is not done when its Read fails,
// so that the handler's Close delivers the 1009 before it closes.
func TestOverLimitFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"alice-token": {Subject: "alice"}})
		a := wsauth.New(v, wsauth.Query{}, &wsauth.Options{Upgrade: Upgrade, ReadLimit: 1 << 10})
		failed := make(chan error, 1)
		srv := wsauthtest.NewMemServer(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
			_, err := c.Read(ctx)
			switch {
			case !errors.Is(err, coder.ErrMessageTooBig):
				failed <- fmt.Errorf("Read: %v, want ErrMessageTooBig", err)
			case ctx.Err() != nil:
				failed <- errors.New("the handler's context is done before its Close")
			default:
				failed <- nil
			}
		}))
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		c, _, err := srv.DialQuery(ctx, "/", "alice-token", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, coder.MessageText, make([]byte, 2<<10)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(ctx); coder.CloseStatus(err) != coder.StatusMessageTooBig {
			t.Errorf("read %v, want close 1009", err)
		}
		if err := <-failed; err != nil {
			t.Error(err)
		}
	})
}
