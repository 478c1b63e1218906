package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
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
			var ok bool
			if typ, ok = controlType(val); !ok {
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

// controlType reads a control frame's type from val, a JSON value already
// scanned as valid, as encoding/json would. A string without escapes in
// valid UTF-8 is its own text, and one of the protocol's types is read
// without a copy; anything else goes to encoding/json, which undoes
// escapes, replaces invalid UTF-8 and refuses what is not a string.
func controlType(val []byte) (string, bool) {
	if val[0] != '"' {
		return "", false
	}
	if in := val[1 : len(val)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		switch string(in) {
		case "auth":
			return "auth", true
		case "refresh":
			return "refresh", true
		}
		return string(in), true
	}
	var typ string
	if json.Unmarshal(val, &typ) != nil {
		return "", false
	}
	return typ, true
}
