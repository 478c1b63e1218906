package transport

import (
	"errors"
	"strings"

	"github.com/wsauth/wsauth/internal/wire"
)

// ErrNoCredential reports that the carrier holds no credential: the query
// parameter, subprotocol entry or token field is missing or empty. Servers
// usually answer it with 401 or close code 4401.
var ErrNoCredential = wire.ErrNoCredential

// ErrMalformed reports that a credential, or the frame or header carrying
// it, does not follow the wire format. Servers usually answer it with 400 or
// close code 4400. Errors wrapping it describe what was wrong and where, but
// never repeat the input.
var ErrMalformed = wire.ErrMalformed

// ErrProtocolNotNegotiated reports that the server accepted a subprotocol
// handshake without selecting one of the offered application protocols
// (or selected the credential entry itself). A browser fails such a
// connection, so DialSubprotocol does too.
var ErrProtocolNotNegotiated = errors.New("transport: subprotocol not negotiated")

// ErrUnexpectedReply reports that the server answered the first-message
// auth frame with something other than an auth_ok frame.
var ErrUnexpectedReply = errors.New("transport: unexpected reply to auth frame")

// redactedError hides secrets in the text of an error from a lower layer
// (net/http puts the whole URL, query included, in *url.Error) while keeping
// the chain intact for errors.Is and errors.As.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	s := e.err.Error()
	for _, sec := range e.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func (e *redactedError) Unwrap() error { return e.err }

// redact wraps err so that its text contains none of secrets. A nil err
// stays nil.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, secrets: secrets}
}
