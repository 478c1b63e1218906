package memstore

import (
	"testing"
	"time"
	"unsafe"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

var epoch = time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC)

func fill(t *testing.T, s *Store, n int, ttl time.Duration) {
	t.Helper()
	for range n {
		_, k := ticket.NewID()
		if err := s.Put(t.Context(), k, ticket.Ticket{Subject: "alice"}, ttl); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSweep(t *testing.T) {
	clock := tickettest.NewClock(epoch)
	s := New(&Options{Now: clock.Now})
	fill(t, s, 100, time.Second)
	fill(t, s, 50, time.Hour)
	if n := s.Len(); n != 150 {
		t.Fatalf("Len = %d, want 150", n)
	}
	clock.Advance(time.Second) // the short TTL has passed
	s.sweep()
	if n := s.Len(); n != 50 {
		t.Fatalf("Len after sweep = %d, want the 50 live entries", n)
	}
}

func TestPutSweeps(t *testing.T) {
	clock := tickettest.NewClock(epoch)
	s := New(&Options{Now: clock.Now, Shards: 1, SweepInterval: time.Minute})
	fill(t, s, 100, time.Second)

	clock.Advance(30 * time.Second) // expired, but no sweep is due
	fill(t, s, 1, time.Hour)
	if n := s.Len(); n != 101 {
		t.Fatalf("Len = %d before the sweep interval passed, want 101", n)
	}
	clock.Advance(30 * time.Second) // a sweep is due: the next Put runs it
	fill(t, s, 1, time.Hour)
	if n := s.Len(); n != 2 {
		t.Fatalf("Len = %d after a Put past the sweep interval, want 2", n)
	}
}

func TestSweepShrinksMap(t *testing.T) {
	clock := tickettest.NewClock(epoch)
	s := New(&Options{Now: clock.Now, Shards: 1})
	fill(t, s, 4096, time.Second)
	clock.Advance(time.Second)
	fill(t, s, 10, time.Hour)
	s.sweep()
	sh := &s.shards[0]
	if len(sh.m) != 10 || sh.peak != 10 {
		t.Fatalf("after sweep: len %d, peak %d; want a fresh map of 10", len(sh.m), sh.peak)
	}
}

func TestShards(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{0, defaultShards}, {-1, defaultShards}, {1, 1}, {3, 4}, {64, 64}, {65, 128}, {1000, 256},
	} {
		if got := len(New(&Options{Shards: c.in}).shards); got != c.want {
			t.Errorf("Shards %d: got %d shards, want %d", c.in, got, c.want)
		}
	}
}

// The size checks guard the two layout decisions: an entry small enough to
// live inline in a map, and shards that do not share a cache line.
func TestLayout(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 128 {
		t.Errorf("entry is %d bytes; over 128, maps store it out of line and every Put allocates", n)
	}
	if n := unsafe.Sizeof(shard{}); n%64 != 0 {
		t.Errorf("shard is %d bytes, not a multiple of a cache line", n)
	}
}
