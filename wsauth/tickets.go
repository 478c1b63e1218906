package wsauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/wsauth/wsauth/ticket"
)

// Tickets returns a Verifier that redeems single-use tickets with r: each
// ticket admits one connection, from the address it was issued to, for a
// route its scope covers (Options.Scope).
//
// The Principal has the ticket's subject and scope, its metadata as
// Claims, and no expiry: a ticket authenticates the handshake, not the
// connection's lifetime.
func Tickets(r *ticket.Redeemer) Verifier {
	if r == nil || r.Store == nil {
		panic("wsauth: Tickets needs a Redeemer with a Store")
	}
	return VerifierFunc(func(ctx context.Context, cred string, peer Peer) (Principal, error) {
		t, err := r.Redeem(ctx, cred, peer.Addr, peer.Scope)
		if err != nil {
			return Principal{}, ticketErr(err)
		}
		var claims map[string]any
		if len(t.Metadata) > 0 {
			claims = make(map[string]any, len(t.Metadata))
			for k, v := range t.Metadata {
				claims[k] = v
			}
		}
		return Principal{Subject: t.Subject, Scope: t.Scope, Claims: claims}, nil
	})
}

func ticketErr(err error) error {
	var sentinel error
	switch {
	case errors.Is(err, ticket.ErrStoreUnavailable):
		sentinel = ErrUnavailable
	case errors.Is(err, ticket.ErrExpired):
		sentinel = ErrExpired
	case errors.Is(err, ticket.ErrScope):
		sentinel = ErrForbidden
	default:
		sentinel = ErrInvalid
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
