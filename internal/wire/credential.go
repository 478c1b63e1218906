package wire

import "fmt"

// MaxCredentialLen is the longest credential, in bytes, that any parser
// accepts and any builder produces: room for a JWT with a generous set of
// claims. It is also the largest token the JWT verifier parses, so every
// carrier takes every credential a verifier would accept.
const MaxCredentialLen = 8 << 10

// CredentialByte reports whether c may appear in a credential: visible
// ASCII except the two bytes JSON would have to escape. Such a credential
// rides unchanged in every carrier, so a server can switch carriers without
// re-minting credentials.
func CredentialByte(c byte) bool {
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\'
}

// CheckCredential validates a credential on either side of the wire. The
// error names the carrier and, for a bad byte, its offset, never the byte.
func CheckCredential[S ~string | ~[]byte](carrier string, cred S) error {
	if len(cred) == 0 {
		return fmt.Errorf("transport: %s: empty credential: %w", carrier, ErrNoCredential)
	}
	if len(cred) > MaxCredentialLen {
		return fmt.Errorf("transport: %s: credential longer than %d bytes: %w", carrier, MaxCredentialLen, ErrMalformed)
	}
	if i := Span(cred); i < len(cred) {
		return fmt.Errorf("transport: %s: credential has a disallowed byte at offset %d: %w", carrier, i, ErrMalformed)
	}
	return nil
}

// Span returns the length of the longest prefix of s made of credential
// bytes. Frames are checked on every message, so it tests eight bytes at a
// time with the classic SWAR tricks: bad has a high bit set exactly
// when some byte of x is below 0x21, above 0x7e, a quote or a backslash.
func Span[S ~string | ~[]byte](s S) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q := x ^ (lo * '"')
		bs := x ^ (lo * '\\')
		bad := (x - lo*0x21) &^ x
		bad |= (x + lo*(0x7f-0x7e)) | x
		bad |= (q - lo) &^ q
		bad |= (bs - lo) &^ bs
		if bad&hi != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if !credTable[s[i]] {
			return i
		}
	}
	return i
}

// Credential is a credential already known to be valid, so that a parser
// meeting it again can compare bytes instead of checking each one. Only
// NewCredential makes a non-zero one.
type Credential struct{ s string }

// NewCredential checks s once and returns it as a Credential.
func NewCredential(s string) (Credential, error) {
	if err := CheckCredential("credential", s); err != nil {
		return Credential{}, err
	}
	return Credential{s}, nil
}

// String returns the credential.
func (c Credential) String() string { return c.s }
