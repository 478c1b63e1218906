package wsauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys are generated once: RSA 2048 takes a noticeable moment.
type testKeys struct {
	hmac    []byte
	rsa     *rsa.PrivateKey
	ed      ed25519.PrivateKey
	ec      *ecdsa.PrivateKey
	ec384   *ecdsa.PrivateKey
	rsaPEM  []byte // PEM of the RSA public key, the classic confusion secret
	rsaDER  []byte
	edPub   ed25519.PublicKey
	allPubs map[string]any // a key set by kid
}

var keys = sync.OnceValue(func() *testKeys {
	k := &testKeys{hmac: make([]byte, 32)}
	rand.Read(k.hmac)
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.edPub, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		panic(err)
	}
	if k.rsaDER, err = x509.MarshalPKIXPublicKey(&k.rsa.PublicKey); err != nil {
		panic(err)
	}
	k.rsaPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.rsaDER})
	k.allPubs = map[string]any{
		"hs": k.hmac,
		"rs": &k.rsa.PublicKey,
		"ed": k.edPub,
		"es": &k.ec.PublicKey,
	}
	return k
})

// t0 is the fake clock's start; far from the real time on purpose.
var t0 = time.Unix(1_900_000_000, 0)

// fakeClock is a settable clock for JWTOptions.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

const testSub = "alice-4f2c" // distinctive, to spot it in error strings

// claims returns valid claims at t0, changed by kv pairs; a nil value
// deletes the claim.
func claims(kv ...any) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub":   testSub,
		"exp":   t0.Add(time.Hour).Unix(),
		"iat":   t0.Unix(),
		"scope": "room:a room:b",
		"name":  "Alice",
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

// mint signs c with m and key; header holds extra header fields.
func mint(tb testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims, header map[string]any) string {
	tb.Helper()
	tok := jwt.NewWithClaims(m, c)
	maps.Copy(tok.Header, header)
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func mintHS(tb testing.TB, c jwt.MapClaims) string {
	return mint(tb, jwt.SigningMethodHS256, keys().hmac, c, nil)
}

// b64 encodes a JSON segment by hand.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// baseOpts accepts the four test algorithms with their keys by kid, at
// the fake clock's time.
func baseOpts(c *fakeClock) *JWTOptions {
	k := keys()
	return &JWTOptions{
		Algorithms: []string{"HS256", "RS256", "EdDSA", "ES256"},
		Keyfunc: func(t *jwt.Token) (any, error) {
			switch t.Method.Alg() {
			case "HS256":
				return k.hmac, nil
			case "RS256":
				return &k.rsa.PublicKey, nil
			case "EdDSA":
				return k.edPub, nil
			case "ES256":
				return &k.ec.PublicKey, nil
			}
			return nil, errors.New("no key")
		},
		Now: c.Now,
	}
}

func mustJWT(tb testing.TB, o *JWTOptions) *JWTVerifier {
	tb.Helper()
	v, err := NewJWT(o)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// assertNoLeak fails if err's text shows the token, its signature, or a
// claim value of the test tokens.
func assertNoLeak(t *testing.T, err error, token string) {
	t.Helper()
	msg := err.Error()
	leaks := []string{testSub, "evil", "Alice"}
	if len(token) >= 8 {
		leaks = append(leaks, token)
	}
	if parts := strings.Split(token, "."); len(parts) == 3 {
		for _, p := range parts {
			if len(p) >= 8 {
				leaks = append(leaks, p)
			}
		}
	}
	for _, l := range leaks {
		if strings.Contains(msg, l) {
			t.Errorf("error %q contains %q", msg, l)
		}
	}
}

func TestJWTAccepts(t *testing.T) {
	k := keys()
	tests := []struct {
		name      string
		method    jwt.SigningMethod
		key       any
		c         jwt.MapClaims
		wantScope []string
	}{
		{"HS256", jwt.SigningMethodHS256, k.hmac, claims(), []string{"room:a", "room:b"}},
		{"RS256", jwt.SigningMethodRS256, k.rsa, claims(), []string{"room:a", "room:b"}},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed, claims(), []string{"room:a", "room:b"}},
		{"ES256", jwt.SigningMethodES256, k.ec, claims(), []string{"room:a", "room:b"}},
		{"scope array", jwt.SigningMethodHS256, k.hmac, claims("scope", []string{"x", "", "y z"}), []string{"x", "y z"}},
		{"scope spaces", jwt.SigningMethodHS256, k.hmac, claims("scope", "  a   b "), []string{"a", "b"}},
		{"no scope", jwt.SigningMethodHS256, k.hmac, claims("scope", nil), nil},
		{"no iat", jwt.SigningMethodHS256, k.hmac, claims("iat", nil), []string{"room:a", "room:b"}},
		{"nbf now", jwt.SigningMethodHS256, k.hmac, claims("nbf", t0.Unix()), []string{"room:a", "room:b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustJWT(t, baseOpts(newClock()))
			tok := mint(t, tt.method, tt.key, tt.c, nil)
			p, err := v.Verify(context.Background(), tok, Peer{})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Subject != testSub {
				t.Errorf("Subject = %q", p.Subject)
			}
			if want := t0.Add(time.Hour); !p.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v", p.ExpiresAt, want)
			}
			if !slices.Equal(p.Scope, tt.wantScope) {
				t.Errorf("Scope = %q, want %q", p.Scope, tt.wantScope)
			}
			if p.Claims["name"] != "Alice" || p.Claims["sub"] != testSub {
				t.Errorf("Claims = %v", p.Claims)
			}
			for name, val := range p.Claims {
				if s, ok := val.(string); ok && strings.Contains(s, tok) {
					t.Errorf("claim %q holds the token", name)
				}
			}
		})
	}
}

func TestJWTRefuses(t *testing.T) {
	k := keys()
	none := mint(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(), nil)
	valid := mintHS(t, claims())
	parts := strings.Split(valid, ".")
	handNone := b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "."
	// Flip the signature's first character to keep it well-formed.
	badSig := parts[0] + "." + parts[1] + "." + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, parts[2][:1]) + parts[2][1:]
	oversized := mintHS(t, claims("pad", strings.Repeat("x", 100<<10)))

	rsaOnly := func(o *JWTOptions) {
		o.Algorithms = []string{"RS256"}
		o.Keyfunc = nil
		o.Keys = map[string]any{"": &k.rsa.PublicKey}
	}
	hsAndRSAKey := func(o *JWTOptions) {
		o.Algorithms = []string{"HS256", "RS256"}
		o.Keyfunc = nil
		o.Keys = map[string]any{"": &k.rsa.PublicKey}
	}
	// A careless Keyfunc that hands the RSA key's bytes to any algorithm.
	pemKeyfunc := func(o *JWTOptions) {
		o.Algorithms = []string{"HS256", "RS256"}
		o.Keyfunc = func(*jwt.Token) (any, error) { return k.rsaPEM, nil }
	}
	withIss := func(o *JWTOptions) { o.Issuer = "https://good.example" }
	withAud := func(o *JWTOptions) { o.Audience = "chat" }
	keySet := func(o *JWTOptions) { o.Keyfunc = nil; o.Keys = k.allPubs }

	tests := []struct {
		name  string
		opts  func(*JWTOptions)
		token string
		want  error
	}{
		{"empty", nil, "", ErrNoCredential},
		{"alg none via jwt", nil, none, ErrInvalid},
		{"alg none by hand", nil, handNone, ErrInvalid},
		{"alg none uppercase", nil, b64(`{"alg":"NONE"}`) + "." + parts[1] + ".", ErrInvalid},
		{"confusion: HS256 with PEM, RS256 allowed", rsaOnly, mint(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), nil), ErrInvalid},
		{"confusion: HS256 with DER, RS256 allowed", rsaOnly, mint(t, jwt.SigningMethodHS256, k.rsaDER, claims(), nil), ErrInvalid},
		{"confusion: HS256 allowed, RSA key", hsAndRSAKey, mint(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), nil), ErrInvalid},
		{"confusion: RS256 token, PEM bytes from Keyfunc", pemKeyfunc, mint(t, jwt.SigningMethodRS256, k.rsa, claims(), nil), ErrInvalid},
		{"expired", nil, mintHS(t, claims("exp", t0.Unix())), ErrExpired},
		{"expired long ago", nil, mintHS(t, claims("exp", t0.Add(-24*time.Hour).Unix())), ErrExpired},
		{"expired and wrong issuer", withIss, mintHS(t, claims("exp", t0.Unix(), "iss", "https://evil.example")), ErrInvalid},
		{"expired and no sub", nil, mintHS(t, claims("exp", t0.Unix(), "sub", nil)), ErrInvalid},
		{"nbf in future", nil, mintHS(t, claims("nbf", t0.Add(time.Minute).Unix())), ErrInvalid},
		{"iat in future", nil, mintHS(t, claims("iat", t0.Add(time.Minute).Unix())), ErrInvalid},
		{"wrong issuer", withIss, mintHS(t, claims("iss", "https://evil.example")), ErrInvalid},
		{"missing issuer", withIss, mintHS(t, claims()), ErrInvalid},
		{"wrong audience", withAud, mintHS(t, claims("aud", []string{"evil", "other"})), ErrInvalid},
		{"missing audience", withAud, mintHS(t, claims()), ErrInvalid},
		{"missing exp", nil, mintHS(t, claims("exp", nil)), ErrInvalid},
		{"exp zero", nil, mintHS(t, claims("exp", 0)), ErrInvalid},
		{"exp string", nil, mintHS(t, claims("exp", "evil")), ErrInvalid},
		{"missing sub", nil, mintHS(t, claims("sub", nil)), ErrInvalid},
		{"empty sub", nil, mintHS(t, claims("sub", "")), ErrInvalid},
		{"sub number", nil, mintHS(t, claims("sub", 42)), ErrInvalid},
		{"scope number", nil, mintHS(t, claims("scope", 42)), ErrInvalid},
		{"scope mixed array", nil, mintHS(t, claims("scope", []any{"a", 1})), ErrInvalid},
		{"garbage", nil, "evil-garbage-token", ErrInvalid},
		{"garbage three parts", nil, "evil.garbage.token", ErrInvalid},
		{"four parts", nil, valid + ".evil", ErrInvalid},
		{"dots", nil, "..", ErrInvalid},
		{"header not JSON", nil, b64("evil") + "." + parts[1] + "." + parts[2], ErrInvalid},
		{"oversized", nil, oversized, ErrInvalid},
		{"wrong signature", nil, badSig, ErrInvalid},
		{"signature from other key", nil, mint(t, jwt.SigningMethodHS256, []byte("evil-secret-evil-secret"), claims(), nil), ErrInvalid},
		{"signature swapped", nil, parts[0] + "." + parts[1] + "." + strings.Split(mintHS(t, claims("name", "Bob")), ".")[2], ErrInvalid},
		{"alg not allowed: HS384", nil, mint(t, jwt.SigningMethodHS384, k.hmac, claims(), nil), ErrInvalid},
		{"alg not allowed: PS256", nil, mint(t, jwt.SigningMethodPS256, k.rsa, claims(), nil), ErrInvalid},
		{"alg unknown", nil, b64(`{"alg":"evil"}`) + "." + parts[1] + "." + parts[2], ErrInvalid},
		{"alg missing", nil, b64(`{"typ":"JWT"}`) + "." + parts[1] + "." + parts[2], ErrInvalid},
		{"crit header", nil, mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"crit": []string{"exp"}}), ErrInvalid},
		{"unknown kid", keySet, mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"kid": "evil"}), ErrInvalid},
		{"kid not string", keySet, mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"kid": 7}), ErrInvalid},
		{"no kid, no default key", keySet, mintHS(t, claims()), ErrInvalid},
		{"kid of other family", keySet, mint(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), map[string]any{"kid": "rs"}), ErrInvalid},
		{"HS256 with short key from Keyfunc", func(o *JWTOptions) {
			o.Keyfunc = func(*jwt.Token) (any, error) { return k.hmac[:16], nil }
		}, mint(t, jwt.SigningMethodHS256, k.hmac[:16], claims(), nil), ErrInvalid},
		{"HS512 with 32-byte key", func(o *JWTOptions) {
			o.Algorithms = []string{"HS512"}
			o.Keyfunc = func(*jwt.Token) (any, error) { return k.hmac, nil }
		}, mint(t, jwt.SigningMethodHS512, k.hmac, claims(), nil), ErrInvalid},
		{"ES256 with P-384 key", func(o *JWTOptions) {
			o.Keyfunc = nil
			o.Keys = map[string]any{"": &k.ec384.PublicKey}
		}, mint(t, jwt.SigningMethodES256, k.ec, claims(), nil), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOpts(newClock())
			if tt.opts != nil {
				tt.opts(o)
			}
			var calls atomic.Int32
			if kf := o.Keyfunc; kf != nil {
				o.Keyfunc = func(t *jwt.Token) (any, error) { calls.Add(1); return kf(t) }
			}
			v := mustJWT(t, o)
			for range 2 { // the second time would be a cache hit
				p, err := v.Verify(context.Background(), tt.token, Peer{})
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify = %+v, %v; want %v", p, err, tt.want)
				}
				if p.Subject != "" || p.Claims != nil {
					t.Errorf("refused Verify returned %+v", p)
				}
				assertNoLeak(t, err, tt.token)
				t.Log(err)
			}
			if tt.name == "oversized" && calls.Load() != 0 {
				t.Errorf("oversized token reached the Keyfunc")
			}
		})
	}
}

func TestJWTKeysByKid(t *testing.T) {
	k := keys()
	o := baseOpts(newClock())
	o.Keyfunc = nil
	o.Keys = maps.Clone(k.allPubs)
	o.Keys[""] = k.edPub
	v := mustJWT(t, o)
	for _, tok := range []string{
		mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"kid": "hs"}),
		mint(t, jwt.SigningMethodRS256, k.rsa, claims(), map[string]any{"kid": "rs"}),
		mint(t, jwt.SigningMethodEdDSA, k.ed, claims(), map[string]any{"kid": "ed"}),
		mint(t, jwt.SigningMethodES256, k.ec, claims(), map[string]any{"kid": "es"}),
		mint(t, jwt.SigningMethodEdDSA, k.ed, claims(), nil),
	} {
		if _, err := v.Verify(context.Background(), tok, Peer{}); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	// The caller's map is copied: changing it later has no effect.
	delete(o.Keys, "hs")
	if _, err := v.Verify(context.Background(), mint(t, jwt.SigningMethodHS256, k.hmac, claims("jti", "2"), map[string]any{"kid": "hs"}), Peer{}); err != nil {
		t.Errorf("after caller changed Keys: %v", err)
	}
}

func TestJWTKeySetFiltered(t *testing.T) {
	k := keys()
	o := baseOpts(newClock())
	o.Keyfunc = func(*jwt.Token) (any, error) {
		// RSA key's PEM among the HMAC secrets must not verify anything.
		return jwt.VerificationKeySet{Keys: []jwt.VerificationKey{&k.rsa.PublicKey, k.hmac}}, nil
	}
	v := mustJWT(t, o)
	if _, err := v.Verify(context.Background(), mintHS(t, claims()), Peer{}); err != nil {
		t.Errorf("HS256 with mixed set: %v", err)
	}
	o.Keyfunc = func(*jwt.Token) (any, error) {
		return jwt.VerificationKeySet{Keys: []jwt.VerificationKey{&k.rsa.PublicKey}}, nil
	}
	v = mustJWT(t, o)
	_, err := v.Verify(context.Background(), mint(t, jwt.SigningMethodHS256, k.rsaDER, claims(), nil), Peer{})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("HS256 against RSA-only set: %v", err)
	}
}

func TestJWTKeyfuncErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unavailable", fmt.Errorf("jwks fetch evil-detail: %w", ErrUnavailable), ErrUnavailable},
		{"other", errors.New("evil-detail"), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOpts(newClock())
			o.Keyfunc = func(*jwt.Token) (any, error) { return nil, tt.err }
			v := mustJWT(t, o)
			tok := mintHS(t, claims())
			_, err := v.Verify(context.Background(), tok, Peer{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "evil-detail") {
				t.Errorf("Keyfunc error text passed on: %q", err)
			}
			assertNoLeak(t, err, tok)
		})
	}
}

func TestJWTPeerScope(t *testing.T) {
	v := mustJWT(t, baseOpts(newClock()))
	tok := mintHS(t, claims())
	for _, tt := range []struct {
		scope string
		want  error
	}{
		{"", nil},
		{"room:a", nil},
		{"room:b", nil},
		{"room:evil", ErrForbidden},
		{"room", ErrForbidden},
	} {
		_, err := v.Verify(context.Background(), tok, Peer{Scope: tt.scope})
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("scope %q: %v, want %v", tt.scope, err, tt.want)
		}
	}
}

func TestJWTLeeway(t *testing.T) {
	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprintf("cache=%d", size), func(t *testing.T) {
			clock := newClock()
			o := baseOpts(clock)
			o.Leeway = 30 * time.Second
			o.CacheSize = size
			v := mustJWT(t, o)
			tok := mintHS(t, claims("exp", t0.Unix(), "nbf", t0.Add(20*time.Second).Unix()))

			// nbf 20 s ahead is within the leeway, and so is exp 29 s ago.
			for _, d := range []time.Duration{0, 29 * time.Second} {
				clock.Set(t0.Add(d))
				if _, err := v.Verify(context.Background(), tok, Peer{}); err != nil {
					t.Errorf("at exp+%v: %v", d, err)
				}
			}
			clock.Set(t0.Add(31 * time.Second))
			if _, err := v.Verify(context.Background(), tok, Peer{}); !errors.Is(err, ErrExpired) {
				t.Errorf("at exp+31s: %v, want ErrExpired", err)
			}
			clock.Set(t0.Add(-11 * time.Second))
			if _, err := v.Verify(context.Background(), mintHS(t, claims("nbf", t0.Add(20*time.Second).Unix(), "iat", nil)), Peer{}); !errors.Is(err, ErrInvalid) {
				t.Errorf("nbf 31s ahead: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestNewJWTRefuses(t *testing.T) {
	k := keys()
	tests := []struct {
		name string
		opts *JWTOptions
	}{
		{"nil", nil},
		{"no algorithms", &JWTOptions{Keys: map[string]any{"": k.hmac}}},
		{"none", &JWTOptions{Algorithms: []string{"none"}, Keys: map[string]any{"": k.hmac}}},
		{"none among others", &JWTOptions{Algorithms: []string{"HS256", "none"}, Keys: map[string]any{"": k.hmac}}},
		{"unknown algorithm", &JWTOptions{Algorithms: []string{"HS257"}, Keys: map[string]any{"": k.hmac}}},
		{"no key source", &JWTOptions{Algorithms: []string{"HS256"}}},
		{"empty Keys", &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{}}},
		{"both key sources", &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": k.hmac},
			Keyfunc: func(*jwt.Token) (any, error) { return k.hmac, nil }}},
		{"private key", &JWTOptions{Algorithms: []string{"RS256"}, Keys: map[string]any{"": k.rsa}}},
		{"empty secret", &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": []byte{}}}},
		{"short secret", &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": k.hmac[:MinHMACKeySize-1]}}},
		{"string secret", &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": "secret"}}},
		{"nil RSA key", &JWTOptions{Algorithms: []string{"RS256"}, Keys: map[string]any{"": (*rsa.PublicKey)(nil)}}},
		{"short Ed25519 key", &JWTOptions{Algorithms: []string{"EdDSA"}, Keys: map[string]any{"": k.edPub[:16]}}},
		{"leeway too large", &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": k.hmac}, Leeway: MaxJWTLeeway + 1}},
		{"negative leeway", &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": k.hmac}, Leeway: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewJWT(tt.opts)
			if err == nil || v != nil {
				t.Fatalf("NewJWT = %v, %v; want an error", v, err)
			}
			if strings.Contains(err.Error(), string(k.hmac)) {
				t.Errorf("error shows the secret")
			}
		})
	}
}

func TestNewJWTDoesNotChangeOptions(t *testing.T) {
	o := &JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": keys().hmac}}
	want := *o
	mustJWT(t, o)
	if o.ScopeClaim != "" || o.Now != nil || o.CacheSize != 0 || !slices.Equal(o.Algorithms, want.Algorithms) {
		t.Errorf("options changed: %+v", o)
	}
}

func TestJWTScopeClaim(t *testing.T) {
	o := baseOpts(newClock())
	o.ScopeClaim = "scp"
	v := mustJWT(t, o)
	p, err := v.Verify(context.Background(), mintHS(t, claims("scp", []string{"r1", "r2"})), Peer{})
	if err != nil || !slices.Equal(p.Scope, []string{"r1", "r2"}) {
		t.Errorf("Verify = %q, %v", p.Scope, err)
	}
}

func TestJWTIssuerAudience(t *testing.T) {
	o := baseOpts(newClock())
	o.Issuer = "https://good.example"
	o.Audience = "chat"
	v := mustJWT(t, o)
	for _, aud := range []any{"chat", []string{"other", "chat"}} {
		tok := mintHS(t, claims("iss", "https://good.example", "aud", aud))
		if _, err := v.Verify(context.Background(), tok, Peer{}); err != nil {
			t.Errorf("aud %v: %v", aud, err)
		}
	}
}

// countingOpts returns options whose Keyfunc counts its calls.
func countingOpts(c *fakeClock, calls *atomic.Int32) *JWTOptions {
	o := baseOpts(c)
	kf := o.Keyfunc
	o.Keyfunc = func(t *jwt.Token) (any, error) { calls.Add(1); return kf(t) }
	return o
}

func TestJWTCacheHit(t *testing.T) {
	var calls atomic.Int32
	v := mustJWT(t, countingOpts(newClock(), &calls))
	tok := mint(t, jwt.SigningMethodEdDSA, keys().ed, claims(), nil)
	p1, err := v.Verify(context.Background(), tok, Peer{})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := v.Verify(context.Background(), tok, Peer{})
	if err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Keyfunc called %d times, want 1", n)
	}
	if p1.Subject != p2.Subject || !p1.ExpiresAt.Equal(p2.ExpiresAt) || !slices.Equal(p1.Scope, p2.Scope) {
		t.Errorf("cached %+v, first %+v", p2, p1)
	}
	// A token that is a substring of a larger string hits too.
	big := "xx" + tok + "yy"
	if _, err := v.Verify(context.Background(), big[2:len(big)-2], Peer{}); err != nil || calls.Load() != 1 {
		t.Errorf("substring token: %v, %d calls", err, calls.Load())
	}
	// Appending to a handed-out Scope does not reach the cached one.
	_ = append(p2.Scope, "room:evil")
	p3, _ := v.Verify(context.Background(), tok, Peer{Scope: "room:b"})
	if !slices.Equal(p3.Scope, []string{"room:a", "room:b"}) {
		t.Errorf("cached scope changed: %q", p3.Scope)
	}
	// The scope check applies to cache hits too.
	if _, err := v.Verify(context.Background(), tok, Peer{Scope: "room:evil"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("cache hit, wrong scope: %v", err)
	}
}

func TestJWTCacheHonoursExp(t *testing.T) {
	clock := newClock()
	var calls atomic.Int32
	v := mustJWT(t, countingOpts(clock, &calls))
	tok := mintHS(t, claims("exp", t0.Add(time.Minute).Unix()))
	if _, err := v.Verify(context.Background(), tok, Peer{}); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(59 * time.Second))
	if _, err := v.Verify(context.Background(), tok, Peer{}); err != nil {
		t.Fatalf("before exp: %v", err)
	}
	clock.Set(t0.Add(time.Minute))
	for range 2 { // served from the cache once, then from a full check
		_, err := v.Verify(context.Background(), tok, Peer{})
		if !errors.Is(err, ErrExpired) {
			t.Fatalf("at exp: %v, want ErrExpired", err)
		}
		assertNoLeak(t, err, tok)
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("expired entry kept: %d entries", n)
	}
}

func TestJWTCacheSkipsFailures(t *testing.T) {
	var calls atomic.Int32
	o := countingOpts(newClock(), &calls)
	o.Issuer = "https://good.example"
	v := mustJWT(t, o)
	tok := mintHS(t, claims("iss", "https://evil.example"))
	for range 3 {
		if _, err := v.Verify(context.Background(), tok, Peer{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify: %v", err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("Keyfunc called %d times, want 3: a failure was cached", n)
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("cache holds %d entries", n)
	}
}

func TestJWTCacheDisabled(t *testing.T) {
	var calls atomic.Int32
	o := countingOpts(newClock(), &calls)
	o.CacheSize = -1
	v := mustJWT(t, o)
	tok := mintHS(t, claims())
	for range 3 {
		if _, err := v.Verify(context.Background(), tok, Peer{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("Keyfunc called %d times, want 3", n)
	}
}

func TestJWTCacheBounded(t *testing.T) {
	for _, size := range []int{1, 5, 64, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var calls atomic.Int32
			o := countingOpts(newClock(), &calls)
			o.CacheSize = size
			v := mustJWT(t, o)
			toks := make([]string, size+100)
			for i := range toks {
				toks[i] = mintHS(t, claims("jti", fmt.Sprint(i)))
				if _, err := v.Verify(context.Background(), toks[i], Peer{}); err != nil {
					t.Fatal(err)
				}
				if n := v.cache.len(); n > size {
					t.Fatalf("after %d tokens: %d entries, want ≤ %d", i+1, n, size)
				}
			}
			if n := v.cache.len(); n == 0 {
				t.Errorf("cache empty")
			}
			// Evicted or not, every token still verifies.
			for _, tok := range toks {
				if _, err := v.Verify(context.Background(), tok, Peer{}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestJWTCacheClock(t *testing.T) {
	c := newJWTCacheShards(3, 1) // one shard, so eviction order is known
	p := func(s string) Principal { return Principal{Subject: s, ExpiresAt: t0.Add(time.Hour)} }
	for _, s := range []string{"a", "b", "c"} {
		c.put(s, p(s))
	}
	if _, st := c.get("a", t0, 0); st != cacheHit {
		t.Fatalf("a: %v", st)
	}
	c.put("d", p("d")) // a was used: it gets a second chance, b goes
	want := map[string]cacheState{"a": cacheHit, "b": cacheMiss, "c": cacheHit, "d": cacheHit}
	for s, w := range want {
		if got, st := c.get(s, t0, 0); st != w || (st == cacheHit && got.Subject != s) {
			t.Errorf("%s: %v %q, want %v", s, st, got.Subject, w)
		}
	}
	// An expired entry frees its slot for the next insert.
	if _, st := c.get("c", t0.Add(time.Hour), 0); st != cacheExpired {
		t.Errorf("c at exp: %v", st)
	}
	c.put("e", p("e"))
	if _, st := c.get("a", t0, 0); st != cacheHit || c.len() != 3 {
		t.Errorf("a after e: %v, len %d", st, c.len())
	}
}

func TestJWTConcurrent(t *testing.T) {
	clock := newClock()
	o := baseOpts(clock)
	o.CacheSize = 16
	v := mustJWT(t, o)
	k := keys()
	var toks []string
	for i := range 40 {
		toks = append(toks, mint(t, jwt.SigningMethodHS256, k.hmac, claims("jti", fmt.Sprint(i)), nil))
	}
	toks = append(toks, mint(t, jwt.SigningMethodEdDSA, k.ed, claims(), nil))
	bad := mintHS(t, claims("sub", nil))

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				tok := toks[(g*7+i)%len(toks)]
				p, err := v.Verify(context.Background(), tok, Peer{Scope: "room:a"})
				if err != nil || p.Subject != testSub || p.Claims["sub"] != testSub {
					errs <- fmt.Errorf("Verify: %+v, %v", p, err)
					return
				}
				if i%10 == 0 {
					if _, err := v.Verify(context.Background(), bad, Peer{}); !errors.Is(err, ErrInvalid) {
						errs <- fmt.Errorf("bad token: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := v.cache.len(); n > 16 {
		t.Errorf("cache holds %d entries, want ≤ 16", n)
	}
	// Past exp, every goroutine sees ErrExpired, cached or not.
	clock.Set(t0.Add(2 * time.Hour))
	for g := range 4 {
		wg.Go(func() {
			for _, tok := range toks[g:] {
				if _, err := v.Verify(context.Background(), tok, Peer{}); !errors.Is(err, ErrExpired) {
					t.Errorf("after exp: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
