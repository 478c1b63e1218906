package wsauth_test

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// TestLimitedAddressesAreNotHeard: past the budget an address is refused
// with 429 (4429 in band) before its credential is read, and earns one
// attempt back per interval.
func TestLimitedAddressesAreNotHeard(t *testing.T) {
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := verifier()
				var ev events
				a := wsauth.New(v, rt.strategy, &wsauth.Options{Limiter: wsauth.NewLimiter(3, time.Minute), Events: ev.hook})
				n := newVNet(t, wsauth.Handler(a, echo))
				ctx := vctx(t)
				for i := range 3 {
					if c, out := rt.dial(ctx, vURL, fmt.Sprintf("mallory-%d", i), n.opts()); c != nil || !rt.refusedAs(out, 401, 4401) {
						t.Fatalf("within the budget: %v", out)
					}
				}
				calls := v.Calls()
				c, out := rt.dial(ctx, vURL, "alice-token", n.opts())
				if c != nil || !rt.refusedAs(out, http.StatusTooManyRequests, transport.CloseTooManyAttempts) {
					t.Fatalf("past the budget: %v", out)
				}
				if v.Calls() != calls {
					t.Fatal("a limited attempt reached the verifier")
				}
				// Another address is not affected.
				if c, out := rt.dial(ctx, vURL, "alice-token", n.from("127.0.0.2")); c == nil {
					t.Fatalf("other address: %v", out)
				} else {
					c.CloseNow()
				}
				time.Sleep(time.Minute)
				c, out = rt.dial(ctx, vURL, "alice-token", n.opts())
				if c == nil {
					t.Fatalf("after a minute: %v", out)
				}
				c.CloseNow()
				synctest.Wait()
				if got := ev.of(wsauth.EventRefused); len(got) != 4 || got[3].Reason != "rate_limited" {
					t.Fatalf("refused events: %+v", got)
				}
			})
		})
	}
}

// TestSuccessSpendsNothing: an address that keeps authenticating is never
// limited.
func TestSuccessSpendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Limiter: wsauth.NewLimiter(2, time.Hour)})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for i := range 50 {
			c, _, err := transport.DialQuery(ctx, vURL, "alice-token", n.opts())
			if err != nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
			c.CloseNow()
		}
	})
}

// TestServerFaultsSpendNothing: a store outage or a panic is not the
// client's fault.
func TestServerFaultsSpendNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := verifier()
		v.SetError(wsauth.ErrUnavailable)
		a := wsauth.New(v, wsauth.Query{}, &wsauth.Options{Limiter: wsauth.NewLimiter(2, time.Hour)})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for range 10 {
			if _, resp, _ := transport.DialQuery(ctx, vURL, "alice-token", n.opts()); resp == nil || resp.StatusCode != 503 {
				t.Fatalf("outage: %v", resp)
			}
		}
		v.SetError(nil)
		c, _, err := transport.DialQuery(ctx, vURL, "alice-token", n.opts())
		if err != nil {
			t.Fatalf("after the outage: %v", err)
		}
		c.CloseNow()
	})
}

// TestLimiterPoolsIPv6Networks: addresses of one /64 share a budget.
func TestLimiterPoolsIPv6Networks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Limiter: wsauth.NewLimiter(2, time.Hour)})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for i := range 2 {
			transport.DialQuery(ctx, vURL, fmt.Sprintf("mallory-%d", i), n.from(fmt.Sprintf("2001:db8::%x", i+1)))
		}
		if _, resp, _ := transport.DialQuery(ctx, vURL, "alice-token", n.from("2001:db8::ffff")); resp == nil || resp.StatusCode != 429 {
			t.Fatalf("same /64: %v", resp)
		}
		c, _, err := transport.DialQuery(ctx, vURL, "alice-token", n.from("2001:db8:0:1::1"))
		if err != nil {
			t.Fatalf("next /64: %v", err)
		}
		c.CloseNow()
	})
}

// TestLimiterOff: NewLimiter(0, 0) never limits.
func TestLimiterOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Limiter: wsauth.NewLimiter(0, 0)})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for range 100 {
			if _, resp, _ := transport.DialQuery(ctx, vURL, "mallory-token", n.opts()); resp == nil || resp.StatusCode != 401 {
				t.Fatalf("refused as %v", resp)
			}
		}
	})
}

// TestDefaultLimiter: without Options.Limiter, 20 failures and then 429.
func TestDefaultLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.Query{}, nil)
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for i := range 21 {
			_, resp, _ := transport.DialQuery(ctx, vURL, fmt.Sprintf("mallory-%d", i), n.opts())
			want := 401
			if i == 20 {
				want = 429
			}
			if resp == nil || resp.StatusCode != want {
				t.Fatalf("attempt %d: %v, want %d", i+1, resp, want)
			}
		}
	})
}

// TestFailedRefreshesSpendTheBudget: refresh frames count like connects.
func TestFailedRefreshesSpendTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := wsauth.NewLimiter(2, time.Hour)
		a := wsauth.New(verifier(), wsauth.FirstMessage{}, &wsauth.Options{Limiter: lim})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for i := range 2 {
			c, _, err := transport.DialFirstMessage(ctx, vURL, "alice-token", n.opts())
			if err != nil {
				t.Fatal(err)
			}
			transport.Refresh(ctx, c, fmt.Sprintf("mallory-%d", i))
			wantClose(t, ctx, c, transport.CloseUnauthenticated)
			c.CloseNow()
		}
		_, code, _ := dialFirst(ctx, vURL, "alice-token", n.opts())
		if code != transport.CloseTooManyAttempts {
			t.Fatalf("after two failed refreshes: %v", code)
		}
	})
}

// TestRepeatedCredentialSpendsOnce: a client that retries one refused
// credential in a loop is refused the same way each time, without the
// Verifier and without spending more of its address's budget, so that
// another user behind the same address still gets in.
func TestRepeatedCredentialSpendsOnce(t *testing.T) {
	t.Parallel() // after the serial tests, which measure the heap or flip internal/breaks
	synctest.Test(t, func(t *testing.T) {
		v := verifier()
		v.Set("expired", wsauth.Principal{Subject: "carol", ExpiresAt: time.Now().Add(-time.Minute)})
		a := wsauth.New(v, wsauth.FirstMessage{}, &wsauth.Options{Limiter: wsauth.NewLimiter(3, time.Hour)})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for range 300 { // a hundred times the budget
			if _, code, _ := dialFirst(ctx, vURL, "expired", n.opts()); code != transport.CloseUnauthenticated {
				t.Fatalf("the repeated token: %v, want 4401 each time", code)
			}
		}
		if n := v.Calls(); n != 1 {
			t.Fatalf("the verifier saw the repeated token %d times, want 1", n)
		}
		c, _, err := transport.DialFirstMessage(ctx, vURL, "alice-token", n.opts())
		if err != nil {
			t.Fatalf("another user from the same address: %v", err)
		}
		c.CloseNow()
		// Half a minute later the token is checked again.
		time.Sleep(31 * time.Second)
		dialFirst(ctx, vURL, "expired", n.opts())
		if n := v.Calls(); n != 3 {
			t.Fatalf("after half a minute: %d verifier calls, want 3", n)
		}
	})
}

// TestSharedAddressUnderAttack measures what a valid user behind the same
// address as an attacker sending distinct bad credentials sees, under the
// default budget (20, then one a second): the user retries every 100 ms,
// a little after the attacker in each instant (the attacker's best case).
// At the budget's edge (a guess a second) and flooding (100 a second) the
// attacker takes every attempt the address earns back, so the user waits
// for the attack to end, and is in within the next refill after it. A
// client that repeats one bad credential costs the others nothing
// (TestRepeatedCredentialSpendsOnce). The figures go to SECURITY.md.
func TestSharedAddressUnderAttack(t *testing.T) {
	t.Parallel() // after the serial tests, which measure the heap or flip internal/breaks

	const attack = 10 * time.Second // ten refills: long enough to lose any that leaked
	for _, tt := range []struct {
		name  string
		every time.Duration // between guesses
	}{
		{"edge", time.Second},
		{"flood", 10 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				a := wsauth.New(verifier(), wsauth.FirstMessage{}, nil)
				n := newVNet(t, wsauth.Handler(a, echo))
				ctx := vctx(t)
				for i := range 20 {
					dialFirst(ctx, vURL, fmt.Sprintf("guess-%d", i), n.opts())
				}
				stop := make(chan struct{})
				done := make(chan int)
				go func() {
					sent := 0
					tick := time.NewTicker(tt.every)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							done <- sent
							return
						case <-tick.C:
							dialFirst(ctx, vURL, fmt.Sprintf("guess-more-%d", sent), n.opts())
							sent++
						}
					}
				}()
				time.Sleep(3 * time.Millisecond) // the user's phase: after the attacker's
				userIn := func(within time.Duration) (time.Duration, int) {
					start := time.Now()
					for tries := 1; time.Since(start) <= within; tries++ {
						if c, _, err := transport.DialFirstMessage(ctx, vURL, "alice-token", n.opts()); err == nil {
							c.CloseNow()
							return time.Since(start), tries
						}
						time.Sleep(100 * time.Millisecond)
					}
					return -1, 0
				}
				in, tries := userIn(attack)
				close(stop)
				sent := <-done
				after, _ := userIn(1200 * time.Millisecond)
				t.Logf("%s attack, %d guesses in %v: the user in after %v (%d tries; -1: not during the attack); after it stopped: in after %v", tt.name, sent, attack, in, tries, after)
				if in >= 0 {
					t.Fatalf("the user got in during the attack after %v: the attacker took fewer attempts than the budget gives", in)
				}
				if after < 0 {
					t.Fatal("the user is still refused after the next refill once the attack stopped")
				}
			})
		})
	}
}
