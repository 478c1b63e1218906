package jwtverify

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
)

// Benchmarks run on the real clock (synctest bubbles are for tests), so
// their tokens expire an hour from now.

func BenchmarkVerify(b *testing.B) {
	k := tk()
	now := time.Now()
	algs := []struct {
		name   string
		method jwt.SigningMethod
		sign   any
		verify any
	}{
		{"HS256", jwt.SigningMethodHS256, k.hmac, HMACKey(k.hmac)},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed, k.edPub},
		{"ES256", jwt.SigningMethodES256, k.ec, &k.ec.PublicKey},
		{"RS256", jwt.SigningMethodRS256, k.rsa, &k.rsa.PublicKey},
	}
	for _, alg := range algs {
		b.Run(alg.name, func(b *testing.B) {
			// A realistic token: a few registered claims and a scope.
			tok := mint(b, alg.method, alg.sign, jwt.MapClaims{
				"sub":   "user-1234567890",
				"iss":   "https://id.example",
				"aud":   "chat",
				"exp":   now.Add(time.Hour).Unix(),
				"iat":   now.Unix(),
				"scope": "room:general room:random",
			}, nil)
			for _, mode := range []struct {
				name string
				size int
			}{{"cache", 0}, {"nocache", -1}} {
				b.Run(mode.name, func(b *testing.B) {
					v := mustNew(b, []string{alg.name}, mustKeys(b, map[string]any{"": alg.verify}), &Options{
						Issuer:    "https://id.example",
						Audience:  "chat",
						CacheSize: mode.size,
					})
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						if _, err := v.Verify(ctx, tok, wsauth.Peer{}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkVerifyParallel is the per-message hot path: many connections
// presenting cached tokens at once.
func BenchmarkVerifyParallel(b *testing.B) {
	v := mustNew(b, []string{"HS256"}, mustKeys(b, map[string]any{"": HMACKey(tk().hmac)}), nil)
	exp := time.Now().Add(time.Hour).Unix()
	toks := make([]string, 64)
	for i := range toks {
		toks[i] = mintHS(b, claims("jti", i, "exp", exp, "iat", nil))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(context.Background(), toks[i%len(toks)], wsauth.Peer{}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkRefuse is the price of a forged token: a full parse, never
// cached.
func BenchmarkRefuse(b *testing.B) {
	k := tk()
	v := mustNew(b, []string{"HS256", "RS256"}, staticKeyfunc(k.rsaPEM), nil)
	tok := mint(b, jwt.SigningMethodHS256, k.rsaPEM, claims("exp", time.Now().Add(time.Hour).Unix(), "iat", nil), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err == nil {
			b.Fatal("forged token accepted")
		}
	}
}
