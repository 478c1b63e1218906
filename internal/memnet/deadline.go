package memnet

import (
	"sync"
	"time"
)

// deadline is one read or write deadline of a connection end. It is
// guarded by the mutex of the stream it belongs to. A time.AfterFunc
// timer wakes blocked operations, so inside a synctest bubble it follows
// virtual time.
type deadline struct {
	t     time.Time // zero: none
	timer *time.Timer
	fired bool   // the timer for t ran
	gen   uint64 // bumped on every stop, so a stale timer's callback is ignored
}

// expired reports whether operations must fail. It also compares t with
// the clock, so that an operation starting at the deadline fails even if
// the timer, due at the same instant, has not run yet.
func (d *deadline) expired() bool {
	return d.fired || !d.t.IsZero() && !time.Now().Before(d.t)
}

// set arms d for t (zero t disarms it). mu must be held; wake is called
// with mu held whenever blocked operations must look at d again.
func (d *deadline) set(t time.Time, mu *sync.Mutex, wake func()) {
	d.stop()
	d.t, d.fired = t, false
	if !t.IsZero() && time.Now().Before(t) {
		gen := d.gen
		d.timer = time.AfterFunc(time.Until(t), func() {
			mu.Lock()
			defer mu.Unlock()
			if d.gen == gen {
				d.fired = true
				wake()
			}
		})
	}
	wake()
}

// stop disarms the timer, if any, leaving the deadline as it is. mu must
// be held.
func (d *deadline) stop() {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.gen++
}
