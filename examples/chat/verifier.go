package main

import (
	"context"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/wsauth"
)

// eitherVerifier accepts a ticket or an access token, for the endpoints
// where a client may present either (/ws/first-message,
// /ws/subprotocol). A ticket is 43 characters of base64url; a JWT always
// contains dots, so the two can never be mistaken for each other.
type eitherVerifier struct {
	tickets wsauth.Verifier
	tokens  wsauth.Verifier
}

func (v eitherVerifier) Verify(ctx context.Context, cred string, peer wsauth.Peer) (wsauth.Principal, error) {
	if len(cred) == ticket.IDLen {
		if _, err := ticket.KeyOf(cred); err == nil {
			return v.tickets.Verify(ctx, cred, peer)
		}
	}
	// Tickets are scoped to a room, access tokens are not: the Authorizer
	// checks the room for both.
	return v.tokens.Verify(ctx, cred, peer)
}
