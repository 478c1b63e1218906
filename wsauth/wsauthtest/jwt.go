package wsauthtest

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
)

// Signer mints HS256 JWTs for tests, and a verifier that accepts them.
type Signer struct {
	// Key is the HMAC secret.
	Key []byte
	// Now returns the time tokens are issued at; nil means time.Now.
	Now func() time.Time
}

// NewSigner returns a Signer with a random 32-byte key.
func NewSigner() *Signer {
	key := make([]byte, 32)
	rand.Read(key)
	return &Signer{Key: key}
}

// Token returns a token for subject that expires after ttl, with extra
// claims (such as "scope" or "jti") added. A negative ttl makes an already
// expired token.
func (s *Signer) Token(t testing.TB, subject string, ttl time.Duration, extra jwt.MapClaims) string {
	t.Helper()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	claims := jwt.MapClaims{"sub": subject, "iat": now().Unix(), "exp": now().Add(ttl).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.Key)
	if err != nil {
		t.Fatalf("wsauthtest: sign token: %v", err)
	}
	return tok
}

// Verifier returns a JWT verifier that accepts the Signer's tokens. opts,
// which may be nil, adds options such as Leeway or ScopeClaim; its
// Algorithms and key fields are set by Verifier.
func (s *Signer) Verifier(t testing.TB, opts *wsauth.JWTOptions) *wsauth.JWTVerifier {
	t.Helper()
	var o wsauth.JWTOptions
	if opts != nil {
		o = *opts
	}
	o.Algorithms = []string{"HS256"}
	o.Keys, o.Keyfunc = map[string]any{"": s.Key}, nil
	if o.Now == nil {
		o.Now = s.Now
	}
	v, err := wsauth.NewJWT(&o)
	if err != nil {
		t.Fatalf("wsauthtest: verifier: %v", err)
	}
	return v
}
