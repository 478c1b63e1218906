package wire

import (
	"encoding/json"
	"fmt"
)

// maxValueDepth keeps a member value shallow enough that the whole object
// stays within encoding/json's nesting limit of 10000 (the object itself is
// one level), so this scanner and json.Valid agree on every input.
const maxValueDepth = 10000 - 1

// objectScanner walks the members of a single top-level JSON object without
// decoding it. Every value it returns is valid JSON and aliases the input;
// which members matter, and what their values mean, is the caller's business.
// It exists because frames are parsed on every message, and a map or reflect
// based Unmarshal costs several allocations per frame.
type objectScanner struct {
	b    []byte
	i    int
	what string // for error messages: "envelope", "control"
	n    int    // members seen so far
	// known, if not "", is a valid credential that credential compares
	// instead of checking byte by byte.
	known string
	// same reports that credential found exactly known.
	same bool
}

// start readies s, the zero objectScanner, to scan b: in place, as a
// scanner returned by value costs a copy on every frame.
func (s *objectScanner) start(b []byte, what string) error {
	s.b, s.what = b, what
	s.i = skipWS(b, 0)
	if s.i >= len(b) || b[s.i] != '{' {
		return s.errorf("not a JSON object")
	}
	s.i++
	return nil
}

func (s *objectScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("transport: %s: %s: %w", s.what, fmt.Sprintf(format, args...), ErrMalformed)
}

// key advances to the next member and returns its key as raw string
// contents (escaped reports whether it needs unescaping), leaving the
// scanner at the member's value, which the caller must then consume with
// value or credential. After the closing brace it checks that only
// whitespace follows and returns ok false.
func (s *objectScanner) key() (key []byte, escaped, ok bool, err error) {
	b := s.b
	i := skipWS(b, s.i)
	if i >= len(b) {
		return nil, false, false, s.errorf("unexpected end of input")
	}
	if b[i] == '}' {
		return nil, false, false, s.end(i + 1)
	}
	if s.n > 0 {
		if b[i] != ',' {
			return nil, false, false, s.errorf("expected ',' or '}' at offset %d", i)
		}
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return nil, false, false, s.errorf("expected a key at offset %d", i)
	}
	end, escaped, ok := scanString(b, i)
	if !ok {
		return nil, false, false, s.errorf("invalid key at offset %d", i)
	}
	key = b[i+1 : end-1]
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, false, false, s.errorf("expected ':' at offset %d", i)
	}
	s.i = skipWS(b, i+1)
	s.n++
	return key, escaped, true, nil
}

// value consumes the current member's value and returns it, valid JSON,
// aliasing the input with its capacity clipped.
func (s *objectScanner) value() ([]byte, error) {
	end, ok := scanValue(s.b, s.i)
	if !ok {
		return nil, s.errorf("invalid value at offset %d", s.i)
	}
	v := s.b[s.i:end:end]
	s.i = end
	return v, nil
}

// credential consumes the current member's value, which must be a string
// holding a valid credential or nothing, and returns the string's contents.
// One pass over credential bytes both finds the end of the string and
// checks it: they exclude '"', '\' and control bytes.
func (s *objectScanner) credential(field string) ([]byte, error) {
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '"' {
		return nil, s.errorf("%s is not a string", field)
	}
	var j int
	if k := s.known; k != "" && i+1+len(k) < len(b) && b[i+1+len(k)] == '"' && string(b[i+1:i+1+len(k)]) == k {
		// Every byte before the quote is a credential byte: credSpan
		// would stop exactly there.
		j = i + 1 + len(k)
		s.same = true
	} else {
		j = i + 1 + Span(b[i+1:])
	}
	if j >= len(b) || b[j] != '"' {
		return nil, s.errorf("%s has a disallowed byte at offset %d", field, j)
	}
	if j-i-1 > MaxCredentialLen {
		return nil, s.errorf("%s longer than %d bytes", field, MaxCredentialLen)
	}
	s.i = j + 1
	return b[i+1 : j], nil
}

func (s *objectScanner) end(i int) error {
	i = skipWS(s.b, i)
	if i != len(s.b) {
		return s.errorf("data after the object at offset %d", i)
	}
	s.i = i
	return nil
}

// keyIs reports whether the raw key equals name once unescaped.
func keyIs(key []byte, escaped bool, name string) bool {
	if !escaped {
		return string(key) == name
	}
	// Rare: a client spelled a key with escapes. The key is already known
	// to be a valid string, so decoding it cannot fail.
	var k string
	q := make([]byte, 0, len(key)+2)
	q = append(append(append(q, '"'), key...), '"')
	if json.Unmarshal(q, &k) != nil {
		return false
	}
	return k == name
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString validates the JSON string starting at b[i] == '"' and returns
// the offset just past its closing quote. Like encoding/json it checks
// escapes and control bytes but not UTF-8.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	for i++; i < len(b); i++ {
		for i < len(b) && plainTable[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return 0, false, false
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return 0, false, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return 0, false, false
					}
				}
				i += 4
			default:
				return 0, false, false
			}
		}
	}
	return 0, false, false
}

// plainTable marks bytes that stand for themselves inside a JSON string;
// credTable those that may appear in a credential.
var plainTable, credTable = func() (p, c [256]bool) {
	for i := range 256 {
		p[i] = i >= 0x20 && i != '"' && i != '\\'
		c[i] = CredentialByte(byte(i))
	}
	return p, c
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanValue returns the offset just past the JSON value starting at b[i],
// and whether that value is valid JSON, as json.Valid judges it (the fuzz
// target FuzzScanValue holds them to it). It is json.Valid's grammar
// without its per-byte state machine: frames are checked on every
// message. Open containers are kept on a small stack of their own, so a
// deeply nested value costs no goroutine stack.
func scanValue(b []byte, i int) (end int, ok bool) {
	var buf [64]byte
	open := buf[:0] // '{' or '[' per container not yet closed
	for {
		// At the start of a value.
		if i >= len(b) {
			return 0, false
		}
		done := true // whether the value ends here or opens a container
		switch c := b[i]; c {
		case '{', '[':
			if len(open) == maxValueDepth {
				return 0, false
			}
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				i++
				break
			}
			open = append(open, c)
			done = false
			if c == '{' {
				if i, ok = scanKey(b, i); !ok {
					return 0, false
				}
			}
		case '"':
			if i, _, ok = scanString(b, i); !ok {
				return 0, false
			}
		case 't':
			if i, ok = scanLiteral(b, i, "true"); !ok {
				return 0, false
			}
		case 'f':
			if i, ok = scanLiteral(b, i, "false"); !ok {
				return 0, false
			}
		case 'n':
			if i, ok = scanLiteral(b, i, "null"); !ok {
				return 0, false
			}
		default:
			if i, ok = scanNumber(b, i); !ok {
				return 0, false
			}
		}
		// After a complete value: close what it completes, or move on to
		// the next element.
		for done {
			if len(open) == 0 {
				return i, true
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			top := open[len(open)-1]
			switch b[i] {
			case top + 2:
				open = open[:len(open)-1]
				i++
			case ',':
				i = skipWS(b, i+1)
				if top == '{' {
					if i, ok = scanKey(b, i); !ok {
						return 0, false
					}
				}
				done = false
			default:
				return 0, false
			}
		}
	}
}

// scanKey consumes an object key and its colon at b[i] and the whitespace
// after them, returning the offset of the member's value.
func scanKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	end, _, ok := scanString(b, i)
	if !ok {
		return 0, false
	}
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	return skipWS(b, i+1), true
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanNumber consumes a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// Value returns b without the whitespace JSON allows around a value, and
// whether what is left is exactly one valid JSON value, as json.Valid
// judges it, without its allocations.
func Value(b []byte) ([]byte, bool) {
	i := skipWS(b, 0)
	end, ok := scanValue(b, i)
	if !ok || skipWS(b, end) != len(b) {
		return nil, false
	}
	return b[i:end], true
}
