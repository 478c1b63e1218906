package wsauth

import (
	"errors"
	"net/http"

	"github.com/coder/websocket"
)

// Close codes sent after the upgrade, following the graphql-ws convention.
const (
	// CloseMalformed: the auth message could not be parsed.
	CloseMalformed websocket.StatusCode = 4400
	// CloseUnauthenticated: no, an invalid or an expired credential.
	CloseUnauthenticated websocket.StatusCode = 4401
	// CloseForbidden: authenticated, but not allowed here.
	CloseForbidden websocket.StatusCode = 4403
	// CloseAuthTimeout: no auth message arrived in time.
	CloseAuthTimeout websocket.StatusCode = 4408
	// CloseTooManyAttempts: too many failed attempts from this client.
	CloseTooManyAttempts websocket.StatusCode = 4429
)

// Errors of this package. Compare with errors.Is; an *Error returned by
// Accept wraps one of them. None contains a credential.
var (
	ErrNoCredential = errors.New("wsauth: no credential")
	ErrMalformed    = errors.New("wsauth: malformed credential")
	ErrInvalid      = errors.New("wsauth: invalid credential")
	ErrExpired      = errors.New("wsauth: credential expired")
	ErrForbidden    = errors.New("wsauth: forbidden")
	ErrTimeout      = errors.New("wsauth: no authentication in time")
	ErrRateLimited  = errors.New("wsauth: too many attempts")
	// ErrUnavailable means the credential could not be checked (a store
	// outage); the connection is refused with 503 or 1011.
	ErrUnavailable = errors.New("wsauth: authentication unavailable")
	// ErrInternal means a verifier or authorizer panicked.
	ErrInternal = errors.New("wsauth: internal error")
	// ErrOrigin means a cross-origin upgrade was refused.
	ErrOrigin = errors.New("wsauth: cross-origin request refused")
	// ErrSubprotocol means the client offered no application subprotocol
	// the server accepts.
	ErrSubprotocol = errors.New("wsauth: no acceptable subprotocol")
	// ErrSubjectChanged means a later credential on one connection named
	// another subject.
	ErrSubjectChanged = errors.New("wsauth: subject changed")
	// ErrRevoked means the credential's token ID is on the deny list, or
	// the connection was closed by Registry.Revoke.
	ErrRevoked = errors.New("wsauth: credential revoked")
)

// Error is a refused authentication: what was sent to the client, and why.
type Error struct {
	// Status is the HTTP status answered before the upgrade, or 0 if the
	// connection was upgraded and then closed.
	Status int
	// Code is the close code sent after the upgrade, or that would have
	// been sent.
	Code websocket.StatusCode
	// Err is the cause; it wraps one of the package's sentinel errors.
	Err error
}

// Error returns the cause's message; it never contains a credential.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// class is how a refusal is reported on the wire.
type class struct {
	sentinel error
	status   int
	code     websocket.StatusCode
	reason   string // close reason and HTTP body: short, fixed, no credential
}

var classes = []class{
	{ErrMalformed, http.StatusUnauthorized, CloseMalformed, "malformed credential"},
	{ErrNoCredential, http.StatusUnauthorized, CloseUnauthenticated, "no credential"},
	{ErrExpired, http.StatusUnauthorized, CloseUnauthenticated, "credential expired"},
	{ErrRevoked, http.StatusUnauthorized, CloseUnauthenticated, "credential revoked"},
	{ErrSubjectChanged, http.StatusForbidden, CloseForbidden, "subject changed"},
	{ErrForbidden, http.StatusForbidden, CloseForbidden, "forbidden"},
	{ErrTimeout, http.StatusRequestTimeout, CloseAuthTimeout, "authentication timeout"},
	{ErrRateLimited, http.StatusTooManyRequests, CloseTooManyAttempts, "too many attempts"},
	{ErrUnavailable, http.StatusServiceUnavailable, websocket.StatusInternalError, "authentication unavailable"},
	{ErrInternal, http.StatusInternalServerError, websocket.StatusInternalError, "internal error"},
	{ErrOrigin, http.StatusForbidden, websocket.StatusPolicyViolation, "cross-origin request refused"},
	{ErrSubprotocol, http.StatusBadRequest, websocket.StatusProtocolError, "no acceptable subprotocol"},
	{ErrInvalid, http.StatusUnauthorized, CloseUnauthenticated, "invalid credential"},
}

// classify maps any error to its wire class; unknown errors are invalid
// credentials, so refusal is the default.
func classify(err error) class {
	for _, c := range classes {
		if errors.Is(err, c.sentinel) {
			return c
		}
	}
	return classes[len(classes)-1]
}
