package memstore_test

import (
	"testing"
	"time"

	"github.com/wsauth/wsauth/internal/testmain"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

func TestMain(m *testing.M) {
	testmain.Run(m)
}

func TestConformance(t *testing.T) {
	tickettest.TestStore(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			return memstore.New(&memstore.Options{Now: clock.Now})
		},
	})
}

// One shard and tiny sweep intervals put every entry behind one lock and
// through the sweeper on most Puts.
func TestConformanceOneShard(t *testing.T) {
	tickettest.TestStore(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			return memstore.New(&memstore.Options{Now: clock.Now, Shards: 1, SweepInterval: time.Nanosecond})
		},
	})
}

// With time.Now the store runs on real time, as redisstore does against a
// real server.
func TestConformanceRealTime(t *testing.T) {
	tickettest.TestStore(t, tickettest.Harness{
		NewStore: func(t *testing.T, _ *tickettest.Clock) ticket.Store {
			return memstore.New(nil)
		},
		RealTime: true,
	})
}

func TestPutNonPositiveTTL(t *testing.T) {
	s := memstore.New(nil)
	_, key := ticket.NewID()
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.Put(t.Context(), key, ticket.Ticket{Subject: "alice"}, ttl); err == nil {
			t.Errorf("Put with ttl %v: err = nil, want an error", ttl)
		}
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len = %d after refused Puts, want 0", n)
	}
}

func TestHugeTTL(t *testing.T) {
	clock := tickettest.NewClock(time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC))
	s := memstore.New(&memstore.Options{Now: clock.Now})
	_, key := ticket.NewID()
	// now + ttl overflows; the deadline must saturate, not wrap into the past.
	clock.Advance(time.Hour)
	if err := s.Put(t.Context(), key, ticket.Ticket{Subject: "alice"}, time.Duration(1<<63-1)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Take(t.Context(), key); err != nil || !ok {
		t.Fatalf("Take = ok %v, err %v; want the ticket", ok, err)
	}
}

func TestOptionsNotModified(t *testing.T) {
	opts := &memstore.Options{Shards: 3}
	memstore.New(opts)
	if opts.Shards != 3 || opts.Now != nil || opts.SweepInterval != 0 {
		t.Errorf("New changed its options to %+v", *opts)
	}
}
