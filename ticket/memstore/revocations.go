package memstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

var _ ticket.Revocations = (*Store)(nil)

// errNoSubject is returned by RevokeSubject for the empty subject.
var errNoSubject = errors.New("memstore: revoke subject: empty subject")

// revocations is the Store's ticket.Revocations: two maps under one lock,
// as revocations are rare next to tickets, and one lock makes each Check
// one consistent reading. Its zero value is ready to use.
type revocations struct {
	mu        sync.RWMutex
	ids       map[ticket.Key]time.Duration // until, since Store.base
	subjects  map[string]subjectRevocation
	nextSweep time.Duration // since Store.base
}

// subjectRevocation is the latest revocation of one subject.
type subjectRevocation struct {
	at  time.Time     // as given to RevokeSubject
	end time.Duration // at plus the lifetime, since Store.base
}

// RevokeID refuses the credential ID under key until until, as
// ticket.Revocations asks; revoking it again keeps the later time. Lapsed
// revocations are purged during RevokeID and RevokeSubject, at most once
// per Options.SweepInterval, so the Store holds at most the revocations
// of one SweepInterval plus the live ones.
func (s *Store) RevokeID(ctx context.Context, key ticket.Key, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: revoke id: %w", err)
	}
	now := s.elapsed()
	end := until.Sub(s.base)
	r := &s.rev
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(now, s.sweepEvery)
	if now >= end {
		return nil
	}
	if cur, ok := r.ids[key]; ok && cur >= end {
		return nil
	}
	if r.ids == nil {
		r.ids = make(map[ticket.Key]time.Duration)
	}
	r.ids[key] = end
	return nil
}

// RevokeSubject refuses every credential of subject issued at or before
// at, as ticket.Revocations asks, for Options.RevocationLifetime after at;
// revoking it again keeps the later time. The empty subject is an error.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: revoke subject: %w", err)
	}
	if subject == "" {
		return errNoSubject
	}
	now := s.elapsed()
	end := at.Sub(s.base) // saturates; so does the sum below
	if end > math.MaxInt64-s.lifetime {
		end = math.MaxInt64
	} else {
		end += s.lifetime
	}
	r := &s.rev
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(now, s.sweepEvery)
	if now >= end {
		return nil // every credential it would refuse has expired
	}
	if cur, ok := r.subjects[subject]; ok && now < cur.end && !at.After(cur.at) {
		return nil
	}
	if r.subjects == nil {
		r.subjects = make(map[string]subjectRevocation)
	}
	r.subjects[subject] = subjectRevocation{at: at, end: end}
	return nil
}

// Check reports what the Store knows of the credential with IDs keys and
// subject, as ticket.Revocations asks, in one reading under one lock.
// Since is the Store's creation, to the millisecond (credentials carry
// their issue time to the millisecond at best: one minted in the
// millisecond the Store was made is not taken for an older one; the
// process the Store replaced was gone well before that millisecond): a
// Store lives in one process, and a process that restarts starts a new,
// empty Store, which refuses every credential issued before it.
func (s *Store) Check(ctx context.Context, keys [2]ticket.Key, subject string) (ticket.Status, error) {
	if err := ctx.Err(); err != nil {
		return ticket.Status{}, fmt.Errorf("memstore: check: %w", err)
	}
	now := s.elapsed()
	st := ticket.Status{Since: s.base.Truncate(time.Millisecond)}
	r := &s.rev
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range keys {
		if end, ok := r.ids[k]; ok && now < end && k != (ticket.Key{}) {
			st.Denied = true
		}
	}
	if subject != "" {
		if e, ok := r.subjects[subject]; ok && now < e.end {
			st.SubjectRevoked = e.at
		}
	}
	return st, nil
}

// sweep drops lapsed revocations if a sweep is due. The caller holds
// r.mu for writing.
func (r *revocations) sweep(now, every time.Duration) {
	if now < r.nextSweep {
		return
	}
	maps.DeleteFunc(r.ids, func(_ ticket.Key, end time.Duration) bool { return now >= end })
	maps.DeleteFunc(r.subjects, func(_ string, e subjectRevocation) bool { return now >= e.end })
	r.nextSweep = now + every
}
