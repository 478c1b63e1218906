package jwtverify

import (
	"context"
	"errors"
	"net"
	"net/url"

	"github.com/wsauth/wsauth/wsauth"
)

// refusal is an error of Verify: a fixed text, never the token, a claim or
// a Keyfunc's error, and one of wsauth's sentinels to compare with.
type refusal struct {
	sentinel error
	text     string
}

func refuse(sentinel error, why string) *refusal {
	return &refusal{sentinel: sentinel, text: "jwtverify: " + why}
}

func (r *refusal) Error() string { return r.text }
func (r *refusal) Unwrap() error { return r.sentinel }

// Refusals, one per reason. They are values, so refusing allocates no error.
var (
	errNoToken        = refuse(wsauth.ErrInvalid, "no token")
	errTooLarge       = refuse(wsauth.ErrInvalid, "token too large")
	errExpired        = refuse(wsauth.ErrExpired, "token expired")
	errKeyUnavailable = refuse(wsauth.ErrUnavailable, "key source unavailable")
	errUnknownKey     = refuse(wsauth.ErrInvalid, "unknown key")
	errKeyType        = refuse(wsauth.ErrInvalid, "key does not fit algorithm")
	errKeyLookup      = refuse(wsauth.ErrInvalid, "key lookup failed")
	errCrit           = refuse(wsauth.ErrInvalid, "unsupported crit header")
	errMalformed      = refuse(wsauth.ErrInvalid, "malformed token")
	errAlg            = refuse(wsauth.ErrInvalid, "algorithm not allowed")
	errSignature      = refuse(wsauth.ErrInvalid, "bad signature")
	errMissingClaim   = refuse(wsauth.ErrInvalid, "missing required claim")
	errIssuer         = refuse(wsauth.ErrInvalid, "wrong issuer")
	errAudience       = refuse(wsauth.ErrInvalid, "wrong audience")
	errNotYet         = refuse(wsauth.ErrInvalid, "token not valid yet")
	errClaimType      = refuse(wsauth.ErrInvalid, "malformed claim")
	errClaims         = refuse(wsauth.ErrInvalid, "invalid claims")
	errNoSubject      = refuse(wsauth.ErrInvalid, "no valid sub")
	errNoExpiry       = refuse(wsauth.ErrInvalid, "missing exp")
	errScope          = refuse(wsauth.ErrInvalid, "malformed scope claim")
)

// keyfuncRefusal maps an error of the Keyfunc to a refusal. An error that
// is not the token's fault, but the key source's (a store or network
// outage, a timeout), refuses with ErrUnavailable, so that the client is
// asked to come back rather than charged for a bad credential; anything
// else, with ErrInvalid. The Keyfunc's own text is dropped: it may quote
// the token's header, or name internal hosts.
func keyfuncRefusal(err error) *refusal {
	if sourceDown(err) {
		return errKeyUnavailable
	}
	if errors.Is(err, errUnknownKey) { // from Keys
		return errUnknownKey
	}
	return errKeyLookup
}

// sourceDown reports whether err says the key source failed: it wraps
// wsauth.ErrUnavailable, a net.Error, a *url.Error (what net/http's Client
// returns), context.DeadlineExceeded or context.Canceled.
func sourceDown(err error) bool {
	if errors.Is(err, wsauth.ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue)
}
