package wsauth_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// inBandStrategies are the strategies that upgrade before authenticating,
// so that an unauthenticated socket is theirs to bound.
var inBandStrategies = []struct {
	name string
	mk   func(*wsauth.Options) wsauth.Authenticator
}{
	{"first_message", wsauth.FirstMessage},
	{"per_message", wsauth.PerMessage},
}

// gauge wraps an Authenticator and counts what its Accept does: how many
// run at once (and the most ever), and how each ended.
type gauge struct {
	wsauth.Authenticator
	inFlight, maxInFlight atomic.Int64
	timeouts, others      atomic.Int64
	done                  sync.WaitGroup
}

func (g *gauge) Accept(w http.ResponseWriter, r *http.Request) (*wsauth.Conn, error) {
	defer g.done.Done()
	n := g.inFlight.Add(1)
	for m := g.maxInFlight.Load(); n > m && !g.maxInFlight.CompareAndSwap(m, n); m = g.maxInFlight.Load() {
	}
	c, err := g.Authenticator.Accept(w, r)
	g.inFlight.Add(-1)
	var e *wsauth.Error
	switch {
	case errors.As(err, &e) && e.Code == wsauth.CloseAuthTimeout && errors.Is(err, wsauth.ErrTimeout):
		g.timeouts.Add(1)
	case err != nil || c != nil:
		g.others.Add(1)
	}
	return c, err
}

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

// dialAndWait opens n sockets to url at once, sends nothing, and returns
// how many were closed with each code. It waits for the server's n Accept
// calls (done) too. The client has its own transport, garbage once this
// returns: http.DefaultTransport keeps some state per dial to a host.
func dialAndWait(t *testing.T, ctx context.Context, url string, n int, done *sync.WaitGroup) map[websocket.StatusCode]int {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
	codes := make(chan websocket.StatusCode, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, _, err := websocket.Dial(ctx, url, opts)
			if err != nil {
				t.Errorf("dial: %v", err)
				done.Done() // the server never saw it
				codes <- -1
				return
			}
			defer c.CloseNow()
			_, _, err = c.Read(ctx) // no auth frame: wait to be closed
			codes <- websocket.CloseStatus(err)
		})
	}
	wg.Wait()
	done.Wait()
	close(codes)
	by := map[websocket.StatusCode]int{}
	for code := range codes {
		by[code]++
	}
	return by
}

// TestUnauthenticatedSocketsClosedByDeadline opens 1,000 sockets that
// never send an auth frame. Every one must be closed with 4408 (the
// deadline's timer, not an abrupt cut), nothing may reach the handler, and
// once they are gone the live heap must be back near where it started.
//
// The heap bound is 1 MiB over the baseline for 1,000 sockets: about one
// KiB per socket. Anything a socket could leak is bigger than that: its
// read and write buffers are 4 KiB each, a timer with its closure and a
// websocket.Conn are hundreds of bytes, and a retained request with its
// headers a few KiB, so a leak per socket of any of them (4 MiB and more
// in all) fails the test, while the runtime's own caches and the test's
// bookkeeping (a few hundred KiB) pass.
func TestUnauthenticatedSocketsClosedByDeadline(t *testing.T) {
	const (
		n        = 1000
		deadline = 300 * time.Millisecond
		bound    = 1 << 20
	)
	for _, st := range inBandStrategies {
		t.Run(st.name, func(t *testing.T) {
			var delivered atomic.Int64
			g := &gauge{Authenticator: st.mk(&wsauth.Options{
				Verifier:    wsauthtest.NewVerifier(nil),
				AuthTimeout: deadline,
				// Timeouts are failures too; the limiter would close
				// most of these sockets at once with 4429.
				DisableLimiter: true,
			})}
			g.done.Add(n)
			srv := wsauthtest.NewServer(t, g, func(context.Context, *wsauth.Conn) { delivered.Add(1) })
			ctx := loadCtx(t)

			warmUp(4 * n)
			base := heapAlloc()
			by := dialAndWait(t, ctx, srv.URL+"/ws", n, &g.done)
			if by[wsauth.CloseAuthTimeout] != n || g.timeouts.Load() != n {
				t.Fatalf("close codes seen by clients %v, server timeouts %d, other outcomes %d; want all %d closed with 4408",
					by, g.timeouts.Load(), g.others.Load(), n)
			}
			if d := delivered.Load(); d != 0 {
				t.Fatalf("%d unauthenticated sockets reached the handler", d)
			}
			after := heapAlloc()
			growth := int64(after) - int64(base)
			t.Logf("%d sockets closed with 4408 (at most %d waiting at once); live heap %d KiB before, %d KiB after (%+d KiB, bound %d KiB)",
				n, g.maxInFlight.Load(), base>>10, after>>10, growth>>10, bound>>10)
			if growth > bound {
				t.Fatalf("live heap grew by %d KiB after %d sockets came and went, bound %d KiB", growth>>10, n, bound>>10)
			}
		})
	}
}

// TestOversizedAuthFrameNotBuffered sends a 1 MiB first frame, far over
// the pre-authentication read limit: the server must close with 1009, call
// no verifier, and allocate far less than the frame while refusing it.
// The client's payload is allocated before the measurement starts, and
// the client masks it through its own small buffer, so the figure is
// what both sides allocated to refuse it: the bound of 256 KiB is a
// quarter of the frame.
func TestOversizedAuthFrameNotBuffered(t *testing.T) {
	const (
		frame = 1 << 20
		bound = 256 << 10
	)
	payload := make([]byte, frame)
	for i := range payload {
		payload[i] = 'a'
	}
	for _, st := range inBandStrategies {
		t.Run(st.name, func(t *testing.T) {
			v := wsauthtest.NewVerifier(nil)
			srv := wsauthtest.NewServer(t, st.mk(&wsauth.Options{Verifier: v}), echo)
			ctx := testCtx(t)
			c, _, err := websocket.Dial(ctx, srv.URL+"/ws", nil)
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
				code, _ = closeCode(t, ctx, c)
			}
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc

			if code != websocket.StatusMessageTooBig {
				t.Fatalf("closed with %d (write error %v), want 1009", code, werr)
			}
			if v.Calls() != 0 {
				t.Fatalf("the verifier ran %d times on an oversized frame", v.Calls())
			}
			t.Logf("1 MiB auth frame refused with 1009; %d KiB allocated in the process meanwhile (bound %d KiB)", allocated>>10, bound>>10)
			if allocated > bound {
				t.Fatalf("%d KiB allocated while refusing a 1 MiB frame: it was buffered", allocated>>10)
			}
		})
	}
}
