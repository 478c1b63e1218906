package wire

import (
	"errors"
	"strings"
	"testing"
)

// TestCredSpan checks the eight-bytes-at-a-time scan against the plain
// definition for every byte value at every position of a word.
func TestCredSpan(t *testing.T) {
	for c := range 256 {
		for pos := range 20 {
			b := []byte(strings.Repeat("a", 20))
			b[pos] = byte(c)
			want := 20
			if !CredentialByte(byte(c)) {
				want = pos
			}
			if got := Span(b); got != want {
				t.Fatalf("Span(byte %#x at %d) = %d, want %d", c, pos, got, want)
			}
			if got := Span(string(b)); got != want {
				t.Fatalf("Span(string, byte %#x at %d) = %d, want %d", c, pos, got, want)
			}
		}
	}
}

func TestCheckCredential(t *testing.T) {
	// secret is recognisable in any error text that leaks it; jwt is
	// shaped like a real ~300-byte HS256 JWT.
	const secret = "SECRETzq9"
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
		strings.Repeat("eyJzdWIiOiJ1c2VyLTEyMyIsInJvb21zIjpbImxvYmJ5Il19", 4) +
		".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	tests := []struct {
		cred string
		err  error
	}{
		{"a", nil},
		{jwt, nil},
		{"!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", nil},
		{strings.Repeat("x", MaxCredentialLen), nil},
		{"", ErrNoCredential},
		{strings.Repeat("x", MaxCredentialLen+1), ErrMalformed},
		{secret + " ", ErrMalformed},
		{secret + `"`, ErrMalformed},
		{secret + `\`, ErrMalformed},
		{secret + "\x7f", ErrMalformed},
		{secret + "é", ErrMalformed},
		{secret + "\xff", ErrMalformed},
	}
	for _, tt := range tests {
		err := CheckCredential("test", tt.cred)
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("CheckCredential(%.20q) = %v, want %v", tt.cred, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("CheckCredential(%.20q): the error text leaks the credential: %q", tt.cred, err)
		}
		if tt.err != nil && errors.Is(err, ErrMalformed) == errors.Is(err, ErrNoCredential) {
			t.Errorf("CheckCredential(%.20q) = %v: want exactly one sentinel", tt.cred, err)
		}
	}
}
