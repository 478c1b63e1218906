package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsauth/wsauth/wsauth"
)

// sessionTTL is how long a login lasts (the session cookie).
const sessionTTL = 12 * time.Hour

// tokens mints and checks the two kinds of JWT the chat uses: access
// tokens (returned by /api/login and /api/token, presented on /ws/jwt,
// /ws/first-message and /ws/subprotocol) and session tokens (the session
// cookie). Both are signed, so any node that shares CHAT_JWT_KEY accepts
// them; logout makes them refusable before they expire through the deny
// list (see server.logout).
//
// Session tokens are signed with a key derived from CHAT_JWT_KEY, so a
// stolen cookie value is not an access token and an access token cannot
// be planted as a cookie.
//
// Every token has a random "jti". An access token also carries the jti of
// the session it was minted for as "sid": logout denies the session's jti,
// and with it every access token of that session (checked at connect and
// at refresh by the Authorizer), and the presented access token's own jti.
type tokens struct {
	accessKey  []byte
	sessionKey []byte
	accessTTL  time.Duration

	access  *wsauth.JWTVerifier
	session *wsauth.JWTVerifier
}

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	// SessionID is the jti of the session the token was minted for.
	SessionID string `json:"sid"`
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

// sessionToken is a verified session token.
type sessionToken struct {
	user string
	id   string // its jti
	exp  time.Time
}

// mintAccess returns a new access token for the session's user, and its
// expiry.
func (t *tokens) mintAccess(s sessionToken) (string, time.Time, error) {
	tok, _, exp, err := mint(t.accessKey, s.user, s.id, t.accessTTL)
	return tok, exp, err
}

// mintSession returns a new session token for user, and what it holds.
func (t *tokens) mintSession(user string) (string, sessionToken, error) {
	tok, id, exp, err := mint(t.sessionKey, user, "", sessionTTL)
	return tok, sessionToken{user: user, id: id, exp: exp}, err
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
	return sessionToken{user: p.Subject, id: id, exp: p.ExpiresAt}, nil
}

// newJTI returns a random token ID.
func newJTI() string {
	return rand.Text() // 26 characters of base32, 130 bits
}

// mint signs a token for user with a new jti, and "sid" if not empty; it
// returns the token, its jti and its expiry.
func mint(key []byte, user, sid string, ttl time.Duration) (string, string, time.Time, error) {
	// Whole seconds: that is what "exp" holds, so expires_at agrees with it.
	now := time.Now().Truncate(time.Second)
	exp := now.Add(ttl)
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        newJTI(),
			Subject:   user,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		SessionID: sid,
	}
	var c jwt.Claims = claims
	if sid == "" {
		c = claims.RegisteredClaims // session tokens have no "sid"
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, claims.ID, exp.UTC(), nil
}
