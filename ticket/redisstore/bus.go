package redisstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
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

// Bus is a [ticket.Bus] over Redis Pub/Sub. A Bus is safe for concurrent
// use.
//
// Pub/Sub delivers at most once: a node disconnected from Redis when a
// revocation is published misses it. go-redis reconnects and subscribes
// again by itself, and the Bus then calls Subscribe's catchUp, for the
// node to re-check its connections against the store. On Redis Cluster,
// PUBLISH reaches subscribers on every node.
type Bus struct {
	client  redis.UniversalClient
	channel string
}

var _ ticket.Bus = (*Bus)(nil)

// NewBus returns a Bus over client configured by opts, which may be nil.
// The Bus does not own the client.
func NewBus(client redis.UniversalClient, opts *BusOptions) *Bus {
	b := &Bus{client: client, channel: DefaultChannel}
	if opts != nil && opts.Channel != "" {
		b.channel = opts.Channel
	}
	return b
}

// message is a revocation on the channel, as JSON:
//
//	{"sub":"alice","id":"<64 hex digits>","reason":"logged out","at":1764627000123}
//
// "id" is the DenyKey, never the credential ID; "at" is the revocation's
// time in Unix milliseconds; empty fields are omitted. Nodes that know
// only "sub" and "reason" read it too.
type message struct {
	Subject string `json:"sub,omitempty"`
	ID      string `json:"id,omitempty"`
	Reason  string `json:"reason,omitempty"`
	At      int64  `json:"at,omitempty"`
}

// errEmptyRevocation is returned by Publish for a revocation that names
// neither a subject nor an ID.
var errEmptyRevocation = errors.New("redisstore: publish: revocation names neither subject nor ID")

// Publish announces r to every node, this one included, with one PUBLISH.
// A revocation with neither Subject nor ID is an error; other errors wrap
// ticket.ErrStoreUnavailable.
func (b *Bus) Publish(ctx context.Context, r ticket.Revocation) error {
	m := message{Subject: r.Subject, Reason: r.Reason}
	if !r.At.IsZero() {
		m.At = r.At.UnixMilli()
	}
	if r.ID != (ticket.Key{}) {
		m.ID = r.ID.String()
	}
	if m.Subject == "" && m.ID == "" {
		return errEmptyRevocation
	}
	if err := ctx.Err(); err != nil {
		return unavailable("publish", err)
	}
	msg, err := json.Marshal(m)
	if err != nil {
		return unavailable("publish", err)
	}
	if err := b.client.Publish(ctx, b.channel, msg).Err(); err != nil {
		return unavailable("publish", err)
	}
	return nil
}

// Subscribe subscribes to the channel and returns once Redis has confirmed
// it; from then on one goroutine, until ctx is done, calls deliver for each
// revocation, and catchUp (if not nil) each time go-redis has subscribed
// again after losing the connection. Messages that do not decode, or name
// neither a subject nor an ID, are dropped. Errors wrap
// ticket.ErrStoreUnavailable.
func (b *Bus) Subscribe(ctx context.Context, deliver func(ticket.Revocation), catchUp func()) error {
	if err := ctx.Err(); err != nil {
		return unavailable("subscribe", err)
	}
	ps := b.client.Subscribe(ctx, b.channel)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return unavailable("subscribe", err)
	}
	// With subscriptions: the confirmation of each re-subscription
	// tells of an interruption. The first was read above.
	ch := ps.ChannelWithSubscriptions()
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
				switch m := m.(type) {
				case *redis.Subscription:
					if m.Kind == "subscribe" && catchUp != nil {
						catchUp()
					}
				case *redis.Message:
					if r, ok := decode(m.Payload); ok {
						deliver(r)
					}
				}
			}
		}
	}()
	return nil
}

// decode reads a message, reporting false for one to drop.
func decode(payload string) (ticket.Revocation, bool) {
	var m message
	if json.Unmarshal([]byte(payload), &m) != nil {
		return ticket.Revocation{}, false
	}
	r := ticket.Revocation{Subject: m.Subject, Reason: m.Reason}
	if m.At > 0 {
		r.At = time.UnixMilli(m.At)
	}
	if m.ID != "" {
		id, err := hex.DecodeString(m.ID)
		if err != nil || len(id) != len(r.ID) {
			return ticket.Revocation{}, false
		}
		copy(r.ID[:], id)
	}
	if r.Subject == "" && r.ID == (ticket.Key{}) {
		return ticket.Revocation{}, false
	}
	return r, true
}
