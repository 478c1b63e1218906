package wsauth

import (
	"context"
	"slices"
	"time"
)

// Principal is who a connection, or in per-message mode one frame, was
// authenticated as.
type Principal struct {
	// Subject identifies the user (a ticket's subject, a JWT's "sub").
	Subject string
	// ExpiresAt is when the credential stops being valid. The zero time
	// means no expiry; otherwise the connection is closed with 4401 at
	// that moment unless it is refreshed.
	ExpiresAt time.Time
	// Scope lists what the credential allows, such as rooms or channels.
	Scope []string
	// Claims holds what the verifier knew: ticket metadata or JWT claims.
	// It never holds the credential itself.
	Claims map[string]any
}

// Allows reports whether p's scope contains s.
func (p Principal) Allows(s string) bool { return slices.Contains(p.Scope, s) }

type principalKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal stored in ctx by Handler or
// Middleware, and whether there was one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
