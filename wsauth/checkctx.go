package wsauth

import (
	"context"
	"sync"
	"time"
)

// checkContext is the context of an upgraded attempt's checks (the
// in-band strategies'): the request's values, and a deadline. It is
// context.WithTimeout made lazily: its Done channel and timer exist only
// once Done or AfterFunc is asked for (doneState). The built-in Verifier
// and memstore only ask Err, and the short-lived timer and contexts of
// every handshake leave holes in the spans of the connections'
// long-lived objects of their sizes (BENCHMARKS.md, section 4).
type checkContext struct {
	context.Context // the values; never done
	deadline        time.Time

	mu    sync.Mutex
	ended checkEnd // once; a byte, not an error, keeps c within 96 bytes
	ds    doneState
	timer *time.Timer // ends c at the deadline, once something waits
}

// checkEnd is how a check context ended.
type checkEnd uint8

const (
	notEnded checkEnd = iota
	deadlinePassed
	checksDone
)

func (e checkEnd) err() error {
	switch e {
	case deadlinePassed:
		return context.DeadlineExceeded
	case checksDone:
		return context.Canceled
	}
	return nil
}

func newCheckContext(values context.Context, d time.Duration) *checkContext {
	c := &checkContext{Context: values, deadline: time.Now().Add(d)}
	c.ds.mu = &c.mu
	return c
}

func (c *checkContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *checkContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ds.done == nil {
		if c.ended == notEnded {
			c.armLocked()
		}
		if c.ended != notEnded {
			return closedChan
		}
	}
	return c.ds.doneLocked()
}

// AfterFunc runs f in its own goroutine once c ends, as context.AfterFunc
// does; the context package finds it for every context derived from c.
func (c *checkContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended == notEnded {
		c.armLocked()
	}
	if c.ended != notEnded {
		go f()
		return func() bool { return false }
	}
	return c.ds.addLocked(f)
}

// armLocked starts the timer that ends c at its deadline, or ends c if
// the deadline has passed.
func (c *checkContext) armLocked() {
	switch d := time.Until(c.deadline); {
	case d <= 0:
		c.endLocked(deadlinePassed)
	case c.timer == nil:
		c.timer = time.AfterFunc(d, c.expire)
	}
}

// Err reads the clock itself, so that a context nobody asked Done of
// still ends at its deadline; it closes done then, as the contract of
// Err wants done closed once Err is not nil.
func (c *checkContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended == notEnded && !time.Now().Before(c.deadline) {
		c.endLocked(deadlinePassed)
	}
	return c.ended.err()
}

func (c *checkContext) String() string { return "wsauth check context" }

func (c *checkContext) expire() { c.end(deadlinePassed) }

// end ends c as e says, unless it has ended already.
func (c *checkContext) end(e checkEnd) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended == notEnded {
		c.endLocked(e)
	}
}

func (c *checkContext) endLocked(e checkEnd) {
	c.ended = e
	if c.timer != nil {
		c.timer.Stop()
	}
	c.ds.endLocked().start() // starts goroutines only: safe under c.mu
}
