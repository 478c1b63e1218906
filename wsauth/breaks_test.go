package wsauth_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsauth/wsauth/internal/breaks"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// TestBreaksAreCaught switches each deliberate bug of internal/breaks on
// and shows that a test of this package fails for it, so that the
// randomized harness's claim to catch them starts from bugs that are real.
func TestBreaksAreCaught(t *testing.T) {
	t.Run("RegisterLate", func(t *testing.T) {
		breaks.RegisterLate.Store(true)
		defer breaks.RegisterLate.Store(false)
		reg := wsauth.NewRegistry(nil, nil)
		var served atomic.Bool
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Registry: reg, Authorizer: func(context.Context, wsauth.Principal, *http.Request) error {
			reg.Revoke(context.Background(), "alice", "")
			return nil
		}})
		url := loopback(t, wsauth.Handler(a, func(context.Context, *wsauth.Conn) { served.Store(true) }))
		c, _ := queryRoute.dial(testCtx(t), url, "alice-token", nil)
		if c != nil {
			closeOf(testCtx(t), c)
			c.CloseNow()
		}
		if !served.Load() {
			t.Fatal("with RegisterLate, a connection revoked during its accept was not served: the break does nothing")
		}
	})
	t.Run("SpendAfterVerify", func(t *testing.T) {
		breaks.SpendAfterVerify.Store(true)
		defer breaks.SpendAfterVerify.Store(false)
		var calls atomic.Int64
		release := make(chan struct{})
		unblock := sync.OnceFunc(func() { close(release) })
		v := wsauth.VerifierFunc(func(context.Context, string, wsauth.Peer) (wsauth.Principal, error) {
			if calls.Add(1) == 10 {
				unblock()
			}
			<-release
			return wsauth.Principal{}, wsauth.ErrInvalid
		})
		a := wsauth.New(v, wsauth.Query{}, &wsauth.Options{Limiter: wsauth.NewLimiter(2, time.Hour)})
		url := loopback(t, wsauth.Handler(a, echo))
		t.Cleanup(unblock) // before the server's close, if the break failed to let 10 in
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() { transport.DialQuery(testCtx(t), url, "guess-"+string(rune('a'+i)), nil) })
		}
		wg.Wait()
		if n := calls.Load(); n <= 2 {
			t.Fatalf("with SpendAfterVerify, %d attempts reached the verifier: the break does nothing", n)
		}
	})
}
