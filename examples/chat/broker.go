package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sync"

	"github.com/redis/go-redis/v9"
)

// A broker carries chat messages to every node. The node that receives a
// message from a client publishes it; every node delivers what the broker
// hands it, its own messages included, so nothing is delivered twice.
type broker interface {
	publish(ctx context.Context, msg chatMessage) error
	close() error
}

// localBroker is the single-node broker: publishing is delivering.
type localBroker struct{ hub *hub }

func (b localBroker) publish(_ context.Context, msg chatMessage) error {
	p, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	b.hub.deliver(msg.Room, p)
	return nil
}

func (localBroker) close() error { return nil }

// redisChannel is the Redis pub/sub channel all nodes share. One channel
// for every room keeps subscriptions fixed; each node filters by room in
// its hub, which costs little at chat volumes.
const redisChannel = "wsauth:chat:messages"

// redisBroker fans messages out over Redis pub/sub.
type redisBroker struct {
	client redis.UniversalClient
	ps     *redis.PubSub
	done   chan struct{}
	once   sync.Once
}

// newRedisBroker subscribes and returns once the subscription is live, so
// that no message published after it returns is missed.
func newRedisBroker(ctx context.Context, client redis.UniversalClient, h *hub, logger *log.Logger) (*redisBroker, error) {
	ps := client.Subscribe(ctx, redisChannel)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return nil, fmt.Errorf("subscribe to %s: %w", redisChannel, err)
	}
	b := &redisBroker{client: client, ps: ps, done: make(chan struct{})}
	ch := ps.Channel()
	go func() {
		defer close(b.done)
		for m := range ch {
			var msg struct {
				Room string `json:"room"`
			}
			if err := json.Unmarshal([]byte(m.Payload), &msg); err != nil || msg.Room == "" {
				logger.Printf("redis: dropping a malformed message on %s", redisChannel)
				continue
			}
			h.deliver(msg.Room, []byte(m.Payload))
		}
	}()
	return b, nil
}

func (b *redisBroker) publish(ctx context.Context, msg chatMessage) error {
	p, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return b.client.Publish(ctx, redisChannel, p).Err()
}

// close ends the subscription and waits for its goroutine.
func (b *redisBroker) close() error {
	var err error
	b.once.Do(func() {
		err = b.ps.Close()
		<-b.done
	})
	return err
}
