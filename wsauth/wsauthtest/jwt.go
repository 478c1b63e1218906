package wsauthtest

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

// Signer mints HS256 JWTs for tests, and a verifier that accepts them.
type Signer struct {
	// Key is the HMAC secret.
	Key []byte
}

// NewSigner returns a Signer with a random 32-byte key.
func NewSigner() *Signer {
	key := make([]byte, 32)
	rand.Read(key)
	return &Signer{Key: key}
}

// Token returns a token for subject, issued now ("iat", to the
// millisecond, as jwtverify reads it) and expiring after ttl, with extra
// claims (such as "scope" or "jti") added. A negative ttl makes an already
// expired token. Inside a synctest bubble, now is the bubble's.
func (s *Signer) Token(t testing.TB, subject string, ttl time.Duration, extra jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"sub": subject, "iat": float64(now.UnixMilli()) / 1000, "exp": now.Add(ttl).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.Key)
	if err != nil {
		t.Fatalf("wsauthtest: sign token: %v", err)
	}
	return tok
}

// Verifier returns a verifier that accepts the Signer's tokens. opts,
// which may be nil, adds options such as Leeway or ScopeClaim.
func (s *Signer) Verifier(t testing.TB, opts *jwtverify.Options) *jwtverify.Verifier {
	t.Helper()
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(s.Key)})
	if err != nil {
		t.Fatalf("wsauthtest: verifier keys: %v", err)
	}
	v, err := jwtverify.New([]string{"HS256"}, keys, opts)
	if err != nil {
		t.Fatalf("wsauthtest: verifier: %v", err)
	}
	return v
}
