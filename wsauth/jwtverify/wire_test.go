package jwtverify_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

// echo answers each message with "<subject>: <data>" until the peer goes.
func echo(ctx context.Context, c *wsauth.Conn) {
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)); err != nil {
			return
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// closeCode reads from c until it fails and returns the close code and
// reason.
func closeCode(ctx context.Context, c *websocket.Conn) (websocket.StatusCode, string) {
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return websocket.CloseStatus(err), ""
		}
	}
}

// wsURL is the ws:// URL of srv.
func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws" }

// firstMessage authenticates with token in the first frame and, if that
// succeeds, sends "hi" and returns the echo; otherwise it returns the
// close code and reason.
func firstMessage(t *testing.T, ctx context.Context, srv *httptest.Server, token string) (string, websocket.StatusCode, string) {
	t.Helper()
	if token == "" {
		// DialFirstMessage builds no frame without a token: write one.
		c, _, err := websocket.Dial(ctx, wsURL(srv), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","token":""}`)); err != nil {
			t.Fatal(err)
		}
		code, reason := closeCode(ctx, c)
		return "", code, reason
	}
	c, ok, err := transport.DialFirstMessage(ctx, wsURL(srv), token, nil)
	if err != nil {
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("DialFirstMessage: %v", err)
		}
		return "", ce.Code, ce.Reason
	}
	defer c.CloseNow()
	if ok.Subject != "alice" {
		t.Errorf("auth_ok subject %q", ok.Subject)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	return string(b), 0, ""
}

// perMessage sends one envelope carrying token and the data "hi" and
// returns the echo, or the close code and reason.
func perMessage(t *testing.T, ctx context.Context, srv *httptest.Server, token string) (string, websocket.StatusCode, string) {
	t.Helper()
	frame := []byte(`{"token":"","data":"hi"}`) // AppendEnvelope builds none without a token
	if token != "" {
		var err error
		if frame, err = transport.AppendEnvelope(nil, token, json.RawMessage(`"hi"`)); err != nil {
			t.Fatal(err)
		}
	}
	c, _, err := websocket.Dial(ctx, wsURL(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return "", ce.Code, ce.Reason
			}
			t.Fatalf("read: %v", err)
		}
		if strings.Contains(string(b), `"auth_ok"`) {
			continue
		}
		c.Close(websocket.StatusNormalClosure, "")
		return string(b), 0, ""
	}
}

// TestRefusalsOverTheWire sends each bad token through a real loopback
// connection, in the first frame and in a per-message envelope, and checks
// the close code the client reads: 4401 for every refused token, 1011
// when the key source is down.
func TestRefusalsOverTheWire(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	opts := &jwtverify.Options{Issuer: "wsauth-test", Audience: "chat"}
	newVerifier := func(algs []string, kf jwt.Keyfunc) *jwtverify.Verifier {
		v, err := jwtverify.New(algs, kf, opts)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	static := func(k any) jwt.Keyfunc { return func(*jwt.Token) (any, error) { return k, nil } }
	keys, err := jwtverify.Keys(map[string]any{"": &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwtverify.Keys(map[string]any{"": pubPEM}); err == nil {
		t.Fatal("Keys took the PEM of a public key as an HMAC secret")
	}
	pemSet := map[string]any{"": pubPEM} // what Keys refused, looked up by hand
	bypass := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return pemSet[kid], nil
	}
	mixed := []string{"HS256", "RS256"}
	verifiers := map[string]*jwtverify.Verifier{
		"RS256":                      newVerifier([]string{"RS256"}, keys),
		"confusion a: PEM":           newVerifier(mixed, static(pubPEM)),
		"confusion b: DER in a set":  newVerifier(mixed, static(jwt.VerificationKeySet{Keys: []jwt.VerificationKey{pubDER, &key.PublicKey}})),
		"confusion c: Keys bypassed": newVerifier(mixed, bypass),
		"outage: ErrUnavailable": newVerifier([]string{"RS256"}, func(*jwt.Token) (any, error) {
			return nil, fmt.Errorf("jwks: %w", wsauth.ErrUnavailable)
		}),
		"outage: *url.Error": newVerifier([]string{"RS256"}, func(*jwt.Token) (any, error) {
			return nil, &url.Error{Op: "Get", URL: "https://id.example/jwks", Err: context.DeadlineExceeded}
		}),
		"Keyfunc panics": newVerifier([]string{"RS256"}, func(*jwt.Token) (any, error) { panic("keyfunc bug") }),
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
	enc := base64.RawURLEncoding.EncodeToString
	body, _ := json.Marshal(claims(nil))
	none := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(body) + "."
	withPEM := sign(jwt.SigningMethodHS256, pubPEM, claims(nil))
	withDER := sign(jwt.SigningMethodHS256, pubDER, claims(nil))

	const (
		ok          = 0
		unauth      = transport.CloseUnauthenticated
		unavailable = websocket.StatusInternalError
	)
	cases := []struct {
		verifier string
		name     string
		token    string
		code     websocket.StatusCode
	}{
		{"RS256", "valid", rs(nil), ok},
		{"RS256", "alg none", none, unauth},
		{"RS256", "HS256 with the RSA PEM as secret", withPEM, unauth},
		{"RS256", "expired", rs(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), unauth},
		{"RS256", "nbf in the future", rs(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), unauth},
		{"RS256", "wrong issuer", rs(func(c jwt.MapClaims) { c["iss"] = "someone-else" }), unauth},
		{"RS256", "wrong audience", rs(func(c jwt.MapClaims) { c["aud"] = "billing" }), unauth},
		{"RS256", "missing exp", rs(func(c jwt.MapClaims) { delete(c, "exp") }), unauth},
		{"RS256", "garbage", "abc.def.ghi", unauth},
		{"RS256", "empty", "", unauth},
		{"confusion a: PEM", "HS256 with the PEM", withPEM, unauth},
		{"confusion b: DER in a set", "HS256 with the DER", withDER, unauth},
		{"confusion b: DER in a set", "genuine RS256", rs(nil), ok},
		{"confusion c: Keys bypassed", "HS256 with the PEM", withPEM, unauth},
		{"outage: ErrUnavailable", "valid", rs(nil), unavailable},
		{"outage: *url.Error", "valid", rs(nil), unavailable},
		{"Keyfunc panics", "valid", rs(nil), unavailable},
	}
	strategies := []struct {
		name     string
		strategy wsauth.Strategy
		send     func(*testing.T, context.Context, *httptest.Server, string) (string, websocket.StatusCode, string)
		want     string // the echo of "hi"
	}{
		{"first-message", wsauth.FirstMessage{}, firstMessage, "alice: hi"},
		{"per-message", wsauth.PerMessage{}, perMessage, `alice: "hi"`},
	}
	for _, s := range strategies {
		servers := map[string]*httptest.Server{}
		for name, v := range verifiers {
			srv := httptest.NewServer(wsauth.Handler(wsauth.New(v, s.strategy, nil), echo))
			t.Cleanup(srv.Close)
			servers[name] = srv
		}
		for _, tc := range cases {
			t.Run(s.name+"/"+tc.verifier+"/"+tc.name, func(t *testing.T) {
				ctx := testCtx(t)
				got, code, reason := s.send(t, ctx, servers[tc.verifier], tc.token)
				if code != tc.code {
					t.Fatalf("closed with %d %q, want %d", code, reason, tc.code)
				}
				if tc.code == ok && got != s.want {
					t.Fatalf("echo %q, want %q", got, s.want)
				}
				if tc.token != "" && strings.Contains(reason, tc.token[:min(len(tc.token), 20)]) {
					t.Fatalf("close reason %q repeats the token", reason)
				}
			})
		}
	}
}

// TestPerMessageRepeatsToken: on a per-message connection, frames that
// repeat the token last verified are not verified again, even with the
// cache off (Stable), and a frame with a bad token still closes with 4401.
func TestPerMessageRepeatsToken(t *testing.T) {
	secret := make([]byte, 32)
	rand.Read(secret)
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(secret)})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	v, err := jwtverify.New([]string{"HS256"}, func(t *jwt.Token) (any, error) { calls.Add(1); return keys(t) }, &jwtverify.Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wsauth.Handler(wsauth.New(v, wsauth.PerMessage{}, nil), echo))
	defer srv.Close()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}

	ctx := testCtx(t)
	c, _, err := websocket.Dial(ctx, wsURL(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	tc := transport.NewTokenConn(c, tok)
	const frames = 5
	for i := range frames {
		if err := tc.Write(ctx, json.RawMessage(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for len(got) < frames {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"auth_ok"`) {
			got = append(got, string(b))
		}
	}
	if want := []string{"alice: 0", "alice: 1", "alice: 2", "alice: 3", "alice: 4"}; !slices.Equal(got, want) {
		t.Errorf("echoes %q, want %q", got, want)
	}
	// wsauth remembers the connecting frame's token: one verification,
	// however many frames repeat it.
	if n := calls.Load(); n != 1 {
		t.Errorf("Keyfunc called %d times for %d frames of one token, want 1", n, frames)
	}
	tc.SetToken("abc.def.ghi")
	if err := tc.Write(ctx, json.RawMessage(`"bad"`)); err != nil {
		t.Fatal(err)
	}
	if code, reason := closeCode(ctx, c); code != transport.CloseUnauthenticated {
		t.Errorf("bad token: closed with %d %q, want 4401", code, reason)
	}
}
