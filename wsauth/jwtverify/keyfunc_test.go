package jwtverify

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
)

// timeoutError is a net.Error of a kind no standard package returns.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout evil-detail" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Stand-ins for a JWKS library's sentinels (jwkset.ErrKeyNotFound,
// jwkset.ErrInvalidHTTPStatusCode, keyfunc.ErrKeyfunc).
var (
	errJWKSKeyNotFound = errors.New("key not found")
	errJWKSStatus      = errors.New("invalid HTTP status code")
	errJWKSKeyfunc     = errors.New("failed keyfunc")
)

// TestKeyfuncErrors: an error of the Keyfunc that is the key source's
// fault refuses with ErrUnavailable; any other with ErrInvalid; neither
// passes the Keyfunc's text on.
func TestKeyfuncErrors(t *testing.T) {
	urlErr := &url.Error{Op: "Get", URL: "https://evil-detail.example/jwks", Err: io.ErrUnexpectedEOF}
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused evil-detail")}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"wraps ErrUnavailable", fmt.Errorf("jwks fetch evil-detail: %w", wsauth.ErrUnavailable), errKeyUnavailable},
		{"net.Error", fmt.Errorf("evil-detail: %w", dialErr), errKeyUnavailable},
		{"net.Error of its own", timeoutError{}, errKeyUnavailable},
		{"*url.Error", fmt.Errorf("failed to perform HTTP request evil-detail: %w", urlErr), errKeyUnavailable},
		{"*url.Error joined, as keyfunc/v3 does", fmt.Errorf("%w: could not read JWK", errors.Join(fmt.Errorf("refresh: %w", urlErr), errJWKSKeyfunc)), errKeyUnavailable},
		{"deadline", fmt.Errorf("evil-detail: %w", context.DeadlineExceeded), errKeyUnavailable},
		{"canceled", fmt.Errorf("evil-detail: %w", context.Canceled), errKeyUnavailable},
		{"unknown kid", fmt.Errorf("%w %q", errJWKSKeyNotFound, "evil-detail"), errKeyLookup},
		{"other", errors.New("evil-detail"), errKeyLookup},
		{"wraps ErrInvalid", fmt.Errorf("evil-detail: %w", wsauth.ErrInvalid), errKeyLookup},
		{"unknown kid of Keys", fmt.Errorf("evil-detail: %w", errUnknownKey), errUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				c := baseConfig()
				c.keys = func(*jwt.Token) (any, error) { return nil, tt.err }
				v := c.verifier(t)
				tok := mintHS(t, claims())
				_, err := v.Verify(context.Background(), tok, wsauth.Peer{})
				if err != tt.want {
					t.Fatalf("Verify: %v, want %v", err, tt.want)
				}
				if strings.Contains(err.Error(), "evil-detail") {
					t.Errorf("Keyfunc error text passed on: %q", err)
				}
				assertRefusal(t, err, tok)
			})
		})
	}
}

// jwksServer serves a JWK Set of Ed25519 keys over HTTP on loopback.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    map[string]ed25519.PublicKey
	status  atomic.Int32 // answered instead of the set, if not 0
	hang    atomic.Bool  // answer nothing until the client gives up
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{keys: map[string]ed25519.PublicKey{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) add(kid string, k ed25519.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[kid] = k
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	if s.hang.Load() {
		<-r.Context().Done()
		return
	}
	if code := s.status.Load(); code != 0 {
		http.Error(w, http.StatusText(int(code)), int(code))
		return
	}
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		Kid string `json:"kid"`
		X   string `json:"x"`
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	s.mu.Lock()
	for kid, k := range s.keys {
		set.Keys = append(set.Keys, jwk{"OKP", "Ed25519", kid, base64.RawURLEncoding.EncodeToString(k)})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(set)
}

// jwksClient is a minimal JWKS client, standing in for a library such as
// github.com/MicahParks/jwkset: it keeps the set it fetched, refetches it
// when asked for an unknown kid, and reports a failed fetch as such a
// library does, wrapping the http.Client's error (a *url.Error) or with a
// sentinel of its own for an unexpected status, and an unknown kid with
// its key-not-found sentinel.
type jwksClient struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	keys   map[string]ed25519.PublicKey
}

func (c *jwksClient) fetch() error {
	resp, err := c.client.Get(c.url)
	if err != nil {
		return fmt.Errorf("failed to perform HTTP request for JWK Set refresh: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %d", errJWKSStatus, resp.StatusCode)
	}
	var set struct {
		Keys []struct{ Kty, Crv, Kid, X string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return fmt.Errorf("failed to decode JWK Set response: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if k.Kty != "OKP" || k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return fmt.Errorf("failed to create JWK %q", k.Kid)
		}
		keys[k.Kid] = x
	}
	c.mu.Lock()
	c.keys = keys
	c.mu.Unlock()
	return nil
}

func (c *jwksClient) lookup(kid string) (ed25519.PublicKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[kid]
	return k, ok
}

// key returns the key of kid, refetching the set once if it is unknown.
func (c *jwksClient) key(kid string) (any, error) {
	if k, ok := c.lookup(kid); ok {
		return k, nil
	}
	if err := c.fetch(); err != nil {
		return nil, err
	}
	if k, ok := c.lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w %q", errJWKSKeyNotFound, kid)
}

// Keyfunc adapts the client as the package doc says: the library's
// status error, which says the endpoint is down, is wrapped with
// wsauth.ErrUnavailable; its *url.Error is recognised as it is.
func (c *jwksClient) Keyfunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, err := c.key(kid)
	if errors.Is(err, errJWKSStatus) {
		err = fmt.Errorf("%w: %w", wsauth.ErrUnavailable, err)
	}
	return k, err
}

// TestJWKSOutage: with keys from a JWKS endpoint, a token of an unknown
// kid is invalid while the endpoint works, and the verification is
// unavailable while the endpoint answers 503, times out or is gone.
func TestJWKSOutage(t *testing.T) {
	edKey := func() (ed25519.PublicKey, ed25519.PrivateKey) {
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		return pub, priv
	}
	pub1, priv1 := edKey()
	pub2, priv2 := edKey()
	_, priv3 := edKey()

	srv := newJWKSServer(t)
	srv.add("k1", pub1)
	hc := *srv.Client() // closes its connections with srv
	hc.Timeout = 200 * time.Millisecond
	jwks := &jwksClient{url: srv.URL + "/.well-known/jwks.json", client: &hc}
	v := mustNew(t, []string{"EdDSA"}, jwks.Keyfunc, &Options{CacheSize: -1})

	// Real time: the server is on the network, outside any bubble.
	now := time.Now()
	token := func(kid string, key ed25519.PrivateKey) string {
		return mint(t, jwt.SigningMethodEdDSA, key, jwt.MapClaims{
			"sub": testSub, "exp": now.Add(time.Hour).Unix(),
		}, map[string]any{"kid": kid})
	}
	k1, k2, k3 := token("k1", priv1), token("k2", priv2), token("k3", priv3)
	verify := func(t *testing.T, tok string, want error) {
		t.Helper()
		_, err := v.Verify(context.Background(), tok, wsauth.Peer{})
		if want == nil {
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			return
		}
		if !errors.Is(err, want) {
			t.Fatalf("Verify: %v, want %v", err, want)
		}
		assertRefusal(t, err, tok)
		if u, _ := url.Parse(srv.URL); strings.Contains(err.Error(), u.Host) || strings.Contains(err.Error(), "JWK") {
			t.Errorf("error %q passes the Keyfunc's text on", err)
		}
	}

	t.Run("endpoint works", func(t *testing.T) {
		verify(t, k1, nil)
		verify(t, k2, wsauth.ErrInvalid) // fetched again: not there
		srv.add("k2", pub2)              // key rotation
		verify(t, k2, nil)               // fetched again: there
		if n := srv.fetches.Load(); n != 3 {
			t.Errorf("%d fetches, want 3", n)
		}
		verify(t, k3, wsauth.ErrInvalid)
	})
	t.Run("endpoint answers 503", func(t *testing.T) {
		srv.status.Store(http.StatusServiceUnavailable)
		defer srv.status.Store(0)
		verify(t, k3, wsauth.ErrUnavailable)
		verify(t, k1, nil) // known keys still verify
	})
	t.Run("endpoint times out", func(t *testing.T) {
		srv.hang.Store(true)
		defer srv.hang.Store(false)
		verify(t, k3, wsauth.ErrUnavailable)
	})
	t.Run("endpoint back", func(t *testing.T) {
		verify(t, k3, wsauth.ErrInvalid)
	})
	t.Run("endpoint closed", func(t *testing.T) {
		srv.Close()
		verify(t, k3, wsauth.ErrUnavailable)
		verify(t, k2, nil)
	})
}
