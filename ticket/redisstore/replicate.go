package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// errNotReplicated is wrapped, with ticket.ErrStoreUnavailable, in the
// error of a revocation that no replica confirmed in time.
var errNotReplicated = errors.New("no replica confirmed the revocation within Options.ReplicaTimeout; it is in force on the primary, retry it")

// revoke runs revocationScript with args, a revocation write that returns
// how many replicas are online, and then, if any is, waits until one of
// them holds the write (WAIT 1), so that a failover keeps the revocation.
// WAIT counts the writes of its own connection, so both go over one
// connection to the primary holding the revocation keys; a primary without
// replicas gets no WAIT, which would only sit out its timeout.
func (s *Store) revoke(ctx context.Context, op string, keys []string, args ...any) error {
	conn, err := s.primaryConn(ctx)
	if err != nil {
		return unavailable(op, err)
	}
	var sc redis.Scripter = s.client
	if conn != nil {
		defer conn.Close()
		sc = conn
	}
	n, err := s.run(ctx, sc, keys, args...).Int64()
	if err != nil {
		if c, ok := s.client.(*redis.ClusterClient); ok {
			c.ReloadState(ctx) // the slot may have moved under the cached map
		}
		return unavailable(op, err)
	}
	if n == 0 || conn == nil || s.replicaTimeout < 0 {
		return nil
	}
	// WAIT counts whole milliseconds, and 0 would wait for ever.
	acked, err := conn.Wait(ctx, 1, max(s.replicaTimeout, time.Millisecond)).Result()
	if err != nil {
		return unavailable(op, err)
	}
	if acked < 1 {
		return unavailable(op, errNotReplicated)
	}
	return nil
}

// primaryConn returns a connection of its own to the primary holding the
// revocation keys, for WAIT to follow a write; the caller closes it. It
// returns nil for a client of another kind than the single-node, Sentinel
// (both *redis.Client) and Cluster clients: revocations then go through it
// without a WAIT. On Cluster the connection goes straight to the node the
// client's slot map names, without following redirects: after the slot
// moves, revocations fail until the map is reloaded.
func (s *Store) primaryConn(ctx context.Context) (*redis.Conn, error) {
	switch c := s.client.(type) {
	case *redis.Client:
		return c.Conn(), nil
	case *redis.ClusterClient:
		node, err := c.MasterForKey(ctx, s.rev.marker)
		if err != nil {
			return nil, err
		}
		return node.Conn(), nil
	}
	return nil, nil
}
