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

// appendString appends s as a JSON string escaped as encoding/json escapes
// it: control bytes, '"', '\\', and '<', '>', '&' (HTML-safe); invalid
// UTF-8 as U+FFFD; U+2028 and U+2029 escaped.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	done := 0 // s[:done] is in dst
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[done:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[done:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	return append(append(dst, s[done:]...), '"')
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
