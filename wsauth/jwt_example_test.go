package wsauth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsauth/wsauth/wsauth"
)

func ExampleNewJWT() {
	secret := []byte("use 32 random bytes in production")

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
	v, err := wsauth.NewJWT(&wsauth.JWTOptions{
		Algorithms: []string{"HS256"},
		Keys:       map[string]any{"": secret},
	})
	if err != nil {
		panic(err)
	}
	p, err := v.Verify(context.Background(), token, wsauth.Peer{Scope: "room:general"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Subject, p.Scope)
	// Output: alice [room:general room:random]
}
