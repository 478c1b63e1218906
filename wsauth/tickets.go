package wsauth

import (
	"context"
	"errors"
	"net/http"

	"github.com/wsauth/wsauth/ticket"
)

// Tickets returns a Verifier that redeems single-use tickets with r: each
// ticket admits one connection, from the address it was issued to, for a
// route its scope covers. scope, if not nil, returns the scope a request
// asks for, such as the room in its path (func(r *http.Request) string {
// return r.PathValue("room") }); nil asks for none.
//
// The Principal has the ticket's subject, issue time and scope, its
// metadata as Claims, and no expiry: a ticket authenticates the
// handshake, not the connection's lifetime. It panics if r or its Store is
// nil, which can only be a programming error.
func Tickets(r *ticket.Redeemer, scope func(*http.Request) string) Verifier {
	if r == nil || r.Store == nil {
		panic("wsauth: Tickets needs a Redeemer with a Store")
	}
	return VerifierFunc(func(ctx context.Context, cred string, peer Peer) (Principal, error) {
		var want string
		if scope != nil && peer.Request != nil {
			want = scope(peer.Request)
		}
		t, err := r.Redeem(ctx, cred, peer.Addr, want)
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
		return Principal{Subject: t.Subject, IssuedAt: t.IssuedAt, Scope: t.Scope, Claims: claims}, nil
	})
}

func ticketErr(err error) error {
	switch {
	case errors.Is(err, ticket.ErrStoreUnavailable):
		return fail(kindUnavailable, err)
	case errors.Is(err, ticket.ErrMalformed):
		return fail(kindMalformed, err)
	case errors.Is(err, ticket.ErrExpired):
		return fail(kindExpired, err)
	case errors.Is(err, ticket.ErrScope):
		return fail(kindForbidden, err)
	}
	return fail(kindInvalid, err)
}
