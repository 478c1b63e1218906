package transport

import "fmt"

// MaxCredentialLen is the longest credential, in bytes, that any parser in
// this package accepts and any builder produces. It leaves room for a JWT
// with a generous set of claims.
const MaxCredentialLen = 4096

// credentialByte reports whether c may appear in a credential: visible
// ASCII except the two bytes JSON would have to escape. Such a credential
// rides unchanged in every carrier, so a server can switch carriers without
// re-minting credentials.
func credentialByte(c byte) bool {
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\'
}

// checkCredential validates a credential on either side of the wire. The
// error names the carrier and, for a bad byte, its offset, never the byte.
func checkCredential[S ~string | ~[]byte](carrier string, cred S) error {
	if len(cred) == 0 {
		return fmt.Errorf("transport: %s: empty credential: %w", carrier, ErrNoCredential)
	}
	if len(cred) > MaxCredentialLen {
		return fmt.Errorf("transport: %s: credential longer than %d bytes: %w", carrier, MaxCredentialLen, ErrMalformed)
	}
	for i := 0; i < len(cred); i++ {
		if !credentialByte(cred[i]) {
			return fmt.Errorf("transport: %s: credential has a disallowed byte at offset %d: %w", carrier, i, ErrMalformed)
		}
	}
	return nil
}
