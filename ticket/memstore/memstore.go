package memstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"sync"
	"time"
	"unsafe"

	"github.com/wsauth/wsauth/ticket"
)

// Options configures a Store. The zero value, and a nil *Options, give the
// defaults.
type Options struct {
	// Now returns the current time. Default: time.Now. Tests pass a fake
	// clock's Now (see package tickettest).
	Now func() time.Time

	// SweepInterval is how often each shard purges its expired entries.
	// The purge runs inside a Put to that shard, so a shard that sees no
	// Puts is not swept (and does not grow). Default: 1 minute.
	SweepInterval time.Duration

	// Shards is the number of independently locked partitions, rounded up
	// to a power of two and capped at 256. More shards mean less lock
	// contention between goroutines. Default: 64.
	Shards int

	// RevocationLifetime is how long a subject revocation is kept after
	// its time (see ticket.Revocations): at least the longest lifetime of
	// any credential checked against the store. Default:
	// ticket.DefaultRevocationLifetime, 24 hours.
	RevocationLifetime time.Duration
}

const (
	defaultSweepInterval = time.Minute
	defaultShards        = 64
	maxShards            = 256 // the shard is picked by the key's first byte
)

// errTTL is returned by Put for a TTL that would expire the ticket at once.
var errTTL = errors.New("memstore: put: ttl must be positive")

// Store is an in-memory [ticket.Store], and a [ticket.Revocations] of the
// process. Create one with New; the zero Store is not usable. A Store is
// safe for concurrent use.
type Store struct {
	now        func() time.Time
	base       time.Time // times are kept as durations since base
	sweepEvery time.Duration
	mask       uint8
	shards     []shard
	lifetime   time.Duration // of a subject revocation
	rev        revocations   // see revocations.go
}

var _ ticket.Store = (*Store)(nil)

// New returns an empty Store configured by opts, which may be nil.
func New(opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = defaultSweepInterval
	}
	if o.Shards <= 0 {
		o.Shards = defaultShards
	}
	if o.RevocationLifetime <= 0 {
		o.RevocationLifetime = ticket.DefaultRevocationLifetime
	}
	o.Shards = min(o.Shards, maxShards)
	n := 1 << bits.Len(uint(o.Shards-1)) // next power of two

	s := &Store{
		now:        o.Now,
		base:       o.Now(),
		sweepEvery: o.SweepInterval,
		mask:       uint8(n - 1),
		shards:     make([]shard, n),
		lifetime:   o.RevocationLifetime,
	}
	for i := range s.shards {
		s.shards[i].m = make(map[ticket.Key]entry)
		s.shards[i].nextSweep = o.SweepInterval
	}
	return s
}

// elapsed is the store's notion of now. Subtracting base keeps the
// monotonic reading when Now is time.Now, so wall-clock jumps do not expire
// tickets early, and fits a deadline into eight bytes.
func (s *Store) elapsed() time.Duration { return s.now().Sub(s.base) }

func (s *Store) shard(k ticket.Key) *shard { return &s.shards[k[0]&s.mask] }

// Put stores t under key for ttl. It returns an error wrapping
// ticket.ErrKeyExists if key holds a ticket whose TTL has not passed, and
// ctx's error, having touched nothing, if ctx is done. A ttl that is not
// positive is an error.
func (s *Store) Put(ctx context.Context, key ticket.Key, t ticket.Ticket, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: put: %w", err)
	}
	if ttl <= 0 {
		return errTTL
	}
	now := s.elapsed()
	deadline := time.Duration(math.MaxInt64)
	if now <= deadline-ttl {
		deadline = now + ttl
	}

	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now >= sh.nextSweep {
		sh.sweep(now)
		sh.nextSweep = now + s.sweepEvery
	}
	if e, ok := sh.m[key]; ok && now < e.deadline {
		return fmt.Errorf("memstore: put: %w", ticket.ErrKeyExists)
	}
	sh.m[key] = entry{t: t, deadline: deadline}
	sh.peak = max(sh.peak, len(sh.m))
	return nil
}

// Take removes the ticket under key and returns it. A missing or expired
// key gives ok == false and a nil error. If ctx is done, Take returns its
// error and leaves the ticket in place.
func (s *Store) Take(ctx context.Context, key ticket.Key) (t ticket.Ticket, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("memstore: take: %w", err)
	}
	now := s.elapsed()
	sh := s.shard(key)
	sh.mu.Lock()
	e, ok := sh.m[key]
	if ok {
		delete(sh.m, key) // expired or not, it is of no more use
	}
	sh.mu.Unlock()
	if !ok || now >= e.deadline {
		return ticket.Ticket{}, false, nil
	}
	return e.t, true, nil
}

// Len returns the number of entries held, including expired ones not yet
// purged. It is meant for tests and metrics.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// sweep purges expired entries from every shard now, whatever their
// schedule. Tests use it.
func (s *Store) sweep() {
	now := s.elapsed()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.sweep(now)
		sh.mu.Unlock()
	}
}

// entry is one stored ticket. It is kept to 128 bytes, the largest map
// value Go stores inline, so a Put into a grown map allocates nothing.
type entry struct {
	t        ticket.Ticket
	deadline time.Duration // since Store.base; expired from then on
}

type shardState struct {
	mu        sync.Mutex
	m         map[ticket.Key]entry
	nextSweep time.Duration // since Store.base
	peak      int           // most entries held since the map was made
}

// shard pads shardState to a cache line so that goroutines locking
// neighbouring shards do not slow each other down.
type shard struct {
	shardState
	_ [64 - unsafe.Sizeof(shardState{})%64]byte
}

// sweep deletes expired entries. The caller holds s.mu.
func (s *shardState) sweep(now time.Duration) {
	for k, e := range s.m {
		if now >= e.deadline {
			delete(s.m, k)
		}
	}
	// Go maps never shrink: after a burst, move the survivors to a map
	// of their size so the memory goes back.
	if s.peak >= 1024 && len(s.m) <= s.peak/4 {
		m := make(map[ticket.Key]entry, len(s.m))
		maps.Copy(m, s.m)
		s.m = m
		s.peak = len(m)
	}
}
