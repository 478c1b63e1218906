package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// expiring returns a verifier whose credentials "t1" and "t2" expire after
// one and two minutes of (virtual) time from now, for alice, and "bob" for
// bob after two.
func expiring() *wsauthtest.Verifier {
	now := time.Now()
	return wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"t1":  {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Minute)},
		"t2":  {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Minute)},
		"bob": {Subject: "bob", IssuedAt: now, ExpiresAt: now.Add(2 * time.Minute)},
	})
}

// TestExpiryClosesTheConnection: at the principal's ExpiresAt the
// connection is closed with 4401, on every strategy; the ones that speak
// in band are warned 30 s before.
func TestExpiryClosesTheConnection(t *testing.T) {
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				a := wsauth.New(expiring(), rt.strategy, &wsauth.Options{Events: ev.hook})
				n := newVNet(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					<-ctx.Done() // hold the connection until its end
				}))
				ctx := vctx(t)
				start := time.Now()
				c, out := rt.dial(ctx, vURL, "t1", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				if rt.inBand() {
					_, b, err := c.Read(ctx)
					var e transport.Expiring
					if err != nil || e.UnmarshalJSON(b) != nil {
						t.Fatalf("expected a notice, got %q, %v", b, err)
					}
					if at := time.Since(start); at != 30*time.Second || e.In != 30*time.Second {
						t.Fatalf("notice at %v saying %v, want at 30s saying 30s", at, e.In)
					}
				}
				wantClose(t, ctx, c, transport.CloseUnauthenticated)
				if at := time.Since(start); at != time.Minute {
					t.Fatalf("closed at %v, want 1m", at)
				}
				synctest.Wait()
				closed := ev.of(wsauth.EventClosed)
				if len(closed) != 1 || closed[0].Reason != "expired" || closed[0].Code != 4401 || closed[0].Duration != time.Minute {
					t.Fatalf("closed events %+v", closed)
				}
			})
		})
	}
}

// TestWriteAfterExpiry: once the principal has expired the server stops
// pushing: Write fails with ErrExpired and the client sees 4401, even if
// the timer has not fired yet.
func TestWriteAfterExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(expiring(), wsauth.Query{}, nil)
		errs := make(chan error, 1)
		n := newVNet(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
			time.Sleep(time.Minute) // exactly at expiry
			errs <- c.Write(ctx, websocket.MessageText, []byte("late"))
		}))
		ctx := vctx(t)
		c, _, err := transport.DialQuery(ctx, vURL, "t1", n.opts())
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := <-errs; !errors.Is(err, wsauth.ErrExpired) {
			t.Fatalf("Write after expiry: %v", err)
		}
		wantClose(t, ctx, c, transport.CloseUnauthenticated)
	})
}

// TestNoticeAtHalfTheLifetime: a credential with less than a minute left
// is warned at half its remaining life.
func TestNoticeAtHalfTheLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"short": {Subject: "alice", ExpiresAt: time.Now().Add(20 * time.Second)}})
		n := newVNet(t, wsauth.Handler(wsauth.New(v, wsauth.FirstMessage{}, nil), echo))
		ctx := vctx(t)
		start := time.Now()
		c, _, err := transport.DialFirstMessage(ctx, vURL, "short", n.opts())
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if _, _, err := c.Read(ctx); err != nil || time.Since(start) != 10*time.Second {
			t.Fatalf("notice at %v: %v", time.Since(start), err)
		}
	})
}

// TestRefreshExtendsTheConnection: a refresh frame with a later credential
// is answered with auth_ok and moves the expiry; the old one no longer
// closes the connection.
func TestRefreshExtendsTheConnection(t *testing.T) {
	for _, rt := range []route{firstMessageRoute, perMessageRoute, queryRoute.withInBand(), subprotocolRoute.withInBand()} {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				a := wsauth.New(expiring(), rt.strategy, &wsauth.Options{Events: ev.hook})
				n := newVNet(t, wsauth.Handler(a, echo))
				ctx := vctx(t)
				start := time.Now()
				c, out := rt.dial(ctx, vURL, "t1", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				if rt.name == "per_message" {
					c.Read(ctx) // the first frame's echo
				}
				c.Read(ctx) // the notice, at 30 s
				if err := transport.Refresh(ctx, c, "t2"); err != nil {
					t.Fatal(err)
				}
				_, b, err := c.Read(ctx)
				var ok transport.AuthOK
				if err != nil || ok.UnmarshalJSON(b) != nil || !ok.ExpiresAt.Equal(start.Add(2*time.Minute)) {
					t.Fatalf("refresh answered %q, %v", b, err)
				}
				// The next notice is for the new expiry, 30 s before it.
				if _, _, err := c.Read(ctx); err != nil || time.Since(start) != 90*time.Second {
					t.Fatalf("second notice at %v: %v", time.Since(start), err)
				}
				wantClose(t, ctx, c, transport.CloseUnauthenticated)
				if at := time.Since(start); at != 2*time.Minute {
					t.Fatalf("closed at %v, want 2m", at)
				}
				if len(ev.of(wsauth.EventRefreshed)) != 1 {
					t.Errorf("refreshed events: %+v", ev.of(wsauth.EventRefreshed))
				}
			})
		})
	}
}

// TestRefreshRefusals: a refresh frame's credential is checked as the
// first one was; a refusal closes the connection with its code and is
// reported with the connection's subject.
func TestRefreshRefusals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		frame  string
		code   websocket.StatusCode
		reason string
	}{
		{"malformed", `{"type":"refresh","token":1}`, transport.CloseMalformed, "malformed"},
		{"no token", `{"type":"refresh"}`, transport.CloseUnauthenticated, "no_credential"},
		{"unknown", `{"type":"refresh","token":"mallory"}`, transport.CloseUnauthenticated, "invalid"},
		{"another subject", `{"type":"refresh","token":"bob"}`, transport.CloseForbidden, "subject_changed"},
		{"forbidden room", `{"type":"refresh","token":"t2"}`, transport.CloseForbidden, "forbidden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				refreshes := 0
				authorize := func(_ context.Context, p wsauth.Principal, _ *http.Request) error {
					if tt.name == "forbidden room" && refreshes > 0 {
						return errors.New("left the room")
					}
					refreshes++
					return nil
				}
				a := wsauth.New(expiring(), wsauth.FirstMessage{}, &wsauth.Options{Events: ev.hook, Authorizer: authorize})
				n := newVNet(t, wsauth.Handler(a, echo))
				ctx := vctx(t)
				c, _, err := transport.DialFirstMessage(ctx, vURL, "t1", n.opts())
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				if err := c.Write(ctx, websocket.MessageText, []byte(tt.frame)); err != nil {
					t.Fatal(err)
				}
				wantClose(t, ctx, c, tt.code)
				synctest.Wait()
				refused := ev.of(wsauth.EventRefused)
				if len(refused) != 1 || refused[0].Reason != tt.reason || refused[0].Subject != "alice" {
					t.Fatalf("refused events %+v", refused)
				}
			})
		})
	}
}

// TestRefreshLookalikesDelivered: frames that mention "refresh" without
// being refresh frames are the application's; on connections that do not
// speak in band, so are refresh frames.
func TestRefreshLookalikesDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mux := http.NewServeMux()
		mux.Handle("/first", wsauth.Handler(wsauth.New(verifier(), wsauth.FirstMessage{}, nil), echo))
		mux.Handle("/query", wsauth.Handler(wsauth.New(verifier(), wsauth.Query{}, nil), echo))
		n := newVNet(t, mux)
		ctx := vctx(t)
		c, _, err := transport.DialFirstMessage(ctx, vURL+"/first", "alice-token", n.opts())
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		for _, f := range []string{`{"text":"refresh"}`, `{"type":"refreshed","token":"x"}`, `["refresh"]`, `refresh`} {
			if got := roundTrip(t, ctx, c, f); got != "alice: "+f {
				t.Errorf("%s echoed as %q", f, got)
			}
		}
		q, _, err := transport.DialQuery(ctx, vURL+"/query", "alice-token", n.opts())
		if err != nil {
			t.Fatal(err)
		}
		defer q.CloseNow()
		f := `{"type":"refresh","token":"bob-token"}`
		if got := roundTrip(t, ctx, q, f); got != "alice: "+f {
			t.Errorf("query connection: %s echoed as %q", f, got)
		}
	})
}

// TestPerMessageLatestExpWins: a frame with a later token extends the
// connection; one with an earlier, still valid token is delivered but
// does not shorten it.
func TestPerMessageLatestExpWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(expiring(), wsauth.PerMessage{}, nil)
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		start := time.Now()
		tc, _, err := transport.DialPerMessage(ctx, vURL, "t2", []byte(`1`), n.opts())
		if err != nil {
			t.Fatal(err)
		}
		c := tc.Conn()
		defer c.CloseNow()
		c.Read(ctx) // echo of 1
		tc.SetToken("t1")
		if err := tc.Write(ctx, []byte(`2`)); err != nil {
			t.Fatal(err)
		}
		if _, b, _ := c.Read(ctx); string(b) != "alice: 2" {
			t.Fatalf("older token: %q", b)
		}
		c.Read(ctx) // notice at 90 s
		wantClose(t, ctx, c, transport.CloseUnauthenticated)
		if at := time.Since(start); at != 2*time.Minute {
			t.Fatalf("closed at %v, want 2m", at)
		}
	})
}

// TestHandlerContext: the handler's context ends when the connection does
// (here at its expiry), and so does every context derived from it, with
// no goroutine per derived context (a cancelCtx parent's behaviour, which
// the context package gives other parents only through AfterFunc); an
// AfterFunc runs once, unless stopped first; Err and Cause say Canceled.
func TestHandlerContext(t *testing.T) {
	for _, rt := range []route{queryRoute, firstMessageRoute} {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const derived = 1000
				result := make(chan error, 1)
				a := wsauth.New(expiring(), rt.strategy, nil)
				n := newVNet(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					result <- checkHandlerContext(ctx, derived)
				}))
				ctx := vctx(t)
				c, out := rt.dial(ctx, vURL, "t1", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				if rt.inBand() {
					c.Read(ctx) // the expiry notice
				}
				code, _ := closeOf(ctx, c)
				if err := <-result; err != nil {
					t.Fatal(err)
				}
				if code != transport.CloseUnauthenticated {
					t.Fatalf("closed with %v, want 4401 at the expiry", code)
				}
			})
		})
	}
}

// checkHandlerContext derives n contexts from ctx, registers two
// AfterFuncs and stops one, then waits for ctx's end and checks them all.
func checkHandlerContext(ctx context.Context, n int) error {
	if ctx.Err() != nil {
		return fmt.Errorf("the handler's context is done at the start: %v", ctx.Err())
	}
	// The context package relies on the context's own AfterFunc (its
	// afterFuncer): its first registration has a place of its own
	// (coder/websocket makes one for each Read), the others a map.
	af, ok := ctx.(interface{ AfterFunc(func()) func() bool })
	if !ok {
		return errors.New("the handler's context has no AfterFunc method")
	}
	stop1, stop2 := af.AfterFunc(func() {}), af.AfterFunc(func() {})
	for i, stop := range []func() bool{stop2, stop1} {
		if !stop() || stop() {
			return fmt.Errorf("stop of AfterFunc %d: want true, then false", 2-i)
		}
	}
	before := runtime.NumGoroutine()
	kids := make([]context.Context, 0, n)
	for i := range n {
		var kid context.Context
		var cancel context.CancelFunc
		if i%2 == 0 {
			kid, cancel = context.WithCancel(ctx)
		} else {
			kid, cancel = context.WithTimeout(ctx, time.Hour)
		}
		defer cancel()
		kids = append(kids, kid)
	}
	if grew := runtime.NumGoroutine() - before; grew >= n/10 {
		return fmt.Errorf("%d derived contexts started %d goroutines", n, grew)
	}
	ran, stoppedRan := make(chan struct{}), make(chan struct{}, 1)
	context.AfterFunc(ctx, func() { close(ran) })
	stop := context.AfterFunc(ctx, func() { stoppedRan <- struct{}{} })
	if !stop() {
		return errors.New("stop of a pending AfterFunc reported false")
	}
	if stop() {
		return errors.New("a second stop reported true")
	}
	done := ctx.Done()
	<-done
	if ctx.Done() != done {
		return errors.New("Done returned another channel after the end")
	}
	<-ran
	synctest.Wait() // the derived contexts are cancelled from goroutines of their own
	for i, kid := range kids {
		select {
		case <-kid.Done():
		default:
			return fmt.Errorf("derived context %d is not done", i)
		}
		if !errors.Is(kid.Err(), context.Canceled) {
			return fmt.Errorf("derived context %d: Err %v", i, kid.Err())
		}
	}
	if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(context.Cause(ctx), context.Canceled) {
		return fmt.Errorf("Err %v, Cause %v, want Canceled", ctx.Err(), context.Cause(ctx))
	}
	late, cancel := context.WithCancel(ctx)
	defer cancel()
	if late.Err() == nil {
		return errors.New("a context derived after the end is not done")
	}
	lateRan := make(chan struct{})
	if context.AfterFunc(ctx, func() { close(lateRan) })() {
		return errors.New("an AfterFunc registered after the end was stopped")
	}
	<-lateRan
	synctest.Wait()
	select {
	case <-stoppedRan:
		return errors.New("a stopped AfterFunc ran")
	default:
	}
	if _, ok := wsauth.PrincipalFrom(ctx); !ok {
		return errors.New("no principal in the handler's context")
	}
	return nil
}

// TestOverLimitFrame: an authenticated client that sends a frame over the
// connection's read limit gets 1009, on every route. The connection ends
// ("gone", 1009: the closed event says what the client saw), but the
// handler's context is not done when its Read fails, so that its Close
// can read on until the client's close frame (the Socket's contract):
// ending it would close the socket under the close handshake.
func TestOverLimitFrame(t *testing.T) {
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				a := wsauth.New(verifier(), rt.strategy, &wsauth.Options{ReadLimit: 1 << 10, Events: ev.hook})
				failed := make(chan error, 1)
				_, perMessage := rt.strategy.(wsauth.PerMessage)
				n := newVNet(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					if perMessage {
						c.Read(ctx) // the data of the envelope that authenticated
					}
					_, err := c.Read(ctx)
					if err == nil {
						err = errors.New("the over-limit frame was delivered")
					} else if !errors.Is(err, websocket.ErrMessageTooBig) {
						err = fmt.Errorf("Read: %w, want ErrMessageTooBig", err)
					} else if ctx.Err() != nil {
						err = errors.New("the handler's context is done before its Close")
					} else {
						err = nil
					}
					failed <- err
				}))
				ctx := vctx(t)
				c, out := rt.dial(ctx, vURL, "alice-token", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				if err := c.Write(ctx, websocket.MessageText, make([]byte, 2<<10)); err != nil {
					t.Fatal(err)
				}
				if code, _ := closeOf(ctx, c); code != websocket.StatusMessageTooBig {
					t.Errorf("closed with %v, want 1009", code)
				}
				if err := <-failed; err != nil {
					t.Error(err)
				}
				synctest.Wait()
				if closed := ev.of(wsauth.EventClosed); len(closed) != 1 || closed[0].Reason != "gone" || closed[0].Code != int(websocket.StatusMessageTooBig) {
					t.Errorf("closed events %+v, want one, gone with 1009", closed)
				}
			})
		})
	}
}
