package wire

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// AppendAuthOK appends the server's answer to a successful auth frame,
// {"type":"auth_ok","subject":S,"expires_at":E}, to dst: E in RFC 3339 with
// sub-second digits only when present, the member left out when expires is
// zero. The bytes are those json.Marshal writes for the same members
// (FuzzAppendAuthOK holds it to that); written by hand because every
// in-band handshake sends one.
func AppendAuthOK(dst []byte, subject string, expires time.Time) []byte {
	dst = append(dst, `{"type":"auth_ok","subject":`...)
	dst = appendString(dst, subject)
	if !expires.IsZero() {
		dst = append(dst, `,"expires_at":"`...)
		dst = expires.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// appendString appends s as a JSON string, as encoding/json writes it.
// A subject is almost always plain ASCII, written as it is; anything
// that needs escaping goes through encoding/json itself.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(dst, q...)
		}
	}
	return append(append(append(dst, '"'), s...), '"')
}

// ParseAuthOK parses an auth_ok frame: exactly one JSON object that
// encoding/json also considers valid, whose type, subject and expires_at
// members, each optional, are strings (returned unescaped, as
// encoding/json would decode them). Other members are ignored; keys are
// matched exactly; a duplicate of the three is ErrMalformed. What the
// values mean is the caller's to check.
func ParseAuthOK(b []byte) (typ, subject, expiresAt string, err error) {
	var s objectScanner
	if err := s.start(b, "auth_ok"); err != nil {
		return "", "", "", err
	}
	var seen [3]bool
	for {
		key, esc, ok, err := s.key()
		if err != nil {
			return "", "", "", err
		}
		if !ok {
			return typ, subject, expiresAt, nil
		}
		var dst *string
		var n int
		switch {
		case keyIs(key, esc, "type"):
			dst, n = &typ, 0
		case keyIs(key, esc, "subject"):
			dst, n = &subject, 1
		case keyIs(key, esc, "expires_at"):
			dst, n = &expiresAt, 2
		default:
			if _, err := s.value(); err != nil {
				return "", "", "", err
			}
			continue
		}
		if seen[n] {
			return "", "", "", s.errorf("duplicate %s", [...]string{"type", "subject", "expires_at"}[n])
		}
		seen[n] = true
		if *dst, err = s.stringValue(); err != nil {
			return "", "", "", err
		}
	}
}

// stringValue consumes the current member's value, which must be a JSON
// string, and returns it decoded.
func (s *objectScanner) stringValue() (string, error) {
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '"' {
		return "", s.errorf("value at offset %d is not a string", i)
	}
	end, escaped, ok := scanString(b, i)
	if !ok {
		return "", s.errorf("invalid string at offset %d", i)
	}
	s.i = end
	raw := b[i+1 : end-1]
	if !escaped && utf8.Valid(raw) {
		return string(raw), nil
	}
	// Rare: escapes or invalid UTF-8, which encoding/json decodes (the
	// latter as U+FFFD). The string is valid, so this cannot fail.
	var v string
	if err := json.Unmarshal(b[i:end], &v); err != nil {
		return "", s.errorf("invalid string at offset %d", i)
	}
	return v, nil
}
