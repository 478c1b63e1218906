package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

func TestAccepts(t *testing.T) {
	k := tk()
	tests := []struct {
		name      string
		method    jwt.SigningMethod
		key       any
		c         jwt.MapClaims
		wantScope []string
		wantIat   time.Time
	}{
		{"HS256", jwt.SigningMethodHS256, k.hmac, claims(), []string{"room:a", "room:b"}, t0},
		{"RS256", jwt.SigningMethodRS256, k.rsa, claims(), []string{"room:a", "room:b"}, t0},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed, claims(), []string{"room:a", "room:b"}, t0},
		{"ES256", jwt.SigningMethodES256, k.ec, claims(), []string{"room:a", "room:b"}, t0},
		{"scope array", jwt.SigningMethodHS256, k.hmac, claims("scope", []string{"x", "", "y z"}), []string{"x", "y z"}, t0},
		{"scope spaces", jwt.SigningMethodHS256, k.hmac, claims("scope", "  a   b "), []string{"a", "b"}, t0},
		{"no scope", jwt.SigningMethodHS256, k.hmac, claims("scope", nil), nil, t0},
		{"no iat", jwt.SigningMethodHS256, k.hmac, claims("iat", nil), []string{"room:a", "room:b"}, time.Time{}},
		{"iat in the past", jwt.SigningMethodHS256, k.hmac, claims("iat", t0.Add(-time.Minute).Unix()), []string{"room:a", "room:b"}, t0.Add(-time.Minute)},
		{"nbf now", jwt.SigningMethodHS256, k.hmac, claims("nbf", t0.Unix()), []string{"room:a", "room:b"}, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mint(t, tt.method, tt.key, tt.c, nil)
			bubble(t, func(t *testing.T) {
				v := baseConfig().verifier(t)
				p, err := v.Verify(context.Background(), tok, wsauth.Peer{})
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != testSub {
					t.Errorf("Subject = %q", p.Subject)
				}
				if want := t0.Add(time.Hour); !p.ExpiresAt.Equal(want) {
					t.Errorf("ExpiresAt = %v, want %v", p.ExpiresAt, want)
				}
				if !p.IssuedAt.Equal(tt.wantIat) {
					t.Errorf("IssuedAt = %v, want %v", p.IssuedAt, tt.wantIat)
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
		})
	}
}

func TestRefuses(t *testing.T) {
	k := tk()
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
	oversized := mintHS(t, claims("pad", strings.Repeat("x", transport.MaxCredentialLen)))
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	otherPub := otherEd.Public().(ed25519.PublicKey)

	rsaOnly := func(c *config) {
		c.algs = []string{"RS256"}
		c.keys = mustKeys(t, map[string]any{"": &k.rsa.PublicKey})
	}
	hsAndRSAKey := func(c *config) {
		c.algs = []string{"HS256", "RS256"}
		c.keys = mustKeys(t, map[string]any{"": &k.rsa.PublicKey})
	}
	// A careless Keyfunc that hands the RSA key's bytes to any algorithm.
	pemKeyfunc := func(c *config) {
		c.algs = []string{"HS256", "RS256"}
		c.keys = staticKeyfunc(k.rsaPEM)
	}
	withIss := func(c *config) { c.opts.Issuer = "https://good.example" }
	withAud := func(c *config) { c.opts.Audience = "chat" }
	keySet := func(c *config) { c.keys = mustKeys(t, k.allPubs) }

	tests := []struct {
		name  string
		conf  func(*config)
		token string
		want  error // a wsauth sentinel
		why   error // the refusal, if it matters which
	}{
		{"empty", nil, "", wsauth.ErrInvalid, errNoToken},
		{"alg none via jwt", nil, none, wsauth.ErrInvalid, errAlg},
		{"alg none by hand", nil, handNone, wsauth.ErrInvalid, errAlg},
		{"alg none uppercase", nil, b64(`{"alg":"NONE"}`) + "." + parts[1] + ".", wsauth.ErrInvalid, errAlg},
		{"confusion: HS256 with PEM, RS256 allowed", rsaOnly, mint(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), nil), wsauth.ErrInvalid, errAlg},
		{"confusion: HS256 with DER, RS256 allowed", rsaOnly, mint(t, jwt.SigningMethodHS256, k.rsaDER, claims(), nil), wsauth.ErrInvalid, errAlg},
		{"confusion: HS256 allowed, RSA key", hsAndRSAKey, mint(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), nil), wsauth.ErrInvalid, errKeyType},
		{"confusion: RS256 token, PEM bytes from Keyfunc", pemKeyfunc, mint(t, jwt.SigningMethodRS256, k.rsa, claims(), nil), wsauth.ErrInvalid, errKeyType},
		{"expired", nil, mintHS(t, claims("exp", t0.Unix())), wsauth.ErrExpired, errExpired},
		{"expired long ago", nil, mintHS(t, claims("exp", t0.Add(-24*time.Hour).Unix())), wsauth.ErrExpired, errExpired},
		{"expired and wrong issuer", withIss, mintHS(t, claims("exp", t0.Unix(), "iss", "https://evil.example")), wsauth.ErrInvalid, errIssuer},
		{"expired and no sub", nil, mintHS(t, claims("exp", t0.Unix(), "sub", nil)), wsauth.ErrInvalid, errNoSubject},
		{"expired, bad signature", nil, mint(t, jwt.SigningMethodHS256, []byte("evil-secret-evil-secret-evil-sec"), claims("exp", t0.Unix()), nil), wsauth.ErrInvalid, errSignature},
		{"nbf in future", nil, mintHS(t, claims("nbf", t0.Add(time.Minute).Unix())), wsauth.ErrInvalid, errNotYet},
		{"iat in future", nil, mintHS(t, claims("iat", t0.Add(time.Minute).Unix())), wsauth.ErrInvalid, errNotYet},
		{"nbf far in the future (1e19, past int64)", nil, mintHS(t, claims("nbf", 1e19)), wsauth.ErrInvalid, errNotYet},
		{"nbf 1.5 s ahead", nil, mintHS(t, claims("nbf", float64(t0.Unix())+1.5)), wsauth.ErrInvalid, errNotYet},
		{"iat far in the future (1e19, past int64)", nil, mintHS(t, claims("iat", 1e19)), wsauth.ErrInvalid, errNotYet},
		{"expired, nbf far in the future (1e19)", nil, mintHS(t, claims("exp", t0.Unix(), "nbf", 1e19)), wsauth.ErrInvalid, errNotYet},
		{"expired, iat far in the future (1e19)", nil, mintHS(t, claims("exp", t0.Unix(), "iat", 1e19)), wsauth.ErrInvalid, errNotYet},
		{"CRLF in the signature", nil, func() string { tok := mintHS(t, claims()); return tok[:len(tok)-5] + "\r\n" + tok[len(tok)-5:] }(), wsauth.ErrInvalid, errMalformed},
		{"LF in the payload", nil, func() string {
			tok := mintHS(t, claims())
			i := strings.IndexByte(tok, '.') + 3
			return tok[:i] + "\n" + tok[i:]
		}(), wsauth.ErrInvalid, errMalformed},
		{"wrong issuer", withIss, mintHS(t, claims("iss", "https://evil.example")), wsauth.ErrInvalid, errIssuer},
		{"missing issuer", withIss, mintHS(t, claims()), wsauth.ErrInvalid, errMissingClaim},
		{"wrong audience", withAud, mintHS(t, claims("aud", []string{"evil", "other"})), wsauth.ErrInvalid, errAudience},
		{"missing audience", withAud, mintHS(t, claims()), wsauth.ErrInvalid, errMissingClaim},
		{"missing exp", nil, mintHS(t, claims("exp", nil)), wsauth.ErrInvalid, errMissingClaim},
		{"exp zero", nil, mintHS(t, claims("exp", 0)), wsauth.ErrInvalid, errMissingClaim},
		{"exp string", nil, mintHS(t, claims("exp", "evil")), wsauth.ErrInvalid, errClaimType},
		{"iat string", nil, mintHS(t, claims("iat", "evil")), wsauth.ErrInvalid, errClaimType},
		{"missing sub", nil, mintHS(t, claims("sub", nil)), wsauth.ErrInvalid, errNoSubject},
		{"empty sub", nil, mintHS(t, claims("sub", "")), wsauth.ErrInvalid, errNoSubject},
		{"sub number", nil, mintHS(t, claims("sub", 42)), wsauth.ErrInvalid, errNoSubject},
		{"scope number", nil, mintHS(t, claims("scope", 42)), wsauth.ErrInvalid, errScope},
		{"scope mixed array", nil, mintHS(t, claims("scope", []any{"a", 1})), wsauth.ErrInvalid, errScope},
		{"garbage", nil, "evil-garbage-token", wsauth.ErrInvalid, errMalformed},
		{"garbage three parts", nil, "evil.garbage.token", wsauth.ErrInvalid, errMalformed},
		{"four parts", nil, valid + ".evil", wsauth.ErrInvalid, errMalformed},
		{"dots", nil, "..", wsauth.ErrInvalid, errMalformed},
		{"header not JSON", nil, b64("evil") + "." + parts[1] + "." + parts[2], wsauth.ErrInvalid, errMalformed},
		{"padded signature", nil, valid + "=", wsauth.ErrInvalid, errMalformed},
		{"oversized", nil, oversized, wsauth.ErrInvalid, errTooLarge},
		{"wrong signature", nil, badSig, wsauth.ErrInvalid, errSignature},
		{"signature from other key", nil, mint(t, jwt.SigningMethodHS256, []byte("evil-secret-evil-secret-evil-sec"), claims(), nil), wsauth.ErrInvalid, errSignature},
		{"signature swapped", nil, parts[0] + "." + parts[1] + "." + strings.Split(mintHS(t, claims("name", "Bob")), ".")[2], wsauth.ErrInvalid, errSignature},
		{"key from jwk header", nil, mint(t, jwt.SigningMethodEdDSA, otherEd, claims(), map[string]any{
			"jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64URL(otherPub)},
		}), wsauth.ErrInvalid, errSignature},
		{"alg not allowed: HS384", nil, mint(t, jwt.SigningMethodHS384, k.hmac, claims(), nil), wsauth.ErrInvalid, errAlg},
		{"alg not allowed: PS256", nil, mint(t, jwt.SigningMethodPS256, k.rsa, claims(), nil), wsauth.ErrInvalid, errAlg},
		{"alg unknown", nil, b64(`{"alg":"evil"}`) + "." + parts[1] + "." + parts[2], wsauth.ErrInvalid, errAlg},
		{"alg missing", nil, b64(`{"typ":"JWT"}`) + "." + parts[1] + "." + parts[2], wsauth.ErrInvalid, errAlg},
		{"crit header", nil, mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"crit": []string{"exp"}}), wsauth.ErrInvalid, errCrit},
		{"unknown kid", keySet, mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"kid": "evil"}), wsauth.ErrInvalid, errUnknownKey},
		{"kid not string", keySet, mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"kid": 7}), wsauth.ErrInvalid, errUnknownKey},
		{"no kid, no default key", keySet, mintHS(t, claims()), wsauth.ErrInvalid, errUnknownKey},
		{"kid of other family", keySet, mint(t, jwt.SigningMethodHS256, k.rsaPEM, claims(), map[string]any{"kid": "rs"}), wsauth.ErrInvalid, errKeyType},
		{"HS256 with short key from Keyfunc", func(c *config) {
			c.keys = staticKeyfunc(HMACKey(k.hmac[:16]))
		}, mint(t, jwt.SigningMethodHS256, k.hmac[:16], claims(), nil), wsauth.ErrInvalid, errKeyType},
		{"HS512 with 32-byte key", func(c *config) {
			c.algs = []string{"HS512"}
			c.keys = staticKeyfunc(k.hmac)
		}, mint(t, jwt.SigningMethodHS512, k.hmac, claims(), nil), wsauth.ErrInvalid, errKeyType},
		{"ES256 with P-384 key", func(c *config) {
			c.keys = mustKeys(t, map[string]any{"": &k.ec384.PublicKey})
		}, mint(t, jwt.SigningMethodES256, k.ec, claims(), nil), wsauth.ErrInvalid, errKeyType},
		{"RSA private key from Keyfunc", func(c *config) {
			c.keys = staticKeyfunc(k.rsa)
		}, mint(t, jwt.SigningMethodRS256, k.rsa, claims(), nil), wsauth.ErrInvalid, errKeyType},
		{"string secret from Keyfunc", func(c *config) {
			c.keys = staticKeyfunc(string(k.hmac))
		}, mintHS(t, claims()), wsauth.ErrInvalid, errKeyType},
		{"empty key set from Keyfunc", func(c *config) {
			c.keys = staticKeyfunc(jwt.VerificationKeySet{})
		}, mintHS(t, claims()), wsauth.ErrInvalid, errKeyType},
		{"Keyfunc error", func(c *config) {
			c.keys = func(*jwt.Token) (any, error) { return nil, errors.New("evil") }
		}, mintHS(t, claims()), wsauth.ErrInvalid, errKeyLookup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				c := baseConfig()
				if tt.conf != nil {
					tt.conf(c)
				}
				v := c.verifier(t)
				for range 2 { // the second time would be a cache hit
					p, err := v.Verify(context.Background(), tt.token, wsauth.Peer{})
					if !errors.Is(err, tt.want) {
						t.Fatalf("Verify = %+v, %v; want %v", p, err, tt.want)
					}
					if tt.why != nil && !errors.Is(err, tt.why) {
						t.Errorf("Verify: %v, want %v", err, tt.why)
					}
					if p.Subject != "" || p.Claims != nil {
						t.Errorf("refused Verify returned %+v", p)
					}
					assertRefusal(t, err, tt.token)
				}
				if v.cache.len() != 0 {
					t.Errorf("a refused token was cached")
				}
				if tt.name == "oversized" && c.calls.Load() != 0 {
					t.Errorf("oversized token reached the Keyfunc")
				}
			})
		})
	}
}

// base64URL encodes b as JWK members are.
func base64URL(b []byte) string { return b64(string(b)) }

// TestMaxCredentialLen: a token of exactly transport.MaxCredentialLen
// bytes is verified; one byte more is refused before any decoding.
func TestMaxCredentialLen(t *testing.T) {
	// Grow a claim until the token has exactly the maximum length (base64
	// makes it move in steps, so try paddings around the estimate).
	var tok string
	for n := transport.MaxCredentialLen*3/4 - 200; n < transport.MaxCredentialLen; n++ {
		tok = mintHS(t, claims("pad", strings.Repeat("x", n)))
		if len(tok) >= transport.MaxCredentialLen {
			break
		}
	}
	if len(tok) != transport.MaxCredentialLen {
		t.Fatalf("token of %d bytes, want %d", len(tok), transport.MaxCredentialLen)
	}
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		v := c.verifier(t)
		if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
			t.Fatalf("token of the maximum length: %v", err)
		}
		c.calls.Store(0)
		_, err := v.Verify(context.Background(), tok+"x", wsauth.Peer{})
		if !errors.Is(err, errTooLarge) || c.calls.Load() != 0 {
			t.Errorf("one byte longer: %v, %d Keyfunc calls", err, c.calls.Load())
		}
	})
}

func TestKeysByKid(t *testing.T) {
	k := tk()
	set := maps.Clone(k.allPubs)
	set[""] = k.edPub
	set["ed"] = slices.Clone(k.edPub) // changed below
	kf := mustKeys(t, set)
	bubble(t, func(t *testing.T) {
		v := mustNew(t, []string{"HS256", "RS256", "EdDSA", "ES256"}, kf, nil)
		for _, tok := range []string{
			mint(t, jwt.SigningMethodHS256, k.hmac, claims(), map[string]any{"kid": "hs"}),
			mint(t, jwt.SigningMethodRS256, k.rsa, claims(), map[string]any{"kid": "rs"}),
			mint(t, jwt.SigningMethodEdDSA, k.ed, claims(), map[string]any{"kid": "ed"}),
			mint(t, jwt.SigningMethodES256, k.ec, claims(), map[string]any{"kid": "es"}),
			mint(t, jwt.SigningMethodEdDSA, k.ed, claims(), nil),
		} {
			if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
				t.Errorf("Verify: %v", err)
			}
		}
		// The caller's map and key bytes are copied: changing them later
		// has no effect.
		delete(set, "hs")
		set["ed"].(ed25519.PublicKey)[0] ^= 0xff
		for _, tok := range []string{
			mint(t, jwt.SigningMethodHS256, k.hmac, claims("jti", "2"), map[string]any{"kid": "hs"}),
			mint(t, jwt.SigningMethodEdDSA, k.ed, claims("jti", "2"), map[string]any{"kid": "ed"}),
		} {
			if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
				t.Errorf("after caller changed the set: %v", err)
			}
		}
	})
}

func TestKeysRefuses(t *testing.T) {
	k := tk()
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: k.ec.X, Y: new(big.Int).Add(k.ec.Y, big.NewInt(1))}
	tests := []struct {
		name string
		set  map[string]any
	}{
		{"nil", nil},
		{"empty", map[string]any{}},
		{"RSA private key", map[string]any{"": k.rsa}},
		{"Ed25519 private key", map[string]any{"": k.ed}},
		{"ECDSA private key", map[string]any{"": k.ec}},
		{"RSA key by value", map[string]any{"": k.rsa.PublicKey}},
		{"empty secret", map[string]any{"": []byte{}}},
		{"short secret", map[string]any{"": k.hmac[:minHMACKeyLen-1]}},
		{"short HMACKey", map[string]any{"": HMACKey(k.hmac[:minHMACKeyLen-1])}},
		{"string secret", map[string]any{"": string(k.hmac)}},
		{"PEM as []byte", map[string]any{"": k.rsaPEM}},
		{"PEM as HMACKey", map[string]any{"": HMACKey(k.rsaPEM)}},
		{"PEM with a prefix", map[string]any{"": append([]byte("key:\n"), k.rsaPEM...)}},
		{"PKIX DER", map[string]any{"": k.rsaDER}},
		{"PKIX DER as HMACKey", map[string]any{"": HMACKey(k.rsaDER)}},
		{"PKCS #1 DER", map[string]any{"": k.rsaPKCS1}},
		{"certificate DER", map[string]any{"": k.certDER}},
		{"nil RSA key", map[string]any{"": (*rsa.PublicKey)(nil)}},
		{"empty RSA key", map[string]any{"": &rsa.PublicKey{}}},
		{"nil ECDSA key", map[string]any{"": (*ecdsa.PublicKey)(nil)}},
		{"ECDSA key without point", map[string]any{"": &ecdsa.PublicKey{Curve: elliptic.P256()}}},
		{"ECDSA point off the curve", map[string]any{"": offCurve}},
		{"short Ed25519 key", map[string]any{"": k.edPub[:16]}},
		{"key set", map[string]any{"": jwt.VerificationKeySet{Keys: []jwt.VerificationKey{k.edPub}}}},
		{"one bad among good", map[string]any{"a": k.edPub, "b": k.rsa}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kf, err := Keys(tt.set)
			if err == nil || kf != nil {
				t.Fatalf("Keys = %v, %v; want an error", kf != nil, err)
			}
			if strings.Contains(err.Error(), string(k.hmac[:8])) {
				t.Errorf("error shows the secret")
			}
			t.Log(err)
		})
	}
}

func TestNewRefuses(t *testing.T) {
	kf := staticKeyfunc(HMACKey(tk().hmac))
	tests := []struct {
		name string
		algs []string
		kf   jwt.Keyfunc
		opts *Options
	}{
		{"no algorithms", nil, kf, nil},
		{"none", []string{"none"}, kf, nil},
		{"NONE", []string{"NONE"}, kf, nil},
		{"none among others", []string{"HS256", "none"}, kf, nil},
		{"unknown algorithm", []string{"HS257"}, kf, nil},
		{"empty algorithm", []string{""}, kf, nil},
		{"no Keyfunc", []string{"HS256"}, nil, nil},
		{"leeway too large", []string{"HS256"}, kf, &Options{Leeway: maxLeeway + 1}},
		{"negative leeway", []string{"HS256"}, kf, &Options{Leeway: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.algs, tt.kf, tt.opts)
			if err == nil || v != nil {
				t.Fatalf("New = %v, %v; want an error", v, err)
			}
			t.Log(err)
		})
	}
	if _, err := New([]string{"HS256"}, kf, &Options{Leeway: maxLeeway}); err != nil {
		t.Errorf("leeway of 5 minutes: %v", err)
	}
}

// TestNewCopies: New keeps its own allow-list, and leaves opts alone.
func TestNewCopies(t *testing.T) {
	k := tk()
	algs := []string{"EdDSA"}
	o := &Options{}
	bubble(t, func(t *testing.T) {
		v := mustNew(t, algs, staticKeyfunc(HMACKey(k.hmac)), o)
		algs[0] = "HS256"
		_, err := v.Verify(context.Background(), mintHS(t, claims()), wsauth.Peer{})
		if !errors.Is(err, errAlg) {
			t.Errorf("HS256 after the caller changed the allow-list: %v", err)
		}
		if *o != (Options{}) {
			t.Errorf("options changed: %+v", o)
		}
	})
}

func TestKeySetFiltered(t *testing.T) {
	k := tk()
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		c.keys = staticKeyfunc(jwt.VerificationKeySet{Keys: []jwt.VerificationKey{&k.rsa.PublicKey, k.edPub, HMACKey(k.hmac)}})
		v := c.verifier(t)
		for _, tok := range []string{
			mintHS(t, claims()),
			mint(t, jwt.SigningMethodRS256, k.rsa, claims(), nil),
			mint(t, jwt.SigningMethodEdDSA, k.ed, claims(), nil),
		} {
			if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
				t.Errorf("mixed set: %v", err)
			}
		}
		c.keys = staticKeyfunc(jwt.VerificationKeySet{Keys: []jwt.VerificationKey{&k.rsa.PublicKey}})
		v = c.verifier(t)
		_, err := v.Verify(context.Background(), mint(t, jwt.SigningMethodHS256, k.rsaDER, claims(), nil), wsauth.Peer{})
		if !errors.Is(err, errKeyType) {
			t.Errorf("HS256 against an RSA-only set: %v", err)
		}
	})
}

func TestLeeway(t *testing.T) {
	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprintf("cache=%d", size), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				c := baseConfig()
				c.opts = Options{Leeway: 30 * time.Second, CacheSize: size}
				v := c.verifier(t)
				tok := mintHS(t, claims("exp", t0.Unix(), "nbf", t0.Add(20*time.Second).Unix()))

				// nbf 20 s ahead is within the leeway, and so is exp 29 s ago.
				for _, d := range []time.Duration{0, 29 * time.Second} {
					time.Sleep(d)
					if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
						t.Errorf("at exp+%v: %v", time.Since(t0), err)
					}
				}
				time.Sleep(2 * time.Second)
				if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); !errors.Is(err, wsauth.ErrExpired) {
					t.Errorf("at exp+%v: %v, want ErrExpired", time.Since(t0), err)
				}
				early := mintHS(t, claims("exp", time.Now().Add(time.Hour).Unix(), "nbf", time.Now().Add(31*time.Second).Unix(), "iat", nil))
				if _, err := v.Verify(context.Background(), early, wsauth.Peer{}); !errors.Is(err, errNotYet) {
					t.Errorf("nbf 31s ahead: %v, want not valid yet", err)
				}
				time.Sleep(time.Second)
				if _, err := v.Verify(context.Background(), early, wsauth.Peer{}); err != nil {
					t.Errorf("nbf 30s ahead: %v", err)
				}
			})
		})
	}
}

func TestScopeClaim(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		c.opts.ScopeClaim = "scp"
		v := c.verifier(t)
		p, err := v.Verify(context.Background(), mintHS(t, claims("scp", []string{"r1", "r2"})), wsauth.Peer{})
		if err != nil || !slices.Equal(p.Scope, []string{"r1", "r2"}) {
			t.Errorf("Verify = %q, %v", p.Scope, err)
		}
	})
}

func TestIssuerAudience(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		c.opts = Options{Issuer: "https://good.example", Audience: "chat"}
		v := c.verifier(t)
		for _, aud := range []any{"chat", []string{"other", "chat"}} {
			tok := mintHS(t, claims("iss", "https://good.example", "aud", aud))
			if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
				t.Errorf("aud %v: %v", aud, err)
			}
		}
	})
}

// Uncached tokens are parsed on a goroutine of their own; a panic there
// must still reach the caller, and not crash the process.
func TestKeyfuncPanicReachesCaller(t *testing.T) {
	for _, tt := range []struct {
		name string
		kf   jwt.Keyfunc
		want any
	}{
		{"panic", func(*jwt.Token) (any, error) { panic("keyfunc bug") }, "keyfunc bug"},
		{"Goexit", func(*jwt.Token) (any, error) { runtime.Goexit(); return nil, nil }, "jwtverify: the Keyfunc's goroutine exited"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				c := baseConfig()
				c.keys = tt.kf
				v := c.verifier(t)
				defer func() {
					if r := recover(); r != tt.want {
						t.Errorf("recovered %v, want %v", r, tt.want)
					}
				}()
				v.Verify(context.Background(), mintHS(t, claims()), wsauth.Peer{})
				t.Error("Verify returned; want the Keyfunc's panic")
			})
		})
	}
}

// TestIssuedAtMilliseconds: a fractional "iat" keeps its milliseconds,
// rounded down, so a token minted just after a revocation is not refused
// for the rest of that second; a whole one is taken as it is.
func TestIssuedAtMilliseconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := baseConfig().verifier(t)
		now := time.Now()
		for _, tt := range []struct {
			iat  any
			want time.Time
		}{
			{float64(now.Unix()) + 0.1239, time.Unix(now.Unix(), 123e6)},
			{now.Unix(), time.Unix(now.Unix(), 0)},
		} {
			p, err := v.Verify(t.Context(), mintHS(t, claims("iat", tt.iat, "exp", now.Add(time.Hour).Unix())), wsauth.Peer{})
			if err != nil {
				t.Fatal(err)
			}
			if !p.IssuedAt.Equal(tt.want) {
				t.Errorf("iat %v: IssuedAt %v, want %v", tt.iat, p.IssuedAt, tt.want)
			}
		}
	})
}
