package wsauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxJWTSize is the longest token, in bytes, that a JWTVerifier parses.
// Longer tokens are refused with ErrInvalid before any decoding, so an
// oversized credential costs nothing but a length check.
const MaxJWTSize = 8 << 10

// MaxJWTLeeway is the largest JWTOptions.Leeway that NewJWT accepts.
const MaxJWTLeeway = 5 * time.Minute

// MinHMACKeySize is the shortest HMAC secret NewJWT accepts in
// JWTOptions.Keys, the output size of SHA-256 (RFC 7518, section 3.2).
// HS384 and HS512 need 48 and 64 bytes; shorter keys refuse their tokens.
const MinHMACKeySize = 32

// DefaultJWTCacheSize is the number of verified tokens a JWTVerifier keeps
// when JWTOptions.CacheSize is zero.
const DefaultJWTCacheSize = 1024

// JWTOptions configures NewJWT. NewJWT copies it; later changes to the
// caller's value have no effect.
type JWTOptions struct {
	// Algorithms is the allow-list of "alg" values, such as
	// []string{"EdDSA"}. It is required: there is no default that accepts
	// everything. Only the HMAC (HS*), RSA (RS*, PS*), ECDSA (ES*) and
	// EdDSA algorithms of jwt/v5 are supported; "none" is always refused.
	Algorithms []string

	// Keyfunc returns the key that verifies a token, as in jwt/v5. It may
	// return a jwt.VerificationKeySet. An error it returns refuses the
	// token with ErrInvalid, or with ErrUnavailable if the error wraps
	// ErrUnavailable (a key server is down); its text is never passed on.
	// Exactly one of Keyfunc and Keys must be set.
	Keyfunc jwt.Keyfunc

	// Keys is a static key set indexed by the token's "kid" header; the key
	// under "" verifies tokens without "kid". A kid that is not in the set
	// is refused. Keys must be []byte (HMAC, at least MinHMACKeySize
	// bytes), *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	//
	// With either key source, a key whose type does not fit the token's
	// algorithm is refused before jwt/v5 sees it, so an HMAC token can
	// never be checked against a public key's bytes (algorithm confusion).
	// So is an HMAC key shorter than the algorithm's hash (RFC 7518 3.2).
	Keys map[string]any

	// Issuer, if set, must equal the "iss" claim.
	Issuer string

	// Audience, if set, must be one of the "aud" claim's values.
	Audience string

	// Leeway is the clock skew allowed on "exp", "nbf" and "iat". The
	// default is 0; NewJWT refuses more than MaxJWTLeeway.
	Leeway time.Duration

	// ScopeClaim names the claim that becomes Principal.Scope: either a
	// space-separated string (OAuth style) or an array of strings. The
	// default is "scope". A missing claim means no scope; a claim of any
	// other type refuses the token.
	ScopeClaim string

	// Now returns the current time. The default is time.Now.
	Now func() time.Time

	// CacheSize is how many verified tokens are kept so that a repeated
	// token is not verified again. The default (0) is
	// DefaultJWTCacheSize; a negative value disables the cache.
	//
	// A cached token is served until its "exp" (plus Leeway), even if its
	// key is withdrawn from Keyfunc in the meantime. Tokens are kept in
	// memory as presented, at most CacheSize × MaxJWTSize bytes.
	CacheSize int
}

// JWTVerifier is a Verifier of JSON Web Tokens (RFC 7519) built on
// github.com/golang-jwt/jwt/v5. It is safe for concurrent use.
//
// A token must carry a non-empty "sub" and an "exp"; "nbf" and "iat", when
// present, must not be in the future. A "crit" header is refused, as no
// JWS extension is understood, and keys are never taken from the token
// ("jwk", "jku", "x5u" are ignored).
type JWTVerifier struct {
	algs       []string
	keyfunc    jwt.Keyfunc
	keys       map[string]any
	leeway     time.Duration
	scopeClaim string
	now        func() time.Time
	parser     *jwt.Parser
	cache      *jwtCache // nil: disabled
}

var _ Verifier = (*JWTVerifier)(nil)

// NewJWT returns a JWTVerifier configured by opts. It fails if opts is nil
// or has no Algorithms, lists "none" or an unsupported algorithm, has no
// key source or both, holds a key of an unsupported type or an HMAC key
// shorter than MinHMACKeySize, or asks for a Leeway outside
// [0, MaxJWTLeeway].
func NewJWT(opts *JWTOptions) (*JWTVerifier, error) {
	if opts == nil {
		return nil, errors.New("wsauth: NewJWT: no options")
	}
	o := *opts
	if len(o.Algorithms) == 0 {
		return nil, errors.New("wsauth: NewJWT: no algorithms allowed")
	}
	for _, alg := range o.Algorithms {
		if !supportedAlg(alg) {
			return nil, fmt.Errorf("wsauth: NewJWT: algorithm %q not supported", alg)
		}
	}
	switch {
	case o.Keyfunc == nil && len(o.Keys) == 0:
		return nil, errors.New("wsauth: NewJWT: no Keyfunc or Keys")
	case o.Keyfunc != nil && len(o.Keys) != 0:
		return nil, errors.New("wsauth: NewJWT: both Keyfunc and Keys set")
	}
	for kid, k := range o.Keys {
		if !supportedKey(k) {
			// The kid is configuration, not token data: safe to name.
			return nil, fmt.Errorf("wsauth: NewJWT: key %q: unsupported type, or too short", kid)
		}
	}
	if o.Leeway < 0 || o.Leeway > MaxJWTLeeway {
		return nil, fmt.Errorf("wsauth: NewJWT: leeway must be within [0, %v]", MaxJWTLeeway)
	}
	if o.ScopeClaim == "" {
		o.ScopeClaim = "scope"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultJWTCacheSize
	}

	v := &JWTVerifier{
		algs:       slices.Clone(o.Algorithms),
		keyfunc:    o.Keyfunc,
		keys:       maps.Clone(o.Keys),
		leeway:     o.Leeway,
		scopeClaim: o.ScopeClaim,
		now:        o.Now,
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
		jwt.WithTimeFunc(o.Now),
	}
	if o.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(o.Issuer))
	}
	if o.Audience != "" {
		popts = append(popts, jwt.WithAudience(o.Audience))
	}
	v.parser = jwt.NewParser(popts...)
	if o.CacheSize > 0 {
		v.cache = newJWTCache(o.CacheSize)
	}
	return v, nil
}

// Verify checks token and returns who it names. Errors wrap
// ErrNoCredential (empty token), ErrExpired (a token whose only fault is
// that it expired), ErrForbidden (peer.Scope is set and not in the token's
// scope), ErrUnavailable (see JWTOptions.Keyfunc) or ErrInvalid (anything
// else). No error contains the token or any of its claims.
//
// The returned Principal may be shared with other callers through the
// cache: its Scope and Claims must be treated as read-only. Verify does
// not block, so it ignores ctx.
func (v *JWTVerifier) Verify(_ context.Context, token string, peer Peer) (Principal, error) {
	if token == "" {
		return Principal{}, ErrNoCredential
	}
	if len(token) > MaxJWTSize {
		return Principal{}, fmt.Errorf("%w: token too large", ErrInvalid)
	}
	var (
		p   Principal
		err error
		hit bool
	)
	if v.cache != nil {
		var state cacheState
		p, state = v.cache.get(token, v.now(), v.leeway)
		switch state {
		case cacheHit:
			hit = true
		case cacheExpired:
			// It verified once; time is the only thing that changed.
			return Principal{}, fmt.Errorf("%w: exp", ErrExpired)
		}
	}
	if !hit {
		p, err = v.verifyOffStack(token)
		if err != nil {
			return Principal{}, err
		}
		if v.cache != nil {
			v.cache.put(token, p)
		}
	}
	if peer.Scope != "" && !p.Allows(peer.Scope) {
		return Principal{}, fmt.Errorf("%w: scope not granted", ErrForbidden)
	}
	return p, nil
}

// verifyOffStack runs verify on a goroutine of its own. Parsing a token
// (jwt/v5, encoding/json, reflection, crypto) needs a deep stack: run on a
// connection's goroutine, it grows that stack from 8 to 16 KiB, which the
// goroutine then keeps while it idles in Read, 8 KiB more per connection.
// A short-lived goroutine's stack goes back to the pool when it ends. A
// panic (from a Keyfunc) is raised again on the caller's goroutine.
func (v *JWTVerifier) verifyOffStack(token string) (Principal, error) {
	type result struct {
		p        Principal
		err      error
		panicked any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panicked = recover()
			done <- r
		}()
		r.p, r.err = v.verify(token)
	}()
	r := <-done
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.p, r.err
}

// verify does the full check of a token the cache did not answer.
func (v *JWTVerifier) verify(token string) (Principal, error) {
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, claims, v.key)
	if err != nil {
		if onlyExpired(err) {
			if subject(claims) == "" {
				return Principal{}, fmt.Errorf("%w: no valid sub", ErrInvalid)
			}
			return Principal{}, fmt.Errorf("%w: exp", ErrExpired)
		}
		return Principal{}, v.refusal(tok, err)
	}
	sub := subject(claims)
	if sub == "" {
		return Principal{}, fmt.Errorf("%w: no valid sub", ErrInvalid)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		// The parser requires exp; this is defence in depth.
		return Principal{}, fmt.Errorf("%w: missing exp", ErrInvalid)
	}
	scope, ok := scopeOf(claims[v.scopeClaim])
	if !ok {
		return Principal{}, fmt.Errorf("%w: malformed scope claim", ErrInvalid)
	}
	return Principal{
		Subject:   sub,
		ExpiresAt: exp.Time,
		Scope:     scope,
		Claims:    map[string]any(claims),
	}, nil
}

// Errors of the key lookup, recognised in what the parser returns.
var (
	errUnknownKey     = errors.New("unknown key")
	errKeyType        = errors.New("key does not fit algorithm")
	errKeyLookup      = errors.New("key lookup failed")
	errKeyUnavailable = errors.New("key unavailable")
	errCritHeader     = errors.New("crit header")
)

// key finds the key for t and refuses one that does not fit t's algorithm.
// The parser has already checked the algorithm against the allow-list.
func (v *JWTVerifier) key(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errCritHeader
	}
	var k any
	if v.keyfunc != nil {
		var err error
		k, err = v.keyfunc(t)
		if err != nil {
			if errors.Is(err, ErrUnavailable) {
				return nil, errKeyUnavailable
			}
			return nil, errKeyLookup
		}
	} else {
		kid := ""
		if raw, ok := t.Header["kid"]; ok {
			s, ok := raw.(string)
			if !ok {
				return nil, errUnknownKey
			}
			kid = s
		}
		var ok bool
		if k, ok = v.keys[kid]; !ok {
			return nil, errUnknownKey
		}
	}
	if set, ok := k.(jwt.VerificationKeySet); ok {
		// Keep only the keys that fit, so a mixed set cannot be abused.
		var fit []jwt.VerificationKey
		for _, sk := range set.Keys {
			if keyFits(t.Method, sk) {
				fit = append(fit, sk)
			}
		}
		if len(fit) == 0 {
			return nil, errKeyType
		}
		return jwt.VerificationKeySet{Keys: fit}, nil
	}
	if !keyFits(t.Method, k) {
		return nil, errKeyType
	}
	return k, nil
}

// refusal turns a parser error into one of ours with a fixed message:
// jwt/v5's messages may quote header values, so they are dropped.
func (v *JWTVerifier) refusal(tok *jwt.Token, err error) error {
	switch {
	case errors.Is(err, errKeyUnavailable):
		return fmt.Errorf("%w: key unavailable", ErrUnavailable)
	case errors.Is(err, errUnknownKey):
		return fmt.Errorf("%w: unknown key", ErrInvalid)
	case errors.Is(err, errKeyType):
		return fmt.Errorf("%w: key does not fit algorithm", ErrInvalid)
	case errors.Is(err, errKeyLookup):
		return fmt.Errorf("%w: key lookup failed", ErrInvalid)
	case errors.Is(err, errCritHeader):
		return fmt.Errorf("%w: unsupported crit header", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: malformed token", ErrInvalid)
	case tok != nil && tok.Method != nil && !slices.Contains(v.algs, tok.Method.Alg()),
		errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: algorithm not allowed", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fmt.Errorf("%w: signature", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return fmt.Errorf("%w: missing required claim", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fmt.Errorf("%w: iss", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return fmt.Errorf("%w: aud", ErrInvalid)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: not valid yet", ErrInvalid)
	case errors.Is(err, jwt.ErrInvalidType):
		return fmt.Errorf("%w: malformed claim", ErrInvalid)
	}
	return fmt.Errorf("%w: claims", ErrInvalid)
}

// otherClaimFaults are the claim errors that make an expired token invalid
// rather than merely expired: refreshing would not fix them.
var otherClaimFaults = []error{
	jwt.ErrTokenRequiredClaimMissing,
	jwt.ErrTokenInvalidAudience,
	jwt.ErrTokenUsedBeforeIssued,
	jwt.ErrTokenInvalidIssuer,
	jwt.ErrTokenInvalidSubject,
	jwt.ErrTokenNotValidYet,
	jwt.ErrTokenInvalidId,
	jwt.ErrInvalidType,
}

// onlyExpired reports whether err is a claims failure whose sole cause is
// "exp". Claims are checked after the signature, so such a token is
// authentic.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenInvalidClaims) || !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, e := range otherClaimFaults {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// subject returns the "sub" claim, or "" if it is missing or not a string.
func subject(c jwt.MapClaims) string {
	s, _ := c["sub"].(string)
	return s
}

// scopeOf reads a scope claim: a space-separated string or an array of
// strings. Empty entries are dropped. The slice is clipped so that an
// append by a caller never writes into a cached Principal.
func scopeOf(raw any) ([]string, bool) {
	switch s := raw.(type) {
	case nil:
		return nil, true
	case string:
		return slices.Clip(strings.Fields(s)), true
	case []any:
		out := make([]string, 0, len(s))
		for _, e := range s {
			str, ok := e.(string)
			if !ok {
				return nil, false
			}
			if str != "" {
				out = append(out, str)
			}
		}
		return slices.Clip(out), true
	}
	return nil, false
}

// supportedAlg reports whether alg names a jwt/v5 method whose key type
// keyFits knows. "none" and methods registered by other packages are not.
func supportedAlg(alg string) bool {
	switch jwt.GetSigningMethod(alg).(type) {
	case *jwt.SigningMethodHMAC, *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS,
		*jwt.SigningMethodECDSA, *jwt.SigningMethodEd25519:
		return true
	}
	return false
}

// supportedKey reports whether k is a usable verification key of any
// supported family.
func supportedKey(k any) bool {
	switch k := k.(type) {
	case []byte:
		return len(k) >= MinHMACKeySize
	case *rsa.PublicKey:
		return k != nil && k.N != nil
	case *ecdsa.PublicKey:
		return k != nil && k.Curve != nil
	case ed25519.PublicKey:
		return len(k) == ed25519.PublicKeySize
	}
	return false
}

// keyFits reports whether k is the key type that method m verifies with,
// with the curve (ECDSA) or length (HMAC) it needs. It does not rely on
// the method's own type checks.
func keyFits(m jwt.SigningMethod, k any) bool {
	if !supportedKey(k) {
		return false
	}
	switch m := m.(type) {
	case *jwt.SigningMethodHMAC:
		hk, ok := k.([]byte)
		return ok && len(hk) >= m.Hash.Size()
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		_, ok := k.(*rsa.PublicKey)
		return ok
	case *jwt.SigningMethodECDSA:
		ek, ok := k.(*ecdsa.PublicKey)
		return ok && ek.Curve.Params().BitSize == m.CurveBits
	case *jwt.SigningMethodEd25519:
		_, ok := k.(ed25519.PublicKey)
		return ok
	}
	return false
}
