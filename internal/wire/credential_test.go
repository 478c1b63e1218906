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
		wantErr(t, err, tt.err)
		if tt.err == nil && err != nil {
			t.Errorf("CheckCredential(%.20q) = %v", tt.cred, err)
		}
		if tt.err != nil && errors.Is(err, ErrMalformed) == errors.Is(err, ErrNoCredential) {
			t.Errorf("CheckCredential(%.20q) = %v: want exactly one sentinel", tt.cred, err)
		}
	}
}
