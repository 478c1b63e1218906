package wsauth_test

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// heapAlloc returns the live heap after a full collection. Two cycles, so
// that sync.Pool caches (kept for one cycle as victims) are gone as well.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// warmUp runs and ends n goroutines. The runtime keeps the descriptor of
// every goroutine it ever made for reuse, a few hundred bytes each on the
// heap; without this, the first test to run thousands of goroutines would
// see that once-only growth as a leak.
func warmUp(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range n {
		wg.Go(func() { <-release })
	}
	close(release)
	wg.Wait()
}

// TestUnauthenticatedSocketsClosedByDeadline opens 1,000 sockets that
// never send an auth frame, over real loopback. Every one must be closed
// with 4408 (the deadline's timer, not an abrupt cut), nothing may reach
// the handler, and once they are gone the live heap must be back near
// where it started.
//
// The heap bound is 1 MiB over the baseline for 1,000 sockets: about one
// KiB per socket. Anything a socket could leak is bigger than that: its
// read and write buffers are 4 KiB each, a timer with its closure and a
// websocket.Conn are hundreds of bytes, and a retained request with its
// headers a few KiB, so a leak of any of them per socket fails the test.
func TestUnauthenticatedSocketsClosedByDeadline(t *testing.T) {
	const n, deadline, bound = 1000, 300 * time.Millisecond, 1 << 20
	for _, st := range []struct {
		name string
		s    wsauth.Strategy
	}{{"first_message", wsauth.FirstMessage{Timeout: deadline}}, {"per_message", wsauth.PerMessage{Timeout: deadline}}} {
		t.Run(st.name, func(t *testing.T) {
			var delivered, timeouts, others atomic.Int64
			var done sync.WaitGroup
			done.Add(n)
			// Timeouts are failures too; the budget would close most of
			// these sockets at once with 4429.
			a := wsauth.New(wsauthtest.NewVerifier(nil), st.s, &wsauth.Options{Limiter: wsauth.NewLimiter(0, 0), Events: func(_ context.Context, e wsauth.Event) {
				if e.Kind == wsauth.EventRefused && e.Reason == "timeout" && e.Code == int(transport.CloseAuthTimeout) {
					timeouts.Add(1)
				} else {
					others.Add(1)
				}
			}})
			h := wsauth.Handler(a, func(context.Context, *wsauth.Conn) { delivered.Add(1) })
			url := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer done.Done()
				h.ServeHTTP(w, r)
			}))
			ctx := loadCtx(t)
			warmUp(4 * n)
			base := heapAlloc()

			tr := &http.Transport{}
			opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
			codes := make(chan websocket.StatusCode, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					c, _, err := websocket.Dial(ctx, url, opts)
					if err != nil {
						t.Errorf("dial: %v", err)
						done.Done() // the server never saw it
						return
					}
					defer c.CloseNow()
					_, _, err = c.Read(ctx) // no auth frame: wait to be closed
					codes <- websocket.CloseStatus(err)
				})
			}
			wg.Wait()
			done.Wait()
			tr.CloseIdleConnections()
			close(codes)
			by := map[websocket.StatusCode]int{}
			for code := range codes {
				by[code]++
			}
			if by[transport.CloseAuthTimeout] != n || timeouts.Load() != n {
				t.Fatalf("close codes seen by clients %v, server timeouts %d, other events %d; want all %d closed with 4408",
					by, timeouts.Load(), others.Load(), n)
			}
			if d := delivered.Load(); d != 0 {
				t.Fatalf("%d unauthenticated sockets reached the handler", d)
			}
			after := heapAlloc()
			growth := int64(after) - int64(base)
			t.Logf("%d sockets closed with 4408; live heap %d KiB before, %d KiB after (%+d KiB, bound %d KiB)", n, base>>10, after>>10, growth>>10, bound>>10)
			if growth > bound {
				t.Fatalf("live heap grew by %d KiB after %d sockets came and went, bound %d KiB", growth>>10, n, bound>>10)
			}
		})
	}
}

// TestOversizedAuthFrameNotBuffered sends a 1 MiB first frame, far over
// the pre-authentication read limit: the server must close with 1009, call
// no verifier, and allocate far less than the frame while refusing it.
// The client's payload is allocated before the measurement starts, and the
// client masks it through its own small buffer, so the figure is what both
// sides allocated to refuse it: the bound of 256 KiB is a quarter of the
// frame.
func TestOversizedAuthFrameNotBuffered(t *testing.T) {
	const frame, bound = 1 << 20, 256 << 10
	payload := make([]byte, frame)
	for i := range payload {
		payload[i] = 'a'
	}
	for _, rt := range []route{firstMessageRoute, perMessageRoute} {
		t.Run(rt.name, func(t *testing.T) {
			v := wsauthtest.NewVerifier(nil)
			url := loopback(t, wsauth.Handler(wsauth.New(v, rt.strategy, nil), echo))
			ctx := testCtx(t)
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			werr := c.Write(ctx, websocket.MessageText, payload)
			code := websocket.CloseStatus(werr)
			if werr == nil {
				code, _ = closeOf(ctx, c)
			}
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			if code != websocket.StatusMessageTooBig {
				t.Fatalf("closed with %d (write error %v), want 1009", code, werr)
			}
			if v.Calls() != 0 {
				t.Fatalf("the verifier ran %d times on an oversized frame", v.Calls())
			}
			t.Logf("1 MiB auth frame refused with 1009; %d KiB allocated meanwhile (bound %d KiB)", allocated>>10, bound>>10)
			if allocated > bound {
				t.Fatalf("%d KiB allocated while refusing a 1 MiB frame: it was buffered", allocated>>10)
			}
		})
	}
}
