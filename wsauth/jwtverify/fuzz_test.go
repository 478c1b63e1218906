package jwtverify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
)

// fuzzKey signs the tokens of testdata/fuzz/FuzzVerify (valid until 2100).
var fuzzKey = HMACKey("jwtverify-fuzz-secret-0123456789abcdef")

// FuzzVerify checks, for any input, that Verify does not panic, that it
// refuses with one of its fixed errors, never quoting the input, and that
// what it accepts is a principal that would pass wsauth's own checks; and
// that the cache never changes an answer.
func FuzzVerify(f *testing.F) {
	keys, err := Keys(map[string]any{"": fuzzKey})
	if err != nil {
		f.Fatal(err)
	}
	cached := mustNew(f, []string{"HS256", "EdDSA"}, keys, &Options{CacheSize: 8})
	uncached := mustNew(f, []string{"HS256", "EdDSA"}, keys, &Options{CacheSize: -1})
	f.Add(mint(f, jwt.SigningMethodHS256, []byte(fuzzKey), jwt.MapClaims{"sub": "fuzz-user", "exp": 4102444800}, nil))

	f.Fuzz(func(t *testing.T, token string) {
		for range 2 { // the second time may be a cache hit
			p, err := cached.Verify(context.Background(), token, wsauth.Peer{})
			q, uerr := uncached.Verify(context.Background(), token, wsauth.Peer{})
			if err != uerr || p.Subject != q.Subject || !p.ExpiresAt.Equal(q.ExpiresAt) {
				t.Fatalf("cached %q, %v; uncached %q, %v", p.Subject, err, q.Subject, uerr)
			}
			if err != nil {
				var r *refusal
				if !errors.As(err, &r) || error(r) != err {
					t.Fatalf("error %v (%T) is not a fixed refusal", err, err)
				}
				if len(token) >= 8 && strings.Contains(err.Error(), token) {
					t.Fatalf("error %q quotes the token", err)
				}
				if p.Subject != "" || p.Claims != nil {
					t.Fatalf("refusal with a principal: %+v", p)
				}
				continue
			}
			if p.Subject == "" || !time.Now().Before(p.ExpiresAt) || p.Claims["sub"] != p.Subject {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}
