package wire

import (
	"encoding/binary"
	"fmt"
)

// ParseEnvelope parses a per-message text frame {"token":T,"data":D} and
// returns the token and data as slices of b, capacities clipped. A token
// equal to known is compared rather than checked byte by byte, and same
// reports it; the zero Credential knows no token, and token, data and err
// are the same whatever known is. transport.ParseEnvelope documents the
// rules.
func ParseEnvelope(b []byte, known Credential) (token, data []byte, same bool, err error) {
	if k := known.s; k != "" {
		if token, data, ok := knownEnvelope(b, k); ok {
			return token, data, true, nil
		}
	}
	var s objectScanner
	if err := s.start(b, "envelope"); err != nil {
		return nil, nil, false, err
	}
	s.known = known.s
	var tok []byte
	haveTok, haveData := false, false
	for {
		key, esc, ok, err := s.key()
		if err != nil {
			return nil, nil, false, err
		}
		if !ok {
			break
		}
		switch {
		case keyIs(key, esc, "token"):
			if haveTok {
				return nil, nil, false, s.errorf("duplicate token")
			}
			haveTok = true
			if tok, err = s.credential("token"); err != nil {
				return nil, nil, false, err
			}
		case keyIs(key, esc, "data"):
			if haveData {
				return nil, nil, false, s.errorf("duplicate data")
			}
			haveData = true
			if data, err = s.value(); err != nil {
				return nil, nil, false, err
			}
		default:
			if _, err := s.value(); err != nil {
				return nil, nil, false, err
			}
		}
	}
	if len(tok) == 0 {
		return nil, nil, false, fmt.Errorf("transport: envelope: missing or empty token: %w", ErrNoCredential)
	}
	if !haveData {
		return nil, nil, false, s.errorf("missing data")
	}
	return tok[:len(tok):len(tok)], data, s.same, nil
}

// The envelope as the clients write it (transport.AppendEnvelope, the
// JavaScript client): the token first, then the data, nothing else.
const envelopeHead, envelopeMid = `{"token":"`, `","data":`

// knownEnvelope parses b when it is known's envelope as the clients write
// it, whitespace after the data aside: three comparisons and the data's
// scan, where the general parser scans every key. Anything else, ok
// false, is left to the general parser, whose answer it would be.
func knownEnvelope(b []byte, known string) (token, data []byte, ok bool) {
	t := len(envelopeHead)
	d := t + len(known) + len(envelopeMid)
	if len(b) <= d || string(b[:t]) != envelopeHead || string(b[t:t+len(known)]) != known || string(b[t+len(known):d]) != envelopeMid {
		return nil, nil, false
	}
	i := skipWS(b, d)
	end, ok := scanValue(b, i)
	if !ok {
		return nil, nil, false
	}
	if j := skipWS(b, end); j >= len(b) || b[j] != '}' || skipWS(b, j+1) != len(b) {
		return nil, nil, false
	}
	n := t + len(known)
	return b[t:n:n], b[i:end:end], true
}

// ParseBinaryEnvelope parses a per-message binary frame, a big-endian
// uint16 token length N, N bytes of token, then the payload, as
// ParseEnvelope does a text one. transport.ParseBinaryEnvelope documents
// the rules.
func ParseBinaryEnvelope(b []byte, known Credential) (token, payload []byte, same bool, err error) {
	if len(b) < 2 {
		return nil, nil, false, fmt.Errorf("transport: binary envelope: shorter than its 2-byte length prefix: %w", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(b))
	if n == 0 {
		return nil, nil, false, fmt.Errorf("transport: binary envelope: empty token: %w", ErrNoCredential)
	}
	if n > len(b)-2 {
		return nil, nil, false, fmt.Errorf("transport: binary envelope: token length %d exceeds frame: %w", n, ErrMalformed)
	}
	tok := b[2 : 2+n]
	// Equal to a checked credential (known.s is never "": n > 0), or
	// checked here.
	same = string(tok) == known.s
	if !same {
		if err := CheckCredential("binary envelope", tok); err != nil {
			return nil, nil, false, err
		}
	}
	return tok[:n:n], b[2+n : len(b) : len(b)], same, nil
}
