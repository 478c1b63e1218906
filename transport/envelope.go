package transport

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/wsauth/wsauth/internal/wire"
)

// ParseEnvelope parses a per-message text frame {"token":T,"data":D}.
//
// The frame must be exactly one JSON object, with only whitespace around it,
// that encoding/json also considers valid. Keys are matched exactly (case
// matters; escaped spellings of "token" and "data" count). token must be a
// JSON string holding a valid credential written without escapes (JWTs
// never need any); data must be present and may be any JSON value. Other
// members are ignored. A duplicate token or data member is ErrMalformed,
// because two readers of the same frame could otherwise disagree about which
// one counts.
//
// A missing or empty token is ErrNoCredential; anything else wrong is
// ErrMalformed. data aliases b, without surrounding whitespace, and has its
// capacity clipped so appending to it never writes into b; copy it if b is
// reused.
func ParseEnvelope(b []byte) (token string, data json.RawMessage, err error) {
	tok, data, _, err := wire.ParseEnvelope(b, wire.Credential{})
	if err != nil {
		return "", nil, err
	}
	return string(tok), data, nil
}

// AppendEnvelope appends the text frame {"token":token,"data":data} to dst.
// token must be a valid credential and data valid JSON; whitespace around
// data is dropped, so ParseEnvelope returns data trimmed.
func AppendEnvelope(dst []byte, token string, data json.RawMessage) ([]byte, error) {
	if err := wire.CheckCredential("envelope", token); err != nil {
		return dst, err
	}
	return appendEnvelope(dst, token, data)
}

// appendEnvelope is AppendEnvelope for a token checked already.
func appendEnvelope(dst []byte, token string, data json.RawMessage) ([]byte, error) {
	data, ok := wire.Value(data)
	if !ok {
		return dst, fmt.Errorf("transport: envelope: data is not valid JSON: %w", ErrMalformed)
	}
	dst = append(dst, `{"token":"`...)
	dst = append(dst, token...)
	dst = append(dst, `","data":`...)
	dst = append(dst, data...)
	return append(dst, '}'), nil
}

// ParseBinaryEnvelope parses a per-message binary frame: a big-endian
// uint16 token length N, N bytes of token, then the payload.
//
// A frame shorter than two bytes, or whose N runs past its end, is
// ErrMalformed; N == 0 is ErrNoCredential; a token that is not a valid
// credential is ErrMalformed. payload aliases b (capacity clipped) and may
// be empty.
func ParseBinaryEnvelope(b []byte) (token string, payload []byte, err error) {
	tok, payload, _, err := wire.ParseBinaryEnvelope(b, wire.Credential{})
	if err != nil {
		return "", nil, err
	}
	return string(tok), payload, nil
}

// AppendBinaryEnvelope appends a binary frame carrying token and payload to
// dst. The wire format could carry a 65535-byte token; this package stops at
// MaxCredentialLen.
func AppendBinaryEnvelope(dst []byte, token string, payload []byte) ([]byte, error) {
	if err := wire.CheckCredential("binary envelope", token); err != nil {
		return dst, err
	}
	return appendBinaryEnvelope(dst, token, payload), nil
}

// appendBinaryEnvelope is AppendBinaryEnvelope for a token checked already.
func appendBinaryEnvelope(dst []byte, token string, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(token)))
	dst = append(dst, token...)
	return append(dst, payload...)
}
