package tickettest_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket/tickettest"
)

var start = time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC)

func TestClock(t *testing.T) {
	c := tickettest.NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance: Now = %v, want %v", got, want)
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("after Set: Now = %v, want %v", got, start)
	}
}

func TestClockDropsMonotonic(t *testing.T) {
	c := tickettest.NewClock(time.Now())
	// A monotonic reading prints as "m=+…".
	if s := c.Now().String(); containsMonotonic(s) {
		t.Errorf("Now() = %s carries a monotonic reading", s)
	}
	c.Set(time.Now())
	if s := c.Now().String(); containsMonotonic(s) {
		t.Errorf("after Set: Now() = %s carries a monotonic reading", s)
	}
}

func containsMonotonic(s string) bool {
	return strings.Contains(s, "m=+") || strings.Contains(s, "m=-")
}

func TestClockOnAdvance(t *testing.T) {
	c := tickettest.NewClock(start)
	var moves []time.Duration
	c.OnAdvance(func(d time.Duration) {
		// Hooks may read the clock, and see it already moved.
		if got, want := c.Now(), start.Add(sum(moves)+d); !got.Equal(want) {
			t.Errorf("hook: Now = %v, want %v", got, want)
		}
		moves = append(moves, d)
	})
	c.Advance(time.Second)
	c.Set(start.Add(time.Minute))
	c.Set(start) // backwards
	want := []time.Duration{time.Second, 59 * time.Second, -time.Minute}
	if len(moves) != len(want) {
		t.Fatalf("hooks saw %v, want %v", moves, want)
	}
	for i := range want {
		if moves[i] != want[i] {
			t.Fatalf("hooks saw %v, want %v", moves, want)
		}
	}
}

func sum(ds []time.Duration) (s time.Duration) {
	for _, d := range ds {
		s += d
	}
	return s
}

func TestClockConcurrent(t *testing.T) {
	c := tickettest.NewClock(start)
	var hooked sync.Mutex
	var total time.Duration
	c.OnAdvance(func(d time.Duration) {
		hooked.Lock()
		total += d
		hooked.Unlock()
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(800*time.Millisecond); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	if total != 800*time.Millisecond {
		t.Errorf("hooks saw %v in all, want 800ms", total)
	}
}
