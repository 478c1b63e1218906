package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsauth/wsauth/wsauth"
)

// sessionTTL is how long a login lasts (the session cookie).
const sessionTTL = 12 * time.Hour

// tokens mints and checks the two kinds of JWT the chat uses: access
// tokens (returned by /api/login, presented on /ws/jwt and
// /ws/first-message) and session tokens (the session cookie). Both are
// stateless, so any node that shares CHAT_JWT_KEY accepts them.
//
// Session tokens are signed with a key derived from CHAT_JWT_KEY, so a
// stolen cookie value is not an access token and an access token cannot
// be planted as a cookie.
type tokens struct {
	accessKey  []byte
	sessionKey []byte
	accessTTL  time.Duration

	access  *wsauth.JWTVerifier
	session *wsauth.JWTVerifier
}

func newTokens(key []byte, accessTTL time.Duration) (*tokens, error) {
	if len(key) < wsauth.MinHMACKeySize {
		return nil, fmt.Errorf("the JWT key must be at least %d bytes", wsauth.MinHMACKeySize)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("wsauth chat session cookie"))
	t := &tokens{accessKey: key, sessionKey: mac.Sum(nil), accessTTL: accessTTL}
	var err error
	if t.access, err = newHS256(t.accessKey); err != nil {
		return nil, err
	}
	if t.session, err = newHS256(t.sessionKey); err != nil {
		return nil, err
	}
	return t, nil
}

func newHS256(key []byte) (*wsauth.JWTVerifier, error) {
	return wsauth.NewJWT(&wsauth.JWTOptions{
		Algorithms: []string{"HS256"},
		Keys:       map[string]any{"": key},
	})
}

// mintAccess returns a new access token for user.
func (t *tokens) mintAccess(user string) (string, time.Time, error) {
	return mint(t.accessKey, user, t.accessTTL)
}

// mintSession returns a new session token for user.
func (t *tokens) mintSession(user string) (string, time.Time, error) {
	return mint(t.sessionKey, user, sessionTTL)
}

// sessionUser returns the user a session token names.
func (t *tokens) sessionUser(ctx context.Context, token string) (string, error) {
	p, err := t.session.Verify(ctx, token, wsauth.Peer{})
	if err != nil {
		return "", err
	}
	return p.Subject, nil
}

func mint(key []byte, user string, ttl time.Duration) (string, time.Time, error) {
	// Whole seconds: that is what "exp" holds, so expires_at agrees with it.
	now := time.Now().Truncate(time.Second)
	exp := now.Add(ttl)
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}).SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp.UTC(), nil
}
