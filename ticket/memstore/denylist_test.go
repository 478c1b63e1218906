package memstore

import (
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

func TestDenylistConformance(t *testing.T) {
	tickettest.TestDenylist(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			return New(&Options{Now: clock.Now})
		},
	})
}

// Lapsed denials are purged by a later Deny, so the list does not grow.
func TestDenylistSweeps(t *testing.T) {
	clock := tickettest.NewClock(time.Unix(1e9, 0))
	s := New(&Options{Now: clock.Now, SweepInterval: time.Minute})
	for i := range 1000 {
		s.Deny(t.Context(), ticket.DenyKey(string(rune(i))), clock.Now().Add(time.Second))
	}
	clock.Advance(2 * time.Minute)
	s.Deny(t.Context(), ticket.DenyKey("fresh"), clock.Now().Add(time.Hour))
	s.deny.mu.RLock()
	n := len(s.deny.m)
	s.deny.mu.RUnlock()
	if n != 1 {
		t.Fatalf("%d denials held, want 1", n)
	}
}
