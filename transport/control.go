package transport

import (
	"encoding/json"
	"fmt"
	"time"
)

// Control frame types. A client sends TypeAuth as its first frame and
// TypeRefresh to replace its credential in band; the server answers auth
// with TypeAuthOK and may warn with TypeExpiring before the credential runs
// out.
const (
	TypeAuth     = "auth"
	TypeAuthOK   = "auth_ok"
	TypeRefresh  = "refresh"
	TypeExpiring = "expiring"
)

// MaxFrameLen is the largest control frame ParseControl reads. Servers
// should also set it (or a little more) as the read limit of a connection
// that has not authenticated yet.
const MaxFrameLen = 4 << 10

// Control is a control frame {"type":…,"token":…} as sent by a client.
type Control struct {
	Type  string // the frame type, such as TypeAuth or TypeRefresh
	Token string // the credential
}

// ParseControl parses a control frame {"type":T,"token":C}.
//
// The frame must be at most MaxFrameLen bytes and exactly one JSON object
// (with only whitespace around it) that encoding/json considers valid. type
// must be a non-empty string; token a string holding a valid credential
// written without escapes. Other members are ignored; a duplicate type or
// token is ErrMalformed. Keys are matched exactly.
//
// A missing or empty token is ErrNoCredential, and the returned Control
// still has Type set, so a caller can tell what kind of frame lacked it.
// Anything else wrong is ErrMalformed.
func ParseControl(b []byte) (Control, error) {
	if len(b) > MaxFrameLen {
		return Control{}, fmt.Errorf("transport: control: frame longer than %d bytes: %w", MaxFrameLen, ErrMalformed)
	}
	s, err := newObjectScanner(b, "control")
	if err != nil {
		return Control{}, err
	}
	var c Control
	var tok []byte
	haveType, haveTok := false, false
	for {
		key, esc, ok, err := s.key()
		if err != nil {
			return Control{}, err
		}
		if !ok {
			break
		}
		switch {
		case keyIs(key, esc, "type"):
			if haveType {
				return Control{}, s.errorf("duplicate type")
			}
			haveType = true
			val, err := s.value()
			if err != nil {
				return Control{}, err
			}
			// val is valid JSON; Unmarshal undoes any escapes in a string
			// and rejects anything else.
			if val[0] != '"' || json.Unmarshal(val, &c.Type) != nil {
				return Control{}, s.errorf("type is not a string")
			}
		case keyIs(key, esc, "token"):
			if haveTok {
				return Control{}, s.errorf("duplicate token")
			}
			haveTok = true
			if tok, err = s.credential("token"); err != nil {
				return Control{}, err
			}
		default:
			if _, err := s.value(); err != nil {
				return Control{}, err
			}
		}
	}
	if c.Type == "" {
		return Control{}, s.errorf("missing or empty type")
	}
	if len(tok) == 0 {
		return Control{Type: c.Type}, fmt.Errorf("transport: control: missing or empty token: %w", ErrNoCredential)
	}
	c.Token = string(tok)
	return c, nil
}

// AppendControl appends the control frame {"type":typ,"token":token} to
// dst. typ must be a non-empty run of visible ASCII other than '"' and
// '\' (all the Type constants are), and token a valid credential.
func AppendControl(dst []byte, typ, token string) ([]byte, error) {
	if typ == "" {
		return dst, fmt.Errorf("transport: control: empty type: %w", ErrMalformed)
	}
	for i := 0; i < len(typ); i++ {
		if !credentialByte(typ[i]) {
			return dst, fmt.Errorf("transport: control: type has a disallowed byte at offset %d: %w", i, ErrMalformed)
		}
	}
	if err := checkCredential("control", token); err != nil {
		return dst, err
	}
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","token":"`...)
	dst = append(dst, token...)
	return append(dst, `"}`...), nil
}

// AuthOK is the server's answer to a successful auth frame:
// {"type":"auth_ok","subject":S,"expires_at":RFC3339} with expires_at
// left out when ExpiresAt is zero.
type AuthOK struct {
	Subject   string    // who the connection is authenticated as
	ExpiresAt time.Time // when the credential expires; zero if never
}

type authOKWire struct {
	Type      string `json:"type"`
	Subject   string `json:"subject"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// MarshalJSON encodes a as an auth_ok frame, with ExpiresAt in RFC 3339
// (UTC, with sub-second digits only when present).
func (a AuthOK) MarshalJSON() ([]byte, error) {
	w := authOKWire{Type: TypeAuthOK, Subject: a.Subject}
	if !a.ExpiresAt.IsZero() {
		w.ExpiresAt = a.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes an auth_ok frame. A frame whose type is not
// TypeAuthOK is ErrUnexpectedReply; a malformed expires_at is ErrMalformed.
func (a *AuthOK) UnmarshalJSON(b []byte) error {
	var w authOKWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("transport: auth_ok: invalid JSON: %w", ErrMalformed)
	}
	if w.Type != TypeAuthOK {
		return fmt.Errorf("transport: auth_ok: frame type is not %s: %w", TypeAuthOK, ErrUnexpectedReply)
	}
	var exp time.Time
	if w.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.ExpiresAt)
		if err != nil {
			return fmt.Errorf("transport: auth_ok: expires_at is not RFC 3339: %w", ErrMalformed)
		}
		exp = t
	}
	*a = AuthOK{Subject: w.Subject, ExpiresAt: exp}
	return nil
}
