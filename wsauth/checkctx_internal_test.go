package wsauth

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
)

type checkKey struct{}

// isDone reports whether ch is closed, without waiting.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestCheckContextIsATimeout: the lazy context ends as
// context.WithTimeout's would, whether Done was asked for before the
// deadline, after it, or never, and when the checks end first.
func TestCheckContextIsATimeout(t *testing.T) {
	values := context.WithValue(context.Background(), checkKey{}, "v")
	t.Run("values and deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCheckContext(values, time.Second)
			if c.Value(checkKey{}) != "v" {
				t.Error("the request's values are lost")
			}
			if d, ok := c.Deadline(); !ok || !d.Equal(time.Now().Add(time.Second)) {
				t.Errorf("Deadline = %v, %v", d, ok)
			}
		})
	})
	t.Run("Done asked before the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCheckContext(values, time.Second)
			done := c.Done()
			child, cancel := context.WithCancel(c)
			defer cancel()
			time.Sleep(time.Second - time.Nanosecond)
			synctest.Wait()
			if isDone(done) || c.Err() != nil || child.Err() != nil {
				t.Fatalf("ended before its deadline: %v", c.Err())
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if !isDone(done) || c.Err() != context.DeadlineExceeded {
				t.Fatalf("at the deadline: done %v, Err %v", isDone(done), c.Err())
			}
			if child.Err() == nil {
				t.Error("a derived context outlived the deadline")
			}
		})
	})
	t.Run("Done never asked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCheckContext(values, time.Second)
			time.Sleep(time.Second)
			if c.Err() != context.DeadlineExceeded {
				t.Fatalf("Err at the deadline = %v", c.Err())
			}
			if !isDone(c.Done()) {
				t.Error("Done is open once Err is not nil")
			}
		})
	})
	t.Run("Done asked after the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCheckContext(values, time.Second)
			time.Sleep(2 * time.Second)
			if !isDone(c.Done()) || c.Err() != context.DeadlineExceeded {
				t.Fatalf("after the deadline: done %v, Err %v", isDone(c.Done()), c.Err())
			}
		})
	})
	t.Run("checks ended first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCheckContext(values, time.Second)
			done := c.Done()
			c.end(checksDone)
			if !isDone(done) || c.Err() != context.Canceled {
				t.Fatalf("after end: done %v, Err %v", isDone(done), c.Err())
			}
			time.Sleep(2 * time.Second)
			if c.Err() != context.Canceled {
				t.Errorf("the deadline changed Err to %v", c.Err())
			}
			late := newCheckContext(values, time.Second)
			late.end(checksDone)
			if !isDone(late.Done()) {
				t.Error("Done asked after end is open")
			}
		})
	})
}

// TestCheckContextMatchesWithTimeout drives checkContext and
// context.WithTimeout through the same scripts and compares what every
// derived context sees at each step.
func TestCheckContextMatchesWithTimeout(t *testing.T) {
	type ops struct {
		name string
		run  func(ctx context.Context, end func(), snap func(string))
	}
	scripts := []ops{
		{"derive-before-then-deadline", func(ctx context.Context, end func(), snap func(string)) {
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			short, c2 := context.WithTimeout(ctx, 500*time.Millisecond)
			defer c2()
			long, c3 := context.WithTimeout(ctx, time.Hour)
			defer c3()
			var fired atomic.Bool
			context.AfterFunc(ctx, func() { fired.Store(true) })
			cause, c4 := context.WithCancelCause(ctx)
			defer c4(nil)
			snap(state("t0", ctx, child, short, long, cause) + fmt.Sprint(fired.Load()))
			time.Sleep(600 * time.Millisecond)
			synctest.Wait()
			snap(state("t0.6", ctx, child, short, long, cause) + fmt.Sprint(fired.Load()))
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			snap(state("t1.1", ctx, child, short, long, cause) + fmt.Sprint(fired.Load()))
			end()
			synctest.Wait()
			snap(state("end", ctx, child, short, long, cause) + fmt.Sprint(fired.Load()))
		}},
		{"err-only-then-derive-late", func(ctx context.Context, end func(), snap func(string)) {
			snap(fmt.Sprint(ctx.Err()))
			time.Sleep(2 * time.Second)
			synctest.Wait()
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			synctest.Wait()
			snap(state("late", ctx, child))
			end()
		}},
		{"done-then-end-early", func(ctx context.Context, end func(), snap func(string)) {
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			end()
			synctest.Wait()
			snap(state("ended", ctx, child))
			time.Sleep(2 * time.Second)
			synctest.Wait()
			snap(state("after", ctx, child))
		}},
		{"derive-after-end", func(ctx context.Context, end func(), snap func(string)) {
			end()
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			var fired atomic.Bool
			context.AfterFunc(ctx, func() { fired.Store(true) })
			synctest.Wait()
			snap(state("x", ctx, child) + fmt.Sprint(fired.Load()))
		}},
	}
	values := context.WithoutCancel(context.Background())
	for _, s := range scripts {
		t.Run(s.name, func(t *testing.T) {
			var got, want []string
			synctest.Test(t, func(t *testing.T) {
				cc := newCheckContext(values, time.Second)
				s.run(cc, func() { cc.end(checksDone) }, func(x string) { got = append(got, x) })
			})
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(values, time.Second)
				s.run(ctx, cancel, func(x string) { want = append(want, x) })
			})
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("checkContext:\n%q\nWithTimeout:\n%q", got, want)
			}
		})
	}
}

// state is what each of cs says of its end: Done, Err and Cause.
func state(label string, cs ...context.Context) string {
	s := label + ":"
	for _, c := range cs {
		done := false
		select {
		case <-c.Done():
			done = true
		default:
		}
		s += fmt.Sprintf(" [%v %v %v]", done, c.Err(), context.Cause(c))
	}
	return s
}

// TestCheckContextChildrenNeedNoWatcher: contexts derived from a check
// context end with it through its AfterFunc, as they would under a
// context.WithTimeout, not each through a goroutine that waits on Done.
func TestCheckContextChildrenNeedNoWatcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCheckContext(context.Background(), time.Second)
		const n = 100
		before := runtime.NumGoroutine()
		children := make([]context.Context, n)
		for i := range children {
			var cancel context.CancelFunc
			children[i], cancel = context.WithCancel(c)
			defer cancel()
		}
		// A stray goroutine of the process may come or go meanwhile: a
		// watcher each would be n more.
		if d := runtime.NumGoroutine() - before; d >= n/2 {
			t.Fatalf("%d goroutines for %d derived contexts", d, n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for i, ch := range children {
			if ch.Err() != context.DeadlineExceeded {
				t.Fatalf("child %d at the deadline: %v", i, ch.Err())
			}
		}
	})
}

// TestCheckContextFitsIn96Bytes: one check context is made per in-band
// handshake and dropped after it. At 112 bytes, a size class where a
// bare coder/websocket connection keeps nine objects, each one left a
// hole among them (BENCHMARKS.md, "the holes a handshake leaves").
func TestCheckContextFitsIn96Bytes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are of 64-bit platforms")
	}
	if n := unsafe.Sizeof(checkContext{}); n > 96 {
		t.Fatalf("checkContext is %d bytes, want at most 96", n)
	}
}
