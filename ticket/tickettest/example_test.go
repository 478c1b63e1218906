package tickettest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

// A store author runs the whole suite from one test of the store's package.
// Here the store reads the fake clock through its Now option; a store on a
// server with its own clock would follow it with clock.OnAdvance, or set
// RealTime.
func ExampleTestStore() {
	// func TestConformance(t *testing.T) {
	var t *testing.T
	tickettest.TestStore(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			return memstore.New(&memstore.Options{Now: clock.Now})
		},
	})
	// }
}

func ExampleClock() {
	clock := tickettest.NewClock(time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC))
	clock.OnAdvance(func(d time.Duration) {
		// e.g. miniredis.FastForward(d)
		fmt.Println("moved", d)
	})

	// Give clock.Now to whatever takes a Now func() time.Time.
	now := clock.Now
	fmt.Println(now().Format(time.TimeOnly))
	clock.Advance(30 * time.Second)
	fmt.Println(now().Format(time.TimeOnly))
	// Output:
	// 08:00:00
	// moved 30s
	// 08:00:30
}

// A store with the ticket.Revocations capability runs that suite too, with
// a Wipe that makes it lose its data: for a memstore, a new one, as a
// process restart gives.
func ExampleTestRevocations() {
	// func TestRevocationsConformance(t *testing.T) {
	var t *testing.T
	tickettest.TestRevocations(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			return memstore.New(&memstore.Options{Now: clock.Now})
		},
		Wipe: func(t *testing.T, clock *tickettest.Clock, _ ticket.Store) ticket.Store {
			return memstore.New(&memstore.Options{Now: clock.Now})
		},
	})
	// }
}
