package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
)

// The tests of this file each fail if one of the rules against algorithm
// confusion is dropped: HMAC secrets only as HMACKey with a mixed
// allow-list; public key bytes never an HMAC secret; every key checked
// against the token's algorithm.

// TestConfusionConfigurations: an HS256 token signed with the bytes of the
// server's RSA public key is refused in the three ways a server that
// allows HS256 and RS256 could be handed those bytes.
func TestConfusionConfigurations(t *testing.T) {
	k := tk()
	algs := []string{"HS256", "RS256"}
	withPEM := mint(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), nil)
	withDER := mint(t, jwt.SigningMethodHS256, k.rsaDER, claims(), nil)
	genuine := mint(t, jwt.SigningMethodRS256, k.rsa, claims(), nil)

	// (c) Keys refuses the PEM bytes outright...
	if kf, err := Keys(map[string]any{"": k.rsaPEM}); err == nil || kf != nil {
		t.Errorf("Keys took the PEM of a public key as an HMAC secret")
	}
	// ...and a caller who bypasses Keys with a lookup of their own is
	// refused at verify time.
	set := map[string]any{"": k.rsaPEM}
	bypass := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return set[kid], nil
	}

	tests := []struct {
		name    string
		keys    jwt.Keyfunc
		forged  string
		genuine bool // the configuration verifies genuine RS256 tokens
	}{
		{"a: Keyfunc returns the PEM", staticKeyfunc(k.rsaPEM), withPEM, false},
		{"b: key set of DER and RSA key", staticKeyfunc(jwt.VerificationKeySet{Keys: []jwt.VerificationKey{k.rsaDER, &k.rsa.PublicKey}}), withDER, true},
		{"c: Keys bypassed", bypass, withPEM, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				v := mustNew(t, algs, tt.keys, nil)
				_, err := v.Verify(context.Background(), tt.forged, wsauth.Peer{})
				if !errors.Is(err, errKeyType) || !errors.Is(err, wsauth.ErrInvalid) {
					t.Fatalf("forged HS256 token: %v, want %v", err, errKeyType)
				}
				assertRefusal(t, err, tt.forged)
				if tt.genuine {
					if _, err := v.Verify(context.Background(), genuine, wsauth.Peer{}); err != nil {
						t.Errorf("genuine RS256 token: %v", err)
					}
				}
			})
		})
	}
}

// TestMixedAllowListWantsHMACKey: with HMAC and asymmetric algorithms
// allowed, a []byte is not an HMAC secret, even a random one; an HMACKey
// is. With HMAC algorithms only, a []byte is.
func TestMixedAllowListWantsHMACKey(t *testing.T) {
	k := tk()
	tok := mintHS(t, claims())
	tests := []struct {
		name string
		algs []string
		key  any
		ok   bool
	}{
		{"mixed with RSA, []byte", []string{"HS256", "RS256"}, k.hmac, false},
		{"mixed with EdDSA, []byte", []string{"EdDSA", "HS256"}, k.hmac, false},
		{"mixed with ECDSA, []byte in a set", []string{"HS256", "ES256"}, jwt.VerificationKeySet{Keys: []jwt.VerificationKey{k.hmac}}, false},
		{"mixed, HMACKey", []string{"HS256", "RS256"}, HMACKey(k.hmac), true},
		{"mixed, HMACKey in a set", []string{"HS256", "RS256"}, jwt.VerificationKeySet{Keys: []jwt.VerificationKey{k.hmac, HMACKey(k.hmac)}}, true},
		{"HMAC only, []byte", []string{"HS256", "HS512"}, k.hmac, true},
		{"HMAC only, HMACKey", []string{"HS256"}, HMACKey(k.hmac), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				v := mustNew(t, tt.algs, staticKeyfunc(tt.key), nil)
				_, err := v.Verify(context.Background(), tok, wsauth.Peer{})
				if tt.ok && err != nil {
					t.Errorf("Verify: %v", err)
				}
				if !tt.ok && !errors.Is(err, errKeyType) {
					t.Errorf("Verify: %v, want %v", err, errKeyType)
				}
			})
		})
	}
	// Keys keeps the type it was given: a []byte from a static set is
	// refused with a mixed allow-list too.
	bubble(t, func(t *testing.T) {
		v := mustNew(t, []string{"HS256", "RS256"}, mustKeys(t, map[string]any{"": k.hmac}), nil)
		if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); !errors.Is(err, errKeyType) {
			t.Errorf("[]byte from Keys, mixed allow-list: %v", err)
		}
	})
}

// TestPublicKeyBytesNeverHMAC: bytes that parse as a PEM block or a DER
// public key (or certificate) do not verify an HMAC token, whatever the
// allow-list and however they are typed.
func TestPublicKeyBytesNeverHMAC(t *testing.T) {
	k := tk()
	_, ec, _ := ecdsaKey()
	encodings := map[string][]byte{
		"PEM":         k.rsaPEM,
		"PKIX DER":    k.rsaDER,
		"PKCS #1 DER": k.rsaPKCS1,
		"certificate": k.certDER,
		"EC PEM":      ec,
	}
	for name, b := range encodings {
		if len(b) < 64 {
			t.Fatalf("%s: %d bytes, too short to test HS512", name, len(b))
		}
		for _, tt := range []struct {
			how  string
			algs []string
			key  any
		}{
			{"[]byte, HMAC only", []string{"HS256"}, b},
			{"HMACKey, HMAC only", []string{"HS256"}, HMACKey(b)},
			{"HMACKey, mixed", []string{"HS256", "RS256"}, HMACKey(b)},
			{"HMACKey in a set, mixed", []string{"HS256", "RS256"}, jwt.VerificationKeySet{Keys: []jwt.VerificationKey{HMACKey(b)}}},
		} {
			t.Run(name+"/"+tt.how, func(t *testing.T) {
				tok := mint(t, jwt.SigningMethodHS256, b, claims(), nil)
				bubble(t, func(t *testing.T) {
					v := mustNew(t, tt.algs, staticKeyfunc(tt.key), nil)
					if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); !errors.Is(err, errKeyType) {
						t.Errorf("Verify: %v, want %v", err, errKeyType)
					}
				})
			})
		}
	}
}

// ecdsaKey returns a fresh P-256 key and its PEM.
func ecdsaKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	return key, pemOf(&key.PublicKey), nil
}

// TestKeyFitsAlgorithm: each key the Keyfunc returns is checked against
// the token's algorithm before jwt/v5 sees it. The HMAC length rule is the
// one jwt/v5 would not enforce by itself.
func TestKeyFitsAlgorithm(t *testing.T) {
	k := tk()
	hs384 := make([]byte, 48)
	rand.Read(hs384)
	tests := []struct {
		name   string
		algs   []string
		key    any
		method jwt.SigningMethod
		sign   any
		ok     bool
	}{
		{"HS256, 31-byte key", []string{"HS256"}, HMACKey(k.hmac[:31]), jwt.SigningMethodHS256, k.hmac[:31], false},
		{"HS256, 32-byte key", []string{"HS256"}, HMACKey(k.hmac), jwt.SigningMethodHS256, k.hmac, true},
		{"HS384, 32-byte key", []string{"HS384"}, HMACKey(k.hmac), jwt.SigningMethodHS384, k.hmac, false},
		{"HS384, 48-byte key", []string{"HS384"}, HMACKey(hs384), jwt.SigningMethodHS384, hs384, true},
		{"HS512, 48-byte key", []string{"HS512"}, HMACKey(hs384), jwt.SigningMethodHS512, hs384, false},
		{"ES256, P-384 key", []string{"ES256", "ES384"}, &k.ec384.PublicKey, jwt.SigningMethodES256, k.ec, false},
		{"ES384, P-256 key", []string{"ES256", "ES384"}, &k.ec.PublicKey, jwt.SigningMethodES384, k.ec384, false},
		{"ES384, P-384 key", []string{"ES384"}, &k.ec384.PublicKey, jwt.SigningMethodES384, k.ec384, true},
		{"RS256, Ed25519 key", []string{"RS256"}, k.edPub, jwt.SigningMethodRS256, k.rsa, false},
		{"PS256, RSA key", []string{"PS256"}, &k.rsa.PublicKey, jwt.SigningMethodPS256, k.rsa, true},
		{"EdDSA, short key", []string{"EdDSA"}, k.edPub[:31], jwt.SigningMethodEdDSA, k.ed, false},
		{"EdDSA, RSA key", []string{"EdDSA"}, &k.rsa.PublicKey, jwt.SigningMethodEdDSA, k.ed, false},
		{"EdDSA, nil", []string{"EdDSA"}, nil, jwt.SigningMethodEdDSA, k.ed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mint(t, tt.method, tt.sign, claims(), nil)
			bubble(t, func(t *testing.T) {
				v := mustNew(t, tt.algs, staticKeyfunc(tt.key), nil)
				_, err := v.Verify(context.Background(), tok, wsauth.Peer{})
				if tt.ok && err != nil {
					t.Errorf("Verify: %v", err)
				}
				if !tt.ok && !errors.Is(err, errKeyType) {
					t.Errorf("Verify: %v, want %v", err, errKeyType)
				}
			})
		})
	}
}
