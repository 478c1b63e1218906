package wsauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wsauth/wsauth/ticket"
)

// RevocationBus carries revocations between the nodes of a cluster, so
// that Registry.Revoke on one node closes the subject's connections on
// all of them. redisstore.Bus is one, over Redis Pub/Sub.
//
// Delivery may be at most once: a node that is cut off from the bus when
// a revocation is published misses it. Keep credentials short-lived, and
// deny revoked token IDs (Registry.RevokeToken), to cover that gap.
type RevocationBus interface {
	// Publish announces to every node, this one included, that subject's
	// connections are revoked for reason.
	Publish(ctx context.Context, subject, reason string) error

	// Subscribe calls fn for each revocation published on any node until
	// ctx is done. It returns once the subscription is in place, so that
	// every revocation published afterwards is seen, or with an error.
	// fn is called from one goroutine at a time.
	Subscribe(ctx context.Context, fn func(subject, reason string)) error
}

// RegistryOptions configures NewRegistry. The zero value, and nil, give a
// registry of this node's connections alone, without a deny list.
type RegistryOptions struct {
	// Bus, if set, carries revocations to and from other nodes; call
	// Registry.Listen to receive them.
	Bus RevocationBus

	// Denylist, if set, holds revoked token IDs (RevokeToken). Strategies
	// whose Options.Registry is this registry refuse, at connect and at
	// refresh, a principal whose "jti" claim (a string) is on it, with
	// 401 or 4401; if the list cannot be consulted they refuse with
	// ErrUnavailable. memstore and redisstore stores are deny lists.
	Denylist ticket.Denylist
}

// Registry holds the live connections of one node by subject, so that
// they can be revoked: set it as Options.Registry of each strategy.
//
// A Conn is registered when it is accepted and removed when it is closed,
// expires, is revoked, or a Read or Write on it fails (the peer is gone).
// A Conn its handler neither reads, writes nor closes stays until then:
// Handler always closes. A Registry is safe for concurrent use.
type Registry struct {
	bus  RevocationBus
	deny ticket.Denylist

	mu    sync.Mutex
	conns map[string]map[*Conn]struct{}
	n     int
}

// NewRegistry returns an empty Registry configured by opts, which may be
// nil.
func NewRegistry(opts *RegistryOptions) *Registry {
	r := &Registry{conns: make(map[string]map[*Conn]struct{})}
	if opts != nil {
		r.bus, r.deny = opts.Bus, opts.Denylist
	}
	return r
}

// Listen subscribes to the bus, so that revocations published on other
// nodes close connections here too, until ctx is done. It returns once
// subscribed. Without a bus it does nothing.
func (r *Registry) Listen(ctx context.Context) error {
	if r.bus == nil {
		return nil
	}
	if err := r.bus.Subscribe(ctx, func(subject, reason string) { r.revokeLocal(subject, reason) }); err != nil {
		return fmt.Errorf("wsauth: registry: subscribe: %w", err)
	}
	return nil
}

// Revoke closes every connection of subject with 4401 and reason (cut to
// a valid close reason; "revoked" if empty): first on this node, then
// through the bus on every other. An error means the bus could not be
// told; the connections here are closed regardless. New connections are
// not refused: stop issuing the subject credentials, or RevokeToken them.
func (r *Registry) Revoke(ctx context.Context, subject, reason string) error {
	r.revokeLocal(subject, reason)
	if r.bus == nil {
		return nil
	}
	if err := r.bus.Publish(ctx, subject, reason); err != nil {
		return fmt.Errorf("wsauth: revoke: publish: %w", err)
	}
	return nil
}

// RevokeToken puts the token ID jti (a JWT's "jti" claim) on the deny list
// until until, its expiry, after which it is refused anyway. Connections
// then refuse the token at connect and at refresh, on every node that
// shares the list. Live connections are not closed: Revoke their subject
// for that. Without RegistryOptions.Denylist it returns an error.
func (r *Registry) RevokeToken(ctx context.Context, jti string, until time.Time) error {
	if r.deny == nil {
		return errors.New("wsauth: revoke token: registry has no Denylist")
	}
	if jti == "" {
		return errors.New("wsauth: revoke token: empty token ID")
	}
	if err := r.deny.Deny(ctx, ticket.DenyKey(jti), until); err != nil {
		return fmt.Errorf("wsauth: revoke token: %w", err)
	}
	return nil
}

// Len returns the number of live connections registered.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Count returns the number of live connections of subject.
func (r *Registry) Count(subject string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns[subject])
}

func (r *Registry) add(c *Conn) {
	sub := c.Principal().Subject
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.conns[sub]
	if set == nil {
		set = make(map[*Conn]struct{})
		r.conns[sub] = set
	}
	set[c] = struct{}{}
	r.n++
}

func (r *Registry) remove(c *Conn) {
	sub := c.Principal().Subject
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.conns[sub]
	if _, ok := set[c]; !ok {
		return
	}
	delete(set, c)
	r.n--
	if len(set) == 0 {
		delete(r.conns, sub)
	}
}

// revokeLocal closes this node's connections of subject.
func (r *Registry) revokeLocal(subject, reason string) {
	r.mu.Lock()
	set := r.conns[subject]
	delete(r.conns, subject)
	r.n -= len(set)
	r.mu.Unlock()
	reason = closeReason(reason)
	for c := range set {
		c.revoke(reason)
	}
}

// checkDenied refuses p if its token ID is on the deny list.
func (r *Registry) checkDenied(ctx context.Context, p Principal) error {
	if r == nil || r.deny == nil {
		return nil
	}
	jti, _ := p.Claims["jti"].(string)
	if jti == "" {
		return nil
	}
	denied, err := r.deny.Denied(ctx, ticket.DenyKey(jti))
	switch {
	case err != nil:
		return fmt.Errorf("%w: deny list: %w", ErrUnavailable, err)
	case denied:
		return ErrRevoked
	}
	return nil
}

// maxCloseReason is the longest close reason a close frame can carry.
const maxCloseReason = 123

// closeReason makes s a safe close reason: printable UTF-8 of at most 123
// bytes, cut at a rune boundary; "revoked" if nothing is left.
func closeReason(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxCloseReason {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return reasonRevoked
	}
	return b.String()
}

// reasonRevoked is the close reason of a revoked connection that its
// handler closes before the revocation's own close frame went out.
const reasonRevoked = "revoked"

// revoke closes c with 4401, once; r has already forgotten it.
func (c *Conn) revoke(reason string) {
	if c.expired.Load() || c.revoked.Swap(true) {
		return
	}
	c.stopTimer()
	c.opts.emit(c.eventCtx(), Event{Kind: EventRevoked, Subject: c.Principal().Subject, Addr: c.peer.Addr, Code: CloseUnauthenticated, Err: ErrRevoked})
	go c.ws.Close(CloseUnauthenticated, reason)
}

// unregister removes c from its registry, if any; it is idempotent.
func (c *Conn) unregister() {
	if r := c.opts.Registry; r != nil {
		r.remove(c)
	}
}
