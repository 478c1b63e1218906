package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
)

var _ ticket.Denylist = (*Store)(nil)

// denyInfix sets deny-list keys apart from tickets under the same prefix:
// <prefix>deny:<hex key>.
const denyInfix = "deny:"

// Deny refuses key until until with one SET <prefix>deny:<hex key> 1 PXAT
// <until in Unix ms>, so Redis drops the entry when it lapses. The
// deadline is absolute: it relies on the Redis server's clock. Errors wrap
// ticket.ErrStoreUnavailable.
func (s *Store) Deny(ctx context.Context, key ticket.Key, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return unavailable("deny", err)
	}
	ms := until.UnixMilli()
	if ms <= 0 {
		return nil // long past
	}
	cmd := redis.NewStatusCmd(ctx, "set", s.denyKey(key), "1", "pxat", ms)
	cmd.SetFirstKeyPos(1)
	if err := s.client.Process(ctx, cmd); err != nil {
		return unavailable("deny", err)
	}
	return nil
}

// Denied reports whether key is refused now, with one EXISTS. Errors wrap
// ticket.ErrStoreUnavailable.
func (s *Store) Denied(ctx context.Context, key ticket.Key) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, unavailable("denied", err)
	}
	n, err := s.client.Exists(ctx, s.denyKey(key)).Result()
	if err != nil {
		return false, unavailable("denied", err)
	}
	return n > 0, nil
}

func (s *Store) denyKey(k ticket.Key) string { return s.prefix + denyInfix + k.String() }
