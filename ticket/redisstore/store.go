package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "wsauth:ticket:"

// Options configures a Store. The zero value, and a nil *Options, give the
// defaults.
type Options struct {
	// Prefix is put in front of every key, to keep tickets apart from
	// other data in the same database, or the tickets of several
	// applications apart from each other. Default: DefaultPrefix,
	// "wsauth:ticket:". On Redis Cluster it must not contain a hash tag
	// ("{…}"); see the package doc. Revocations live under
	// Prefix + "{revocations}:".
	Prefix string

	// RevocationLifetime is how long a subject revocation is kept after
	// its time (see ticket.Revocations): at least the longest lifetime of
	// any credential checked against the store. Default:
	// ticket.DefaultRevocationLifetime, 24 hours.
	RevocationLifetime time.Duration

	// ReplicaTimeout bounds how long a revocation waits for a replica to
	// confirm it (WAIT 1), when the primary has replicas online. A revocation
	// that none confirms in time fails with ticket.ErrStoreUnavailable,
	// though it is in force on the primary: retry it. Negative: never
	// wait, and a failover may lose the latest revocations. Default: one
	// second; a healthy replica confirms within milliseconds.
	ReplicaTimeout time.Duration

	// Now returns the current time, by which RevokeID and RevokeSubject
	// turn their deadlines into Redis TTLs: the nodes' clock, by which
	// credentials expire, rather than the Redis server's. Default:
	// time.Now. Tests pass a fake clock's Now (see package tickettest).
	Now func() time.Time

	// TrustRestarts says that the Redis server holding the revocations
	// loses no acknowledged write when it restarts (appendonly yes with
	// appendfsync always) or fails over (replicas, and revocations wait
	// for one: ReplicaTimeout). By default every revocation script
	// compares the server's run_id (INFO server) with the one the list
	// started on, and a list started in another run of the server (before
	// a restart, or on another server before a failover) is taken for one
	// that may have lost data: a restart from an RDB snapshot, Redis's
	// default persistence, brings back an older state, revocations undone
	// and spent tickets again redeemable, without a trace. Since then
	// moves to that moment, and everyone logs in again (see the package
	// doc). Set it the same on every node. Default false.
	TrustRestarts bool
}

const defaultReplicaTimeout = time.Second

// Store is a [ticket.Store] in Redis, and a [ticket.Revocations]. Create
// one with New; the zero Store is not usable. A Store is safe for
// concurrent use, as its client is.
type Store struct {
	client redis.UniversalClient
	prefix string
	rev    revocationKeys // see revocations.go

	lifetime       time.Duration
	replicaTimeout time.Duration // negative: no WAIT
	trustRestarts  bool
	now            func() time.Time
}

var _ ticket.Store = (*Store)(nil)

// New returns a Store that keeps its tickets through client, configured by
// opts, which may be nil. The Store does not own the client: closing it is
// the caller's business.
func New(client redis.UniversalClient, opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.RevocationLifetime <= 0 {
		o.RevocationLifetime = ticket.DefaultRevocationLifetime
	}
	if o.ReplicaTimeout == 0 {
		o.ReplicaTimeout = defaultReplicaTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{
		client:         client,
		prefix:         o.Prefix,
		rev:            newRevocationKeys(o.Prefix),
		lifetime:       o.RevocationLifetime,
		replicaTimeout: o.ReplicaTimeout,
		trustRestarts:  o.TrustRestarts,
		now:            o.Now,
	}
}

// errTTL is returned by Put for a TTL that Redis cannot hold (PX counts
// whole milliseconds).
var errTTL = errors.New("redisstore: put: ttl must be at least 1ms")

// Put stores t under key for ttl, rounded down to the millisecond, with one
// SET … PX … NX. It returns an error wrapping ticket.ErrKeyExists if the key
// holds a live ticket, and an error wrapping ticket.ErrStoreUnavailable if
// Redis could not be asked or failed; if ctx is already done, nothing is
// sent. A ttl below one millisecond is an error.
func (s *Store) Put(ctx context.Context, key ticket.Key, t ticket.Ticket, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return unavailable("put", err)
	}
	if ttl < time.Millisecond {
		return errTTL
	}
	val, err := t.MarshalBinary()
	if err != nil {
		return fmt.Errorf("redisstore: put: %w", err)
	}
	// Built by hand rather than with SetArgs, which sends EX for whole
	// seconds; the key position is set so Cluster routes by the key.
	cmd := redis.NewStatusCmd(ctx, "set", s.key(key), val, "px", ttl.Milliseconds(), "nx")
	cmd.SetFirstKeyPos(1)
	switch err := s.client.Process(ctx, cmd); {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil): // NX refused: the key is taken
		return fmt.Errorf("redisstore: put: %w", ticket.ErrKeyExists)
	default:
		return unavailable("put", err)
	}
}

// Take removes and returns the ticket under key with one GETDEL. A missing
// or expired key gives ok == false and a nil error. Any failure is returned
// wrapping ticket.ErrStoreUnavailable; if ctx is already done, nothing is
// sent and the ticket stays in place.
func (s *Store) Take(ctx context.Context, key ticket.Key) (t ticket.Ticket, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return ticket.Ticket{}, false, unavailable("take", err)
	}
	val, err := s.client.GetDel(ctx, s.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return ticket.Ticket{}, false, nil
	}
	if err != nil {
		return ticket.Ticket{}, false, unavailable("take", err)
	}
	// The ticket is gone from Redis either way; a value that does not
	// decode is a broken store, and refusing is the safe answer.
	if err := t.UnmarshalBinary(val); err != nil {
		return ticket.Ticket{}, false, unavailable("take", err)
	}
	return t, true, nil
}

// key is the Redis key of k. Only its hash ever reaches Redis.
func (s *Store) key(k ticket.Key) string { return s.prefix + k.String() }

// unavailable wraps err so that both it and ticket.ErrStoreUnavailable can
// be found with errors.Is.
func unavailable(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w: %w", op, ticket.ErrStoreUnavailable, err)
}
