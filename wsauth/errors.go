package wsauth

import (
	"errors"
	"net/http"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// Errors of this package, one per outcome a client can act on. Compare with
// errors.Is. Every refusal wraps exactly one of them; Event.Reason says
// more precisely why (see the table in the package doc). None contains a
// credential.
var (
	// ErrMalformed: the credential, or the frame carrying it, does not
	// follow the wire format (also: an auth frame over the read limit, no
	// acceptable subprotocol).
	ErrMalformed = errors.New("wsauth: malformed credential")
	// ErrInvalid: no credential, or one the Verifier does not accept.
	ErrInvalid = errors.New("wsauth: invalid credential")
	// ErrExpired: the credential is authentic but expired.
	ErrExpired = errors.New("wsauth: credential expired")
	// ErrRevoked: the credential, or its subject, was revoked.
	ErrRevoked = errors.New("wsauth: credential revoked")
	// ErrForbidden: authenticated, but not allowed here (the Authorizer
	// said no, a later credential named another subject, or the request
	// came from a foreign origin).
	ErrForbidden = errors.New("wsauth: forbidden")
	// ErrTimeout: no auth frame arrived in time.
	ErrTimeout = errors.New("wsauth: no authentication in time")
	// ErrRateLimited: the client's address has failed too often; the
	// credential was not looked at.
	ErrRateLimited = errors.New("wsauth: too many attempts")
	// ErrUnavailable: the credential could not be checked on the server's
	// side (a store outage, a panic in a Verifier or Authorizer).
	ErrUnavailable = errors.New("wsauth: authentication unavailable")
)

// kind is why an attempt was refused or a connection ended: a row of
// refusals.
type kind uint8

const (
	kindInvalid kind = iota // the default for errors of unknown origin
	kindMalformed
	kindTooLarge
	kindSubprotocol
	kindNoCredential
	kindExpired
	kindRevoked
	kindForbidden
	kindSubjectChanged
	kindOrigin
	kindTimeout
	kindRateLimited
	kindUnavailable
	kindInternal
	kindUpgrade
	numKinds
)

// refusal is how one kind of refusal is reported, in one place: the wire
// (HTTP status before the upgrade, close code after it, the fixed text of
// both), the failure budget, and the stable reason of events.
type refusal struct {
	reason   string // Event.Reason: stable, fit for a metrics label
	sentinel error
	status   int
	code     websocket.StatusCode
	text     string // HTTP body and close reason: short, fixed, no credential
	spends   bool   // counts against the client address's failure budget
}

var refusals = [numKinds]refusal{
	kindInvalid:        {"invalid", ErrInvalid, http.StatusUnauthorized, transport.CloseUnauthenticated, "invalid credential", true},
	kindMalformed:      {"malformed", ErrMalformed, http.StatusUnauthorized, transport.CloseMalformed, "malformed credential", true},
	kindTooLarge:       {"too_large", ErrMalformed, http.StatusRequestEntityTooLarge, websocket.StatusMessageTooBig, "auth message too large", true},
	kindSubprotocol:    {"subprotocol", ErrMalformed, http.StatusBadRequest, websocket.StatusProtocolError, "no acceptable subprotocol", false},
	kindNoCredential:   {"no_credential", ErrInvalid, http.StatusUnauthorized, transport.CloseUnauthenticated, "no credential", true},
	kindExpired:        {"expired", ErrExpired, http.StatusUnauthorized, transport.CloseUnauthenticated, "credential expired", true},
	kindRevoked:        {"revoked", ErrRevoked, http.StatusUnauthorized, transport.CloseUnauthenticated, "credential revoked", true},
	kindForbidden:      {"forbidden", ErrForbidden, http.StatusForbidden, transport.CloseForbidden, "forbidden", true},
	kindSubjectChanged: {"subject_changed", ErrForbidden, http.StatusForbidden, transport.CloseForbidden, "subject changed", true},
	kindOrigin:         {"origin", ErrForbidden, http.StatusForbidden, websocket.StatusPolicyViolation, "cross-origin request refused", false},
	kindTimeout:        {"timeout", ErrTimeout, http.StatusRequestTimeout, transport.CloseAuthTimeout, "authentication timeout", true},
	kindRateLimited:    {"rate_limited", ErrRateLimited, http.StatusTooManyRequests, transport.CloseTooManyAttempts, "too many attempts", false},
	kindUnavailable:    {"unavailable", ErrUnavailable, http.StatusServiceUnavailable, websocket.StatusInternalError, "authentication unavailable", false},
	kindInternal:       {"internal", ErrUnavailable, http.StatusInternalServerError, websocket.StatusInternalError, "internal error", false},
	// Not a WebSocket handshake, or one the library refused: it has
	// answered with an HTTP error itself.
	kindUpgrade: {"upgrade", ErrMalformed, http.StatusBadRequest, 0, "not a WebSocket handshake", false},
}

// failure is a refusal of a known kind. Its text is the kind's fixed text,
// then the cause's, which never holds a credential either; errors.Is finds
// the kind's sentinel and anything the cause wraps.
type failure struct {
	k     kind
	cause error
}

func fail(k kind, cause error) error { return &failure{k: k, cause: cause} }

func (f *failure) Error() string {
	if f.cause == nil || f.cause == refusals[f.k].sentinel {
		return "wsauth: " + refusals[f.k].text
	}
	return "wsauth: " + refusals[f.k].text + ": " + f.cause.Error()
}

func (f *failure) Unwrap() []error {
	if f.cause == nil {
		return []error{refusals[f.k].sentinel}
	}
	return []error{refusals[f.k].sentinel, f.cause}
}

// kindOf classifies any error. Errors that are not this package's (a
// Verifier that returns its own) are invalid credentials: refusal is the
// default.
func kindOf(err error) kind {
	if f, ok := err.(*failure); ok {
		return f.k // the common case, without errors.As's allocation
	}
	if err == nil {
		return kindInvalid
	}
	var f *failure
	if errors.As(err, &f) {
		return f.k
	}
	for _, k := range [...]kind{kindMalformed, kindExpired, kindRevoked, kindForbidden, kindTimeout, kindRateLimited, kindUnavailable} {
		if errors.Is(err, refusals[k].sentinel) {
			return k
		}
	}
	return kindInvalid
}

// refusalOf is the row of err.
func refusalOf(err error) refusal { return refusals[kindOf(err)] }
