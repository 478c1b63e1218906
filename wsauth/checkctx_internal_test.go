package wsauth

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
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
			c.end(context.Canceled)
			if !isDone(done) || c.Err() != context.Canceled {
				t.Fatalf("after end: done %v, Err %v", isDone(done), c.Err())
			}
			time.Sleep(2 * time.Second)
			if c.Err() != context.Canceled {
				t.Errorf("the deadline changed Err to %v", c.Err())
			}
			late := newCheckContext(values, time.Second)
			late.end(context.Canceled)
			if !isDone(late.Done()) {
				t.Error("Done asked after end is open")
			}
		})
	})
}
