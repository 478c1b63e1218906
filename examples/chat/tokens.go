package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

// sessionTTL is how long a login lasts (the session cookie).
const sessionTTL = 12 * time.Hour

// tokens mints and checks the two kinds of JWT the chat uses: access
// tokens (returned by /api/login and /api/token, presented on /ws/jwt,
// /ws/first-message and /ws/subprotocol) and session tokens (the session
// cookie). Both are signed, so any node that shares CHAT_JWT_KEY accepts
// them; logout makes them refusable before they expire, through the
// store's revocations (see server.logout).
//
// Session tokens are signed with a key derived from CHAT_JWT_KEY, so a
// stolen cookie value is not an access token and an access token cannot
// be planted as a cookie.
//
// Every token has a random "jti". An access token also carries the jti of
// the session it was minted for as "sid": logout revokes the session's
// jti, which wsauth then refuses as the cookie's jti and as every access
// token's sid (at connect and for every later credential), and the live
// connections of the session end.
type tokens struct {
	accessKey  []byte
	sessionKey []byte
	accessTTL  time.Duration

	access  *jwtverify.Verifier
	session *jwtverify.Verifier
}

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	// IssuedAt is "iat" with milliseconds, which jwt/v5 would round to
	// seconds: a user who logs out and straight back in gets a token
	// issued after the revocation, not in the same second (which is
	// refused).
	IssuedAt json.Number `json:"iat"`
	// SessionID is the jti of the session the token was minted for;
	// session tokens have none.
	SessionID string `json:"sid,omitempty"`
}

func newTokens(key []byte, accessTTL time.Duration) (*tokens, error) {
	if len(key) < minKeySize {
		return nil, fmt.Errorf("the JWT key must be at least %d bytes", minKeySize)
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

// minKeySize is the shortest HMAC key: the output size of SHA-256.
const minKeySize = 32

func newHS256(key []byte) (*jwtverify.Verifier, error) {
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(key)})
	if err != nil {
		return nil, err
	}
	return jwtverify.New([]string{"HS256"}, keys, nil)
}

// sessionToken is a verified session token.
type sessionToken struct {
	user string
	id   string // its jti
	iat  time.Time
	exp  time.Time
}

// mintAccess returns a new access token for the session's user, and its
// expiry.
func (t *tokens) mintAccess(s sessionToken) (string, time.Time, error) {
	tok, _, _, exp, err := mint(t.accessKey, s.user, s.id, t.accessTTL)
	return tok, exp, err
}

// mintSession returns a new session token for user, and what it holds.
func (t *tokens) mintSession(user string) (string, sessionToken, error) {
	tok, id, iat, exp, err := mint(t.sessionKey, user, "", sessionTTL)
	return tok, sessionToken{user: user, id: id, iat: iat, exp: exp}, err
}

// checkSession verifies a session token. It does not consult the deny
// list; server.sessionOf does.
func (t *tokens) checkSession(ctx context.Context, token string) (sessionToken, error) {
	p, err := t.session.Verify(ctx, token, wsauth.Peer{})
	if err != nil {
		return sessionToken{}, err
	}
	id, _ := p.Claims["jti"].(string)
	if id == "" {
		return sessionToken{}, fmt.Errorf("%w: session without jti", wsauth.ErrInvalid)
	}
	return sessionToken{user: p.Subject, id: id, iat: p.IssuedAt, exp: p.ExpiresAt}, nil
}

// newJTI returns a random token ID.
func newJTI() string {
	return rand.Text() // 26 characters of base32, 130 bits
}

// mint signs a token for user with a new jti, and "sid" if not empty; it
// returns the token, its jti, its issue time and its expiry.
func mint(key []byte, user, sid string, ttl time.Duration) (string, string, time.Time, time.Time, error) {
	now := time.Now()
	// iat in milliseconds, rounded down (towards refusal): rounded up, a
	// token minted just before a revocation, in its millisecond, would
	// pass for one minted after.
	iat := now.Truncate(time.Millisecond)
	// exp in whole seconds, so that expires_at agrees with it.
	exp := now.Truncate(time.Second).Add(ttl)
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        newJTI(),
			Subject:   user,
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		IssuedAt:  json.Number(strconv.FormatFloat(float64(iat.UnixMilli())/1000, 'f', 3, 64)),
		SessionID: sid,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		return "", "", time.Time{}, time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, claims.ID, iat, exp.UTC(), nil
}
