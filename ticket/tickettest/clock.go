package tickettest

import (
	"sync"
	"time"
)

// Clock is a fake clock for tests. Its time moves only when Advance or Set is
// called. Pass its Now method wherever wsauth takes a Now func() time.Time.
// A Clock is safe for concurrent use.
type Clock struct {
	// advance serialises Advance and Set with their hooks, so hooks see the
	// moves in the order they happened.
	advance sync.Mutex

	mu    sync.Mutex // guards now and hooks
	now   time.Time
	hooks []func(time.Duration)
}

// NewClock returns a Clock reading start. The monotonic clock reading, if
// start has one, is dropped, so the Clock behaves as a pure wall clock.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start.Round(0)}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward if d is negative) and then
// calls the OnAdvance hooks with d.
func (c *Clock) Advance(d time.Duration) {
	c.advance.Lock()
	defer c.advance.Unlock()
	c.mu.Lock()
	c.now = c.now.Add(d)
	hooks := c.hooks
	c.mu.Unlock()
	for _, f := range hooks {
		f(d)
	}
}

// Set moves the clock to t and then calls the OnAdvance hooks with the
// difference from the previous time, which is negative if t is earlier.
func (c *Clock) Set(t time.Time) {
	c.advance.Lock()
	defer c.advance.Unlock()
	c.mu.Lock()
	d := t.Round(0).Sub(c.now)
	c.now = t.Round(0)
	hooks := c.hooks
	c.mu.Unlock()
	for _, f := range hooks {
		f(d)
	}
}

// OnAdvance registers f to be called after every Advance or Set with the
// distance the clock moved, so that a store timing entries on a server's
// clock can follow the fake one (for example miniredis's FastForward).
// Hooks run in registration order, one move at a time; they may call Now
// but must not move the clock themselves.
func (c *Clock) OnAdvance(f func(d time.Duration)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Copy so a move already in progress keeps its own slice.
	c.hooks = append(c.hooks[:len(c.hooks):len(c.hooks)], f)
}
