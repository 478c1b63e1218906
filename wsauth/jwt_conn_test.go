package wsauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestJWTRefusalsOverTheWire sends each bad token through a real loopback
// connection, in the first frame and in a per-message envelope, and checks
// the close code the client reads.
func TestJWTRefusalsOverTheWire(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	v, err := wsauth.NewJWT(&wsauth.JWTOptions{
		Algorithms: []string{"RS256"},
		Keys:       map[string]any{"": &key.PublicKey},
		Issuer:     "wsauth-test",
		Audience:   "chat",
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "iss": "wsauth-test", "aud": "chat", "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, k any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rs := func(edit func(jwt.MapClaims)) string { return sign(jwt.SigningMethodRS256, key, claims(edit)) }
	none := func() string {
		enc := base64.RawURLEncoding.EncodeToString
		body, _ := json.Marshal(claims(nil))
		return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(body) + "."
	}

	cases := []struct {
		name  string
		token string
		code  websocket.StatusCode
	}{
		{"valid", rs(nil), 0},
		{"alg none", none(), wsauth.CloseUnauthenticated},
		{"HS256 with the RSA public key as secret", sign(jwt.SigningMethodHS256, pubPEM, claims(nil)), wsauth.CloseUnauthenticated},
		{"expired", rs(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), wsauth.CloseUnauthenticated},
		{"not yet valid", rs(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), wsauth.CloseUnauthenticated},
		{"wrong issuer", rs(func(c jwt.MapClaims) { c["iss"] = "someone-else" }), wsauth.CloseUnauthenticated},
		{"wrong audience", rs(func(c jwt.MapClaims) { c["aud"] = "billing" }), wsauth.CloseUnauthenticated},
		{"missing exp", rs(func(c jwt.MapClaims) { delete(c, "exp") }), wsauth.CloseUnauthenticated},
		{"garbage", "abc.def.ghi", wsauth.CloseUnauthenticated},
		{"empty", "", wsauth.CloseUnauthenticated},
		// Longer than any credential a carrier takes (transport.MaxCredentialLen):
		// the auth message itself is malformed.
		{"oversized", rs(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", wsauth.MaxJWTSize) }), wsauth.CloseMalformed},
	}
	strategies := map[string]struct {
		auth  wsauth.Authenticator
		frame func(tok string) []byte
	}{
		"first-message": {
			wsauth.FirstMessage(&wsauth.Options{Verifier: v, AuthReadLimit: 64 << 10}),
			func(tok string) []byte {
				b, _ := json.Marshal(map[string]string{"type": "auth", "token": tok})
				return b
			},
		},
		"per-message": {
			wsauth.PerMessage(&wsauth.Options{Verifier: v, AuthReadLimit: 64 << 10}),
			func(tok string) []byte { b, _ := json.Marshal(map[string]any{"token": tok, "data": "hi"}); return b },
		},
	}
	for sname, s := range strategies {
		srv := wsauthtest.NewServer(t, s.auth, echo)
		for _, tc := range cases {
			t.Run(sname+"/"+tc.name, func(t *testing.T) {
				ctx := testCtx(t)
				c, _, err := websocket.Dial(ctx, srv.URL+"/ws", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				if err := c.Write(ctx, websocket.MessageText, s.frame(tc.token)); err != nil {
					t.Fatal(err)
				}
				if tc.code == 0 {
					if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), "alice") {
						t.Fatalf("valid token: %q, %v", b, err)
					}
					return
				}
				code, reason := closeCode(t, ctx, c)
				if code != tc.code {
					t.Fatalf("closed with %d %q, want %d", code, reason, tc.code)
				}
				if tc.token != "" && strings.Contains(reason, tc.token[:min(len(tc.token), 20)]) {
					t.Fatalf("close reason %q repeats the token", reason)
				}
			})
		}
	}
}
