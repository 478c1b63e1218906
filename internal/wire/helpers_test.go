package wire

import (
	"errors"
	"strings"
	"testing"
)

// secret is recognisable in any error text that leaks it.
const secret = "SECRETzq9"

// jwt is shaped like a real ~300-byte HS256 JWT.
var jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
	strings.Repeat("eyJzdWIiOiJ1c2VyLTEyMyIsInJvb21zIjpbImxvYmJ5Il19", 4) +
	"." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

// wantErr checks err against want (nil means success) and that its text
// does not contain secret.
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Fatalf("error text leaks the secret: %q", err.Error())
	}
}
