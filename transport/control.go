package transport

import (
	"fmt"
	"time"

	"github.com/wsauth/wsauth/internal/wire"
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

// Control is a control frame {"type":…,"token":…} as sent by a client.
type Control struct {
	Type  string // the frame type, such as TypeAuth or TypeRefresh
	Token string // the credential
}

// ParseControl parses a control frame {"type":T,"token":C}.
//
// The frame must be exactly one JSON object (with only whitespace around
// it) that encoding/json considers valid. type must be a non-empty string;
// token a string holding a valid credential written without escapes. Other
// members are ignored; a duplicate type or token is ErrMalformed. Keys are
// matched exactly. ParseControl sets no length limit of its own: the
// connection's read limit bounds the frame.
//
// A missing or empty token is ErrNoCredential, and the returned Control
// still has Type set, so a caller can tell what kind of frame lacked it.
// Anything else wrong is ErrMalformed.
func ParseControl(b []byte) (Control, error) {
	typ, tok, err := wire.ParseControl(b)
	return Control{Type: typ, Token: tok}, err
}

// AppendControl appends the control frame {"type":typ,"token":token} to
// dst. typ must be a non-empty run of visible ASCII other than '"' and
// '\' (all the Type constants are), and token a valid credential.
func AppendControl(dst []byte, typ, token string) ([]byte, error) {
	if typ == "" {
		return dst, fmt.Errorf("transport: control: empty type: %w", ErrMalformed)
	}
	for i := 0; i < len(typ); i++ {
		if !wire.CredentialByte(typ[i]) {
			return dst, fmt.Errorf("transport: control: type has a disallowed byte at offset %d: %w", i, ErrMalformed)
		}
	}
	if err := wire.CheckCredential("control", token); err != nil {
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

// MarshalJSON encodes a as an auth_ok frame, with ExpiresAt in RFC 3339
// (UTC, with sub-second digits only when present).
func (a AuthOK) MarshalJSON() ([]byte, error) {
	return wire.AppendAuthOK(make([]byte, 0, 80+len(a.Subject)), a.Subject, a.ExpiresAt), nil
}

// UnmarshalJSON decodes an auth_ok frame. A frame whose type is not
// TypeAuthOK is ErrUnexpectedReply; a malformed frame or expires_at is
// ErrMalformed. Keys are matched exactly.
func (a *AuthOK) UnmarshalJSON(b []byte) error {
	typ, subject, expires, err := wire.ParseAuthOK(b)
	if err != nil {
		return fmt.Errorf("transport: auth_ok: invalid JSON: %w", ErrMalformed)
	}
	if typ != TypeAuthOK {
		return fmt.Errorf("transport: auth_ok: frame type is not %s: %w", TypeAuthOK, ErrUnexpectedReply)
	}
	var exp time.Time
	if expires != "" {
		t, err := time.Parse(time.RFC3339Nano, expires)
		if err != nil {
			return fmt.Errorf("transport: auth_ok: expires_at is not RFC 3339: %w", ErrMalformed)
		}
		exp = t
	}
	*a = AuthOK{Subject: subject, ExpiresAt: exp}
	return nil
}
