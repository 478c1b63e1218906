package wsauth

import (
	"context"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// Principal is who a connection, or in per-message mode one frame, was
// authenticated as.
type Principal struct {
	// Subject identifies the user (a ticket's subject, a JWT's "sub").
	Subject string
	// IssuedAt is when the credential was issued (a ticket's issue time, a
	// JWT's "iat"); zero if unknown. Revocations compare against it: with
	// a Registry that keeps revocations, a credential with no IssuedAt is
	// refused, since nothing proves it was issued after a revocation.
	IssuedAt time.Time
	// ExpiresAt is when the credential stops being valid. The zero time
	// means no expiry; otherwise the connection is closed with 4401 at
	// that moment unless it is refreshed.
	ExpiresAt time.Time
	// Scope lists what the credential allows, such as rooms or channels.
	Scope []string
	// Claims holds what the Verifier knew: ticket metadata or JWT claims.
	// Two string claims are revocation IDs, which Registry.RevokeToken
	// revokes: "jti", the token's ID, and "sid", the ID of the session
	// the credential was issued for (every credential of a session ends
	// with it). It never holds the credential itself. Treat it as
	// read-only: a Verifier may share it between connections.
	Claims map[string]any
}

// revocationIDs are the IDs the credential can be revoked by
// (Registry.RevokeToken): its token ID ("jti") and its session ID ("sid",
// as OpenID Connect names it), each hashed; zero where it has none.
func (p *Principal) revocationIDs() [2]ticket.Key {
	var ids [2]ticket.Key
	for i, claim := range [2]string{"jti", "sid"} {
		if id, _ := p.Claims[claim].(string); id != "" {
			ids[i] = ticket.DenyKey(id)
		}
	}
	return ids
}

// principalKey is the context key of a connection's live principal.
type principalKey struct{}

// principalSource is what a context carries: the connection itself, so
// that PrincipalFrom sees a refresh.
type principalSource interface{ current() Principal }

func withPrincipal(ctx context.Context, src principalSource) context.Context {
	return context.WithValue(ctx, principalKey{}, src)
}

// PrincipalFrom returns the current Principal of the connection whose
// context ctx is (Handler's, or the request Middleware passes on), and
// whether there is one. After an in-band refresh it returns the new one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	src, ok := ctx.Value(principalKey{}).(principalSource)
	if !ok {
		return Principal{}, false
	}
	return src.current(), true
}
