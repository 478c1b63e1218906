package wsauth

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func BenchmarkJWTVerify(b *testing.B) {
	k := keys()
	algs := []struct {
		name   string
		method jwt.SigningMethod
		sign   any
		verify any
	}{
		{"HS256", jwt.SigningMethodHS256, k.hmac, k.hmac},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed, k.edPub},
		{"RS256", jwt.SigningMethodRS256, k.rsa, &k.rsa.PublicKey},
	}
	for _, alg := range algs {
		b.Run(alg.name, func(b *testing.B) {
			// A realistic token: a few registered claims and a scope.
			tok := mint(b, alg.method, alg.sign, jwt.MapClaims{
				"sub":   "user-1234567890",
				"iss":   "https://id.example",
				"aud":   "chat",
				"exp":   t0.Add(time.Hour).Unix(),
				"iat":   t0.Unix(),
				"scope": "room:general room:random",
			}, nil)
			for _, mode := range []struct {
				name string
				size int
			}{{"cache", 0}, {"nocache", -1}} {
				b.Run(mode.name, func(b *testing.B) {
					v, err := NewJWT(&JWTOptions{
						Algorithms: []string{alg.name},
						Keys:       map[string]any{"": alg.verify},
						Issuer:     "https://id.example",
						Audience:   "chat",
						Now:        func() time.Time { return t0 },
						CacheSize:  mode.size,
					})
					if err != nil {
						b.Fatal(err)
					}
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						if _, err := v.Verify(ctx, tok, Peer{}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkJWTVerifyParallel is the per-message hot path: many connections
// presenting cached tokens at once.
func BenchmarkJWTVerifyParallel(b *testing.B) {
	v, err := NewJWT(&JWTOptions{
		Algorithms: []string{"HS256"},
		Keys:       map[string]any{"": keys().hmac},
		Now:        func() time.Time { return t0 },
	})
	if err != nil {
		b.Fatal(err)
	}
	toks := make([]string, 64)
	for i := range toks {
		toks[i] = mintHS(b, claims("jti", i))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(context.Background(), toks[i%len(toks)], Peer{}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
