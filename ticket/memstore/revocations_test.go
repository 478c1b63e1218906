package memstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

func TestRevocationsConformance(t *testing.T) {
	tickettest.TestRevocations(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			return New(&Options{Now: clock.Now})
		},
		// A restart of the process is what loses a memstore's data: a
		// new, empty Store takes its place.
		Wipe: func(t *testing.T, clock *tickettest.Clock, _ ticket.Store) ticket.Store {
			return New(&Options{Now: clock.Now})
		},
	})
}

func TestRevocationsConformanceLifetime(t *testing.T) {
	tickettest.TestRevocations(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			return New(&Options{Now: clock.Now, RevocationLifetime: time.Hour, SweepInterval: time.Nanosecond})
		},
		Wipe: func(t *testing.T, clock *tickettest.Clock, _ ticket.Store) ticket.Store {
			return New(&Options{Now: clock.Now, RevocationLifetime: time.Hour, SweepInterval: time.Nanosecond})
		},
		RevocationLifetime: time.Hour,
	})
}

func TestRevocationsConformanceRealTime(t *testing.T) {
	tickettest.TestRevocations(t, tickettest.Harness{
		NewStore: func(t *testing.T, _ *tickettest.Clock) ticket.Store { return New(nil) },
		Wipe:     func(t *testing.T, _ *tickettest.Clock, _ ticket.Store) ticket.Store { return New(nil) },
		RealTime: true,
	})
}

// Lapsed revocations are purged by a later revocation, so the maps do not
// grow.
func TestRevocationsSweep(t *testing.T) {
	clock := tickettest.NewClock(time.Unix(1e9, 0))
	s := New(&Options{Now: clock.Now, SweepInterval: time.Minute, RevocationLifetime: time.Hour})
	ctx := t.Context()
	for i := range 1000 {
		s.RevokeID(ctx, ticket.DenyKey(fmt.Sprint(i)), clock.Now().Add(time.Second))
		s.RevokeSubject(ctx, fmt.Sprint("user-", i), clock.Now())
	}
	clock.Advance(time.Hour + time.Minute)
	s.RevokeID(ctx, ticket.DenyKey("fresh"), clock.Now().Add(time.Hour))
	s.rev.mu.RLock()
	ids, subjects := len(s.rev.ids), len(s.rev.subjects)
	s.rev.mu.RUnlock()
	if ids != 1 || subjects != 0 {
		t.Fatalf("%d IDs and %d subjects held, want 1 and 0", ids, subjects)
	}
}

// Since is the Store's creation, whatever the time of the Check.
func TestSinceIsCreation(t *testing.T) {
	start := time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC)
	clock := tickettest.NewClock(start)
	s := New(&Options{Now: clock.Now})
	clock.Advance(time.Hour)
	st, err := s.Check(t.Context(), [2]ticket.Key{}, "")
	if err != nil || !st.Since.Equal(start) {
		t.Fatalf("Check = %+v, %v; want Since %v", st, err, start)
	}
}
