package jwtverify

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys are generated once: RSA 2048 takes a noticeable moment.
type testKeys struct {
	hmac     []byte
	rsa      *rsa.PrivateKey
	ed       ed25519.PrivateKey
	edPub    ed25519.PublicKey
	ec       *ecdsa.PrivateKey
	ec384    *ecdsa.PrivateKey
	rsaPEM   []byte // PEM of the RSA public key, the classic confusion secret
	rsaDER   []byte // PKIX DER of the same key
	rsaPKCS1 []byte // PKCS #1 DER of the same key
	certDER  []byte // a self-signed certificate of ec
	allPubs  map[string]any
}

var tk = sync.OnceValue(func() *testKeys {
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
	k.rsaPKCS1 = x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jwtverify test"},
		NotBefore: t0, NotAfter: t0.Add(100 * 365 * 24 * time.Hour)}
	if k.certDER, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.ec.PublicKey, k.ec); err != nil {
		panic(err)
	}
	k.allPubs = map[string]any{
		"hs": HMACKey(k.hmac),
		"rs": &k.rsa.PublicKey,
		"ed": k.edPub,
		"es": &k.ec.PublicKey,
	}
	return k
})

// t0 is where the clock of a synctest bubble starts, and the time test
// tokens are issued at.
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// bubble runs f in a synctest bubble, whose clock starts at t0 and
// advances only when f sleeps.
func bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		if now := time.Now(); !now.Equal(t0) {
			t.Fatalf("bubble starts at %v, want %v", now, t0)
		}
		f(t)
	})
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
	return mint(tb, jwt.SigningMethodHS256, tk().hmac, c, nil)
}

// b64 encodes a JSON segment by hand.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// config is what New takes, for tests to change before calling it.
type config struct {
	algs  []string
	keys  jwt.Keyfunc
	opts  Options
	calls atomic.Int32 // calls of keys, counted by verifier
}

// baseConfig accepts the four test algorithms, each with its key.
func baseConfig() *config {
	k := tk()
	return &config{
		algs: []string{"HS256", "RS256", "EdDSA", "ES256"},
		keys: func(t *jwt.Token) (any, error) {
			switch t.Method.Alg() {
			case "HS256":
				return HMACKey(k.hmac), nil
			case "RS256":
				return &k.rsa.PublicKey, nil
			case "EdDSA":
				return k.edPub, nil
			case "ES256":
				return &k.ec.PublicKey, nil
			}
			return nil, errors.New("no key")
		},
	}
}

// verifier makes c's Verifier, whose Keyfunc calls are counted.
func (c *config) verifier(tb testing.TB) *Verifier {
	tb.Helper()
	kf := c.keys
	return mustNew(tb, c.algs, func(t *jwt.Token) (any, error) { c.calls.Add(1); return kf(t) }, &c.opts)
}

func mustNew(tb testing.TB, algs []string, kf jwt.Keyfunc, o *Options) *Verifier {
	tb.Helper()
	v, err := New(algs, kf, o)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func mustKeys(tb testing.TB, set map[string]any) jwt.Keyfunc {
	tb.Helper()
	kf, err := Keys(set)
	if err != nil {
		tb.Fatal(err)
	}
	return kf
}

// staticKeyfunc returns k for every token: the careless Keyfunc that
// hands out a key whatever the algorithm.
func staticKeyfunc(k any) jwt.Keyfunc {
	return func(*jwt.Token) (any, error) { return k, nil }
}

// assertRefusal fails unless err is exactly one of the package's fixed
// refusals, and its text shows neither the token nor a claim of the test
// tokens.
func assertRefusal(t *testing.T, err error, token string) {
	t.Helper()
	var r *refusal
	if !errors.As(err, &r) || error(r) != err {
		t.Errorf("error %v (%T) is not one of the fixed refusals", err, err)
		return
	}
	msg := err.Error()
	leaks := []string{testSub, "evil", "Alice"}
	if len(token) >= 8 {
		leaks = append(leaks, token)
	}
	for _, p := range strings.Split(token, ".") {
		if len(p) >= 8 {
			leaks = append(leaks, p)
		}
	}
	for _, l := range leaks {
		if strings.Contains(msg, l) {
			t.Errorf("error %q contains %q", msg, l)
		}
	}
}

// pemOf returns the PEM of a public key.
func pemOf(pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
