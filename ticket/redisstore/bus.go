package redisstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// DefaultChannel is the Pub/Sub channel of a Bus when BusOptions.Channel
// is empty.
const DefaultChannel = "wsauth:revoke"

// BusOptions configures NewBus. The zero value, and nil, give the
// defaults.
type BusOptions struct {
	// Channel is the Pub/Sub channel revocations travel on. Default:
	// DefaultChannel, "wsauth:revoke". Nodes of one application must
	// agree on it; separate applications sharing a Redis should not.
	Channel string
}

// Bus carries revocations between nodes over Redis Pub/Sub: it is a
// wsauth.RevocationBus (RegistryOptions.Bus), though this package does not
// import wsauth. A Bus is safe for concurrent use.
//
// Pub/Sub delivers at most once: a node disconnected from Redis when a
// revocation is published misses it (go-redis reconnects and subscribes
// again by itself). On Redis Cluster, PUBLISH reaches subscribers on
// every node.
type Bus struct {
	client  redis.UniversalClient
	channel string
}

// NewBus returns a Bus over client configured by opts, which may be nil.
// The Bus does not own the client.
func NewBus(client redis.UniversalClient, opts *BusOptions) *Bus {
	b := &Bus{client: client, channel: DefaultChannel}
	if opts != nil && opts.Channel != "" {
		b.channel = opts.Channel
	}
	return b
}

// revocation is the message on the channel: {"sub":…,"reason":…}.
type revocation struct {
	Subject string `json:"sub"`
	Reason  string `json:"reason,omitempty"`
}

// Publish announces that subject's connections are revoked, with one
// PUBLISH. Errors wrap the client's.
func (b *Bus) Publish(ctx context.Context, subject, reason string) error {
	msg, err := json.Marshal(revocation{Subject: subject, Reason: reason})
	if err != nil {
		return fmt.Errorf("redisstore: publish: %w", err)
	}
	if err := b.client.Publish(ctx, b.channel, msg).Err(); err != nil {
		return fmt.Errorf("redisstore: publish: %w", err)
	}
	return nil
}

// Subscribe subscribes to the channel and returns once Redis has
// confirmed it; from then on a goroutine calls fn for each revocation,
// one at a time, until ctx is done, when it unsubscribes and ends.
// Messages that do not decode, or name no subject, are dropped.
func (b *Bus) Subscribe(ctx context.Context, fn func(subject, reason string)) error {
	ps := b.client.Subscribe(ctx, b.channel)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return fmt.Errorf("redisstore: subscribe: %w", err)
	}
	ch := ps.Channel()
	go func() {
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				var r revocation
				if json.Unmarshal([]byte(m.Payload), &r) != nil || r.Subject == "" {
					continue
				}
				fn(r.Subject, r.Reason)
			}
		}
	}()
	return nil
}
