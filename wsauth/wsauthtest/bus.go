package wsauthtest

import (
	"context"
	"sync"
)

// Bus is an in-process wsauth.RevocationBus: registries sharing one Bus
// behave as the nodes of one cluster, without Redis. The zero value is
// ready to use; a Bus is safe for concurrent use.
type Bus struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	mu sync.Mutex // one call of fn at a time
	fn func(subject, reason string)
}

// Publish calls every current subscriber's function before it returns.
func (b *Bus) Publish(ctx context.Context, subject, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	subs := make([]*subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		s.fn(subject, reason)
		s.mu.Unlock()
	}
	return nil
}

// Subscribe registers fn until ctx is done.
func (b *Bus) Subscribe(ctx context.Context, fn func(subject, reason string)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &subscriber{fn: fn}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[*subscriber]struct{})
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	})
	return nil
}
