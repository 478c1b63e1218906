package wsauth

import (
	"context"
	"net/http"
	"net/netip"
)

// Peer is what a Verifier knows about who presents a credential.
type Peer struct {
	// Addr is the client address, after any trusted proxies
	// (Options.ClientIP).
	Addr netip.Addr
	// Request is the WebSocket upgrade request, with the credential
	// removed from its URL and headers. Verifiers must not read its body.
	Request *http.Request
}

// Verifier turns a presented credential into a Principal.
//
// Verify must be safe for concurrent use. It returns an error wrapping one
// of ErrMalformed, ErrInvalid, ErrExpired, ErrRevoked, ErrForbidden or
// ErrUnavailable; any other error is treated as ErrInvalid. An error must
// never contain the credential. A Principal without a Subject, or past its
// ExpiresAt, is refused whatever the error.
type Verifier interface {
	Verify(ctx context.Context, credential string, peer Peer) (Principal, error)
}

// VerifierFunc adapts a function to the Verifier interface.
type VerifierFunc func(ctx context.Context, credential string, peer Peer) (Principal, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, credential string, peer Peer) (Principal, error) {
	return f(ctx, credential, peer)
}

// StableVerifier is an optional interface of a Verifier whose answer for a
// credential does not change before the Principal's ExpiresAt, such as a
// JWT verifier (a signature stays valid) and unlike a ticket verifier (a
// ticket is single-use). On a PerMessage connection, a frame repeating the
// credential last verified is then given that Principal without calling
// Verify, the revocation list or the Authorizer again; revocations close
// such connections instead (Registry).
type StableVerifier interface {
	Verifier
	// Stable reports whether Verify's answer for credential, which it has
	// just accepted, holds until the Principal's ExpiresAt. If so it
	// returns a copy of credential that the connection keeps to compare
	// later frames with; it may be shared (a cache's own copy), so that a
	// connection holds no copy of its own.
	Stable(credential string) (string, bool)
}

// Authorizer decides whether an authenticated principal may use the route
// of r, for example join the room named in its path. It runs after
// authentication on every strategy, and again for every later credential a
// connection presents (refresh frames, new per-message tokens), with the
// connection's upgrade request. A nil error allows; an error refuses with
// 403 or 4403 unless it wraps another of this package's errors.
type Authorizer func(ctx context.Context, p Principal, r *http.Request) error
