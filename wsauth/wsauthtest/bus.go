package wsauthtest

import (
	"context"
	"errors"
	"sync"

	"github.com/wsauth/wsauth/ticket"
)

// Bus is an in-process ticket.Bus: registries sharing one Bus behave as the
// nodes of one cluster, without Redis. Cut and Restore interrupt it, as a
// network partition would. The zero value is ready to use; a Bus is safe
// for concurrent use.
type Bus struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	cut  bool
}

type subscriber struct {
	mu      sync.Mutex // one call at a time
	deliver func(ticket.Revocation)
	catchUp func()
}

// errCut is what Publish returns while the Bus is cut.
var errCut = errors.New("wsauthtest: bus is cut")

// Publish hands r to every subscriber before it returns. While the Bus is
// cut, nobody gets it and Publish fails, as a publisher cut off from Redis
// would.
func (b *Bus) Publish(ctx context.Context, r ticket.Revocation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	if b.cut {
		b.mu.Unlock()
		return errCut
	}
	subs := make([]*subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		s.deliver(r)
		s.mu.Unlock()
	}
	return nil
}

// Subscribe registers deliver and catchUp until ctx is done.
func (b *Bus) Subscribe(ctx context.Context, deliver func(ticket.Revocation), catchUp func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &subscriber{deliver: deliver, catchUp: catchUp}
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

// Cut interrupts the Bus: until Restore, revocations published reach no
// node.
func (b *Bus) Cut() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cut = true
}

// Restore ends a Cut and, before it returns, calls the catchUp function of
// every subscriber, as a subscription re-established after an interruption
// does.
func (b *Bus) Restore() {
	b.mu.Lock()
	b.cut = false
	subs := make([]*subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		s.catchUp()
		s.mu.Unlock()
	}
}
