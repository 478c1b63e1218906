package wsauth_test

import (
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket/tickettest"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func TestLimiterHandshake(t *testing.T) {
	ctx := testCtx(t)
	v := fakeVerifier()
	log := newEventLog()
	lim := wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 3, Every: time.Hour})
	srv := wsauthtest.NewServer(t, wsauth.Query(&wsauth.Options{Verifier: v, Limiter: lim, Events: log.hook}), echo)
	status := func(cred string, opts *websocket.DialOptions) int {
		t.Helper()
		c, resp, err := srv.DialQuery(ctx, "/", cred, opts)
		if err == nil {
			c.CloseNow()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}

	// Successes spend nothing.
	for range 10 {
		if got := status("alice-token", nil); got != http.StatusSwitchingProtocols {
			t.Fatalf("valid credential: %d", got)
		}
	}
	for i := range 3 {
		if got := status("forged", nil); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, got)
		}
	}
	calls := v.Calls()
	if got := status("forged", nil); got != http.StatusTooManyRequests {
		t.Fatalf("4th failure: %d, want 429", got)
	}
	if e := log.next(t, wsauth.EventRateLimited); e.Addr.String() != "127.0.0.1" || e.Status != http.StatusTooManyRequests {
		t.Errorf("rate-limited event %+v", e)
	}
	// While limited, even a valid credential is not looked at.
	if got := status("alice-token", nil); got != http.StatusTooManyRequests {
		t.Fatalf("valid credential while limited: %d, want 429", got)
	}
	if v.Calls() != calls {
		t.Fatalf("verifier called %d times while limited", v.Calls()-calls)
	}

	// Another address is unaffected.
	other := wsauthtest.From(t, "127.0.0.2")
	if got := status("forged", other); got != http.StatusUnauthorized {
		t.Fatalf("other address, forged: %d, want 401", got)
	}
	if got := status("alice-token", wsauthtest.From(t, "127.0.0.2")); got != http.StatusSwitchingProtocols {
		t.Fatalf("other address, valid: %d", got)
	}
}

func TestLimiterAfterUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    func(*wsauth.Options) wsauth.Authenticator
		dial func(srv *wsauthtest.Server) error
	}{
		{"first message", wsauth.FirstMessage, func(srv *wsauthtest.Server) error {
			c, _, err := srv.DialFirstMessage(testCtx(t), "/", "forged", nil)
			if err == nil {
				c.CloseNow()
			}
			return err
		}},
		{"query, reject after upgrade", func(o *wsauth.Options) wsauth.Authenticator {
			o.RejectAfterUpgrade = true
			return wsauth.Query(o)
		}, func(srv *wsauthtest.Server) error {
			ctx := testCtx(t)
			c, _, err := srv.DialQuery(ctx, "/", "forged", nil)
			if err != nil {
				return err
			}
			defer c.CloseNow()
			_, _, err = c.Read(ctx)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 2, Every: time.Hour})
			srv := wsauthtest.NewServer(t, tc.a(&wsauth.Options{Verifier: fakeVerifier(), Limiter: lim}), echo)
			for i, want := range []websocket.StatusCode{wsauth.CloseUnauthenticated, wsauth.CloseUnauthenticated, wsauth.CloseTooManyAttempts, wsauth.CloseTooManyAttempts} {
				if got := websocket.CloseStatus(tc.dial(srv)); got != want {
					t.Fatalf("attempt %d: close %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

// The limit is on by default: the 21st failure in a row is refused.
func TestLimiterDefault(t *testing.T) {
	ctx := testCtx(t)
	srv := wsauthtest.NewServer(t, wsauth.Subprotocol(&wsauth.Options{Verifier: fakeVerifier()}), echo)
	for i := range wsauth.DefaultLimitBurst + 1 {
		_, resp, err := srv.DialSubprotocol(ctx, "/", "forged", nil)
		if err == nil || resp == nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		want := http.StatusUnauthorized
		if i == wsauth.DefaultLimitBurst {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

func TestLimiterDisabled(t *testing.T) {
	ctx := testCtx(t)
	srv := wsauthtest.NewServer(t, wsauth.Query(&wsauth.Options{Verifier: fakeVerifier(), DisableLimiter: true}), echo)
	for i := range wsauth.DefaultLimitBurst + 5 {
		if _, resp, _ := srv.DialQuery(ctx, "/", "forged", nil); resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %v, want 401", i+1, resp)
		}
	}
}

func TestLimiterRefills(t *testing.T) {
	clock := tickettest.NewClock(time.Unix(1e9, 0))
	lim := wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 2, Every: time.Second, Now: clock.Now})
	a := netip.MustParseAddr("192.0.2.1")
	lim.Fail(a)
	lim.Fail(a)
	if !lim.Limited(a) {
		t.Fatal("not limited after the burst")
	}
	clock.Advance(time.Second)
	if lim.Limited(a) {
		t.Fatal("still limited after a refill")
	}
	lim.Fail(a)
	if !lim.Limited(a) {
		t.Fatal("not limited after spending the refill")
	}
}

// IPv6 clients are limited per /64; IPv4 ones alone.
func TestLimiterIPv6Prefix(t *testing.T) {
	lim := wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 1, Every: time.Hour})
	lim.Fail(netip.MustParseAddr("2001:db8:1:2::1"))
	if !lim.Limited(netip.MustParseAddr("2001:db8:1:2:ffff::9")) {
		t.Error("same /64 not limited")
	}
	if lim.Limited(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("other /64 limited")
	}
	lim.Fail(netip.MustParseAddr("192.0.2.1"))
	if !lim.Limited(netip.MustParseAddr("::ffff:192.0.2.1")) {
		t.Error("mapped IPv4 not limited")
	}
	if lim.Limited(netip.MustParseAddr("192.0.2.2")) {
		t.Error("neighbouring IPv4 limited")
	}
}

// An attacker spraying addresses cannot grow the limiter past its cap, and
// addresses that are idle again go first.
func TestLimiterCap(t *testing.T) {
	clock := tickettest.NewClock(time.Unix(1e9, 0))
	const max = 1000
	lim := wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 1, Every: time.Minute, MaxAddrs: max, Now: clock.Now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				lim.Fail(netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i)}))
			}
		})
	}
	wg.Wait()
	if n := lim.Len(); n > max || n == 0 {
		t.Fatalf("%d addresses tracked, cap %d", n, max)
	}

	// Fill up, let every address go idle, then add a fresh one.
	for i := 0; lim.Len() < max; i++ {
		lim.Fail(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}))
	}
	clock.Advance(time.Hour)
	attacker := netip.MustParseAddr("198.51.100.7")
	lim.Fail(attacker)
	if !lim.Limited(attacker) {
		t.Fatal("attacker not limited")
	}
	if n := lim.Len(); n != 1 {
		t.Fatalf("%d addresses tracked after idle ones were swept, want 1", n)
	}
}

// A failed refresh spends the budget as a failed connect does.
func TestLimiterCountsRefreshes(t *testing.T) {
	ctx := testCtx(t)
	lim := wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 1, Every: time.Hour})
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier(), Limiter: lim}), echo)
	c, _, err := srv.DialFirstMessage(ctx, "/", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"type":"refresh","token":"forged"}`))
	if code, _ := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated {
		t.Fatalf("forged refresh: %v", code)
	}
	if _, _, err := srv.DialFirstMessage(ctx, "/", "alice-token", nil); websocket.CloseStatus(err) != wsauth.CloseTooManyAttempts {
		t.Fatalf("connect after a failed refresh: %v, want 4429", err)
	}
}
