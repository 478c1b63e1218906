package transport

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
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
	tok, data, err := ParseEnvelopeKnown(b, Credential{})
	if err != nil {
		return "", nil, err
	}
	return string(tok), data, nil
}

// ParseEnvelopeKnown is ParseEnvelope returning the token as a slice of b
// (capacity clipped), for a frame likely to carry known: a token equal to
// it is compared rather than checked byte by byte. The zero Credential
// knows no token. The result is the same whatever known is.
func ParseEnvelopeKnown(b []byte, known Credential) (token []byte, data json.RawMessage, err error) {
	s, err := newObjectScanner(b, "envelope")
	if err != nil {
		return nil, nil, err
	}
	s.known = known.s
	var tok []byte
	haveTok, haveData := false, false
	for {
		key, esc, ok, err := s.key()
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			break
		}
		switch {
		case keyIs(key, esc, "token"):
			if haveTok {
				return nil, nil, s.errorf("duplicate token")
			}
			haveTok = true
			if tok, err = s.credential("token"); err != nil {
				return nil, nil, err
			}
		case keyIs(key, esc, "data"):
			if haveData {
				return nil, nil, s.errorf("duplicate data")
			}
			haveData = true
			if data, err = s.value(); err != nil {
				return nil, nil, err
			}
		default:
			if _, err := s.value(); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(tok) == 0 {
		return nil, nil, fmt.Errorf("transport: envelope: missing or empty token: %w", ErrNoCredential)
	}
	if !haveData {
		return nil, nil, s.errorf("missing data")
	}
	return tok[:len(tok):len(tok)], data, nil
}

// AppendEnvelope appends the text frame {"token":token,"data":data} to dst.
// token must be a valid credential and data valid JSON; whitespace around
// data is dropped, so ParseEnvelope returns data trimmed.
func AppendEnvelope(dst []byte, token string, data json.RawMessage) ([]byte, error) {
	if err := checkCredential("envelope", token); err != nil {
		return dst, err
	}
	data = data[:skipWSBack(data)]
	data = data[skipWS(data, 0):]
	if len(data) == 0 || !json.Valid(data) {
		return dst, fmt.Errorf("transport: envelope: data is not valid JSON: %w", ErrMalformed)
	}
	dst = append(dst, `{"token":"`...)
	dst = append(dst, token...)
	dst = append(dst, `","data":`...)
	dst = append(dst, data...)
	return append(dst, '}'), nil
}

func skipWSBack(b []byte) int {
	i := len(b)
	for i > 0 {
		switch b[i-1] {
		case ' ', '\t', '\n', '\r':
			i--
		default:
			return i
		}
	}
	return i
}

// ParseBinaryEnvelope parses a per-message binary frame: a big-endian
// uint16 token length N, N bytes of token, then the payload.
//
// A frame shorter than two bytes, or whose N runs past its end, is
// ErrMalformed; N == 0 is ErrNoCredential; a token that is not a valid
// credential is ErrMalformed. payload aliases b (capacity clipped) and may
// be empty.
func ParseBinaryEnvelope(b []byte) (token string, payload []byte, err error) {
	tok, payload, err := ParseBinaryEnvelopeKnown(b, Credential{})
	if err != nil {
		return "", nil, err
	}
	return string(tok), payload, nil
}

// ParseBinaryEnvelopeKnown is ParseBinaryEnvelope returning the token as a
// slice of b (capacity clipped), for a frame likely to carry known, as
// ParseEnvelopeKnown.
func ParseBinaryEnvelopeKnown(b []byte, known Credential) (token []byte, payload []byte, err error) {
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("transport: binary envelope: shorter than its 2-byte length prefix: %w", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(b))
	if n == 0 {
		return nil, nil, fmt.Errorf("transport: binary envelope: empty token: %w", ErrNoCredential)
	}
	if n > len(b)-2 {
		return nil, nil, fmt.Errorf("transport: binary envelope: token length %d exceeds frame: %w", n, ErrMalformed)
	}
	tok := b[2 : 2+n]
	if string(tok) == known.s {
		// Equal to a checked credential (known.s is never "": n > 0).
	} else if err := checkCredential("binary envelope", tok); err != nil {
		return nil, nil, err
	}
	return tok[:n:n], b[2+n : len(b) : len(b)], nil
}

// AppendBinaryEnvelope appends a binary frame carrying token and payload to
// dst. The wire format could carry a 65535-byte token; this package stops at
// MaxCredentialLen.
func AppendBinaryEnvelope(dst []byte, token string, payload []byte) ([]byte, error) {
	if err := checkCredential("binary envelope", token); err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(token)))
	dst = append(dst, token...)
	return append(dst, payload...), nil
}
