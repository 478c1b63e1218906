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
	// ("{…}"); see the package doc.
	Prefix string
}

// Store is a [ticket.Store] in Redis. Create one with New; the zero Store is
// not usable. A Store is safe for concurrent use, as its client is.
type Store struct {
	client redis.UniversalClient
	prefix string
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
	return &Store{client: client, prefix: o.Prefix}
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
