package tickettest

import (
	"context"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// TestDenylist checks the ticket.Denylist of the stores built by h, each
// subtest with a fresh store:
//
//   - Denied: a denied key is reported, others are not.
//   - Lapse: once its time has passed a key is no longer denied.
//   - Past: denying until a time already past denies nothing.
//   - Replace: denying a key again moves its time.
//   - CanceledContext: both methods fail with a done context.
//
// Times come from the clock given to h.NewStore, or from time.Now under
// h.RealTime (the lapse is then RealTimeTTL, polled for).
func TestDenylist(t *testing.T, h Harness) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatal("tickettest: Harness.NewStore is nil")
	}
	for _, st := range []struct {
		name string
		fn   func(*testing.T, *denyEnv)
	}{
		{"Denied", testDenied},
		{"Lapse", testDenyLapse},
		{"Past", testDenyPast},
		{"Replace", testDenyReplace},
		{"CanceledContext", testDenyCanceled},
	} {
		t.Run(st.name, func(t *testing.T) {
			clock := NewClock(epoch)
			s := h.NewStore(t, clock)
			d, ok := s.(ticket.Denylist)
			if !ok {
				t.Fatalf("tickettest: %T does not implement ticket.Denylist", s)
			}
			st.fn(t, &denyEnv{d: d, clock: clock, realTime: h.RealTime})
		})
	}
}

type denyEnv struct {
	d        ticket.Denylist
	clock    *Clock
	realTime bool
}

func (e *denyEnv) now() time.Time {
	if e.realTime {
		return time.Now()
	}
	return e.clock.Now()
}

func (e *denyEnv) deny(t *testing.T, k ticket.Key, until time.Time) {
	t.Helper()
	if err := e.d.Deny(t.Context(), k, until); err != nil {
		t.Fatalf("Deny: %v", err)
	}
}

func (e *denyEnv) denied(t *testing.T, k ticket.Key) bool {
	t.Helper()
	ok, err := e.d.Denied(t.Context(), k)
	if err != nil {
		t.Fatalf("Denied: %v", err)
	}
	return ok
}

// waitLapse advances the clock past d, or under real time polls until k
// is no longer denied.
func (e *denyEnv) waitLapse(t *testing.T, k ticket.Key, d time.Duration) {
	t.Helper()
	if !e.realTime {
		e.clock.Advance(d + time.Millisecond)
		return
	}
	deadline := time.Now().Add(d + 5*time.Second)
	for e.denied(t, k) {
		if time.Now().After(deadline) {
			t.Fatalf("still denied %v after its time", time.Since(deadline.Add(-5*time.Second)))
		}
		time.Sleep(10 * time.Millisecond) // polling real time, not synchronising
	}
}

func (e *denyEnv) lapse() time.Duration {
	if e.realTime {
		return RealTimeTTL
	}
	return time.Minute
}

func testDenied(t *testing.T, e *denyEnv) {
	k, other := ticket.DenyKey("jti-1"), ticket.DenyKey("jti-2")
	if e.denied(t, k) {
		t.Fatal("denied before Deny")
	}
	e.deny(t, k, e.now().Add(time.Hour))
	if !e.denied(t, k) {
		t.Fatal("not denied after Deny")
	}
	if e.denied(t, other) {
		t.Fatal("another key denied")
	}
}

func testDenyLapse(t *testing.T, e *denyEnv) {
	k := ticket.DenyKey("jti-lapse")
	e.deny(t, k, e.now().Add(e.lapse()))
	if !e.denied(t, k) {
		t.Fatal("not denied before its time")
	}
	e.waitLapse(t, k, e.lapse())
	if e.denied(t, k) {
		t.Fatal("still denied after its time")
	}
}

func testDenyPast(t *testing.T, e *denyEnv) {
	k := ticket.DenyKey("jti-past")
	e.deny(t, k, e.now().Add(-time.Second))
	if e.denied(t, k) {
		t.Fatal("denied until a past time")
	}
}

func testDenyReplace(t *testing.T, e *denyEnv) {
	k := ticket.DenyKey("jti-replace")
	e.deny(t, k, e.now().Add(e.lapse()))
	e.deny(t, k, e.now().Add(time.Hour))
	if e.realTime {
		time.Sleep(e.lapse() + 50*time.Millisecond) // let the first time pass
	} else {
		e.clock.Advance(e.lapse() + time.Millisecond)
	}
	if !e.denied(t, k) {
		t.Fatal("the second Deny did not extend the first")
	}
}

func testDenyCanceled(t *testing.T, e *denyEnv) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	k := ticket.DenyKey("jti-canceled")
	if err := e.d.Deny(ctx, k, e.now().Add(time.Hour)); err == nil {
		t.Error("Deny with a done context succeeded")
	}
	if _, err := e.d.Denied(ctx, k); err == nil {
		t.Error("Denied with a done context succeeded")
	}
	if e.denied(t, k) {
		t.Error("Deny with a done context denied the key")
	}
}
