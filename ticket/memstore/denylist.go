package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

var _ ticket.Denylist = (*Store)(nil)

// denylist is the Store's ticket.Denylist: one locked map, as denials are
// rare next to tickets. Its zero value is ready to use.
type denylist struct {
	mu        sync.RWMutex
	m         map[ticket.Key]time.Duration // until, since Store.base
	nextSweep time.Duration
}

// Deny refuses key until until, as ticket.Denylist asks. Lapsed entries are
// purged during Deny, at most once per Options.SweepInterval, so the list
// holds at most the denials of one SweepInterval plus the live ones.
func (s *Store) Deny(ctx context.Context, key ticket.Key, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: deny: %w", err)
	}
	now := s.elapsed()
	end := until.Sub(s.base)
	d := &s.deny
	d.mu.Lock()
	defer d.mu.Unlock()
	if now >= d.nextSweep {
		for k, e := range d.m {
			if now >= e {
				delete(d.m, k)
			}
		}
		d.nextSweep = now + s.sweepEvery
	}
	if now >= end {
		return nil
	}
	if d.m == nil {
		d.m = make(map[ticket.Key]time.Duration)
	}
	d.m[key] = end
	return nil
}

// Denied reports whether key is refused now, as ticket.Denylist asks.
func (s *Store) Denied(ctx context.Context, key ticket.Key) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memstore: denied: %w", err)
	}
	now := s.elapsed()
	s.deny.mu.RLock()
	end, ok := s.deny.m[key]
	s.deny.mu.RUnlock()
	return ok && now < end, nil
}
