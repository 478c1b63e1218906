package jwtverify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

func ExampleNew() {
	secret := make([]byte, 32)
	rand.Read(secret)

	// An identity provider mints the token...
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":   "alice",
		"exp":   time.Now().Add(time.Minute).Unix(),
		"scope": "room:general room:random",
	}).SignedString(secret)
	if err != nil {
		panic(err)
	}

	// ...and the WebSocket server verifies it.
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(secret)})
	if err != nil {
		panic(err)
	}
	v, err := jwtverify.New([]string{"HS256"}, keys, nil)
	if err != nil {
		panic(err)
	}
	p, err := v.Verify(context.Background(), token, wsauth.Peer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Subject, p.Scope)
	// Use it with any strategy:
	_ = wsauth.New(v, wsauth.PerMessage{}, nil)
	// Output: alice [room:general room:random]
}

func ExampleKeys() {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	keys, err := jwtverify.Keys(map[string]any{"2025-07": pub})
	if err != nil {
		panic(err)
	}
	v, err := jwtverify.New([]string{"EdDSA"}, keys, &jwtverify.Options{Issuer: "https://id.example"})
	if err != nil {
		panic(err)
	}
	mint := func(kid string) string {
		t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
			"sub": "bob",
			"iss": "https://id.example",
			"exp": time.Now().Add(time.Minute).Unix(),
		})
		t.Header["kid"] = kid
		s, err := t.SignedString(priv)
		if err != nil {
			panic(err)
		}
		return s
	}

	p, err := v.Verify(context.Background(), mint("2025-07"), wsauth.Peer{})
	fmt.Println(p.Subject, err)
	_, err = v.Verify(context.Background(), mint("2024-01"), wsauth.Peer{})
	fmt.Println(errors.Is(err, wsauth.ErrInvalid), err)
	// Output:
	// bob <nil>
	// true jwtverify: unknown key
}

// An attacker signs an HS256 token with the server's public key, in PEM,
// as the HMAC secret. Keys refuses such bytes as a secret, and a Verifier
// never uses them as one, however its Keyfunc hands them over.
func Example_algorithmConfusion() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		panic(err)
	}
	public := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	_, err = jwtverify.Keys(map[string]any{"": public})
	fmt.Println(err)

	// A careless Keyfunc that returns the key's bytes whatever the token.
	careless := func(*jwt.Token) (any, error) { return public, nil }
	v, err := jwtverify.New([]string{"HS256", "ES256"}, careless, nil)
	if err != nil {
		panic(err)
	}
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "admin",
		"exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(public)
	if err != nil {
		panic(err)
	}
	_, err = v.Verify(context.Background(), forged, wsauth.Peer{})
	fmt.Println(errors.Is(err, wsauth.ErrInvalid), err)
	// Output:
	// jwtverify: Keys: key "": bytes are a PEM block or a DER public key, not an HMAC secret
	// true jwtverify: key does not fit algorithm
}
