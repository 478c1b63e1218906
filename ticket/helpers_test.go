package ticket_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// mapStore is a minimal Store for these tests. It records TTLs but does not
// expire entries: expiry is the Redeemer's job, which is what is tested here.
type mapStore struct {
	mu   sync.Mutex
	m    map[ticket.Key]ticket.Ticket
	ttls map[ticket.Key]time.Duration
	puts atomic.Int64
	take atomic.Int64
}

func newMapStore() *mapStore {
	return &mapStore{m: map[ticket.Key]ticket.Ticket{}, ttls: map[ticket.Key]time.Duration{}}
}

func (s *mapStore) Put(_ context.Context, k ticket.Key, t ticket.Ticket, ttl time.Duration) error {
	s.puts.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; ok {
		return ticket.ErrKeyExists
	}
	s.m[k], s.ttls[k] = t, ttl
	return nil
}

func (s *mapStore) Take(_ context.Context, k ticket.Key) (ticket.Ticket, bool, error) {
	s.take.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[k]
	delete(s.m, k)
	return t, ok, nil
}

func (s *mapStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// errBackend is what failStore returns.
var errBackend = errors.New("backend: connection refused")

// failStore fails every call.
type failStore struct{ calls atomic.Int64 }

func (s *failStore) Put(context.Context, ticket.Key, ticket.Ticket, time.Duration) error {
	s.calls.Add(1)
	return errBackend
}

func (s *failStore) Take(context.Context, ticket.Key) (ticket.Ticket, bool, error) {
	s.calls.Add(1)
	return ticket.Ticket{}, false, errBackend
}

// clock is a settable fake time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
