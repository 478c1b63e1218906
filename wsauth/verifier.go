package wsauth

import (
	"context"
	"net/http"
	"net/netip"
)

// Peer is what a Verifier knows about who presents a credential.
type Peer struct {
	// Addr is the client address, after any trusted proxies.
	Addr netip.Addr
	// Scope is the scope the route asks for (Options.Scope), such as a
	// room name; empty if the route asks for none.
	Scope string
	// Request is the WebSocket upgrade request. Verifiers must not read
	// its body.
	Request *http.Request
}

// Verifier turns a presented credential into a Principal.
//
// Verify must be safe for concurrent use. It returns an error wrapping one
// of ErrMalformed, ErrInvalid, ErrExpired, ErrForbidden or ErrUnavailable;
// any other error is treated as ErrInvalid. An error must never contain the
// credential.
type Verifier interface {
	Verify(ctx context.Context, credential string, peer Peer) (Principal, error)
}

// VerifierFunc adapts a function to the Verifier interface.
type VerifierFunc func(ctx context.Context, credential string, peer Peer) (Principal, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, credential string, peer Peer) (Principal, error) {
	return f(ctx, credential, peer)
}

// Authorizer decides whether an authenticated principal may use the route
// of r, for example join the room named in its path. It runs after
// authentication on every strategy. A nil error allows; an error refuses
// with 403 or 4403 unless it wraps another of this package's errors.
type Authorizer func(ctx context.Context, p Principal, r *http.Request) error
