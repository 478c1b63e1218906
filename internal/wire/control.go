package wire

import (
	"encoding/json"
	"fmt"
)

// ParseControl parses a control frame {"type":T,"token":C}: exactly one
// JSON object that encoding/json also considers valid; type a non-empty
// string, token a string holding a valid credential written without
// escapes. Other members are ignored; a duplicate type or token is
// ErrMalformed. A missing or empty token is ErrNoCredential, with typ still
// returned so that a caller can tell what kind of frame lacked it. The
// length of b is the caller's to bound (a connection's read limit).
func ParseControl(b []byte) (typ, token string, err error) {
	var s objectScanner
	if err := s.start(b, "control"); err != nil {
		return "", "", err
	}
	var tok []byte
	haveType, haveTok := false, false
	for {
		key, esc, ok, err := s.key()
		if err != nil {
			return "", "", err
		}
		if !ok {
			break
		}
		switch {
		case keyIs(key, esc, "type"):
			if haveType {
				return "", "", s.errorf("duplicate type")
			}
			haveType = true
			val, err := s.value()
			if err != nil {
				return "", "", err
			}
			// val is valid JSON; Unmarshal undoes any escapes in a string
			// and rejects anything else.
			if val[0] != '"' || json.Unmarshal(val, &typ) != nil {
				return "", "", s.errorf("type is not a string")
			}
		case keyIs(key, esc, "token"):
			if haveTok {
				return "", "", s.errorf("duplicate token")
			}
			haveTok = true
			if tok, err = s.credential("token"); err != nil {
				return "", "", err
			}
		default:
			if _, err := s.value(); err != nil {
				return "", "", err
			}
		}
	}
	if typ == "" {
		return "", "", s.errorf("missing or empty type")
	}
	if len(tok) == 0 {
		return typ, "", fmt.Errorf("transport: control: missing or empty token: %w", ErrNoCredential)
	}
	return typ, string(tok), nil
}
