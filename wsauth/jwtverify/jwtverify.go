package jwtverify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

const (
	// maxLeeway is the largest Options.Leeway New accepts.
	maxLeeway = 5 * time.Minute
	// defaultCacheSize is the number of verified tokens kept when
	// Options.CacheSize is zero.
	defaultCacheSize = 1024
)

// Options configures New. The zero value, and a nil *Options, work.
type Options struct {
	// Issuer, if set, must equal the "iss" claim.
	Issuer string

	// Audience, if set, must be one of the "aud" claim's values.
	Audience string

	// Leeway is the clock skew allowed on "exp", "nbf" and "iat". The
	// default is 0; New refuses a negative leeway or one of more than 5
	// minutes.
	Leeway time.Duration

	// ScopeClaim names the claim that becomes Principal.Scope: either a
	// space-separated string (OAuth style) or an array of strings. The
	// default is "scope". A missing claim means no scope; a claim of any
	// other type refuses the token.
	ScopeClaim string

	// CacheSize is how many verified tokens are kept so that a repeated
	// token is not verified again. The default (0) is 1024; a negative
	// value disables the cache.
	//
	// A cached token is served until its "exp" (plus Leeway), even if its
	// key is withdrawn from the Keyfunc in the meantime. Tokens are kept
	// as presented, at most CacheSize × transport.MaxCredentialLen bytes.
	CacheSize int
}

// Verifier is a wsauth.Verifier, and a wsauth.StableVerifier, of JSON Web
// Tokens (RFC 7519) built on github.com/golang-jwt/jwt/v5. Make one with
// New. It is safe for concurrent use.
type Verifier struct {
	keys       jwt.Keyfunc
	algs       []string
	mixed      bool // the allow-list mixes HMAC with asymmetric algorithms
	leeway     time.Duration
	scopeClaim string
	parser     *jwt.Parser
	cache      *cache // nil: disabled
}

var (
	_ wsauth.Verifier       = (*Verifier)(nil)
	_ wsauth.StableVerifier = (*Verifier)(nil)
)

// New returns a Verifier of JWTs signed with one of algorithms, whose keys
// come from keys, configured by opts, which may be nil.
//
// algorithms is the allow-list of "alg" values, such as []string{"EdDSA"}.
// It is required: there is no default that accepts everything. Only the
// HMAC (HS256, HS384, HS512), RSA (RS*, PS*), ECDSA (ES*) and EdDSA
// algorithms of jwt/v5 are supported; "none", and any algorithm whose key
// type is not known, are refused. New copies it.
//
// keys is a jwt.Keyfunc, which may return a jwt.VerificationKeySet; Keys
// builds one from a static set, and JWKS libraries provide others. Every
// key it returns is checked against the token's algorithm before jwt/v5
// sees it (see the package doc); a set keeps only the keys that fit.
//
// New fails if algorithms is empty or names an algorithm not supported, if
// keys is nil, or if opts asks for a Leeway outside [0, 5 min].
func New(algorithms []string, keys jwt.Keyfunc, opts *Options) (*Verifier, error) {
	if len(algorithms) == 0 {
		return nil, errors.New("jwtverify: New: no algorithms allowed")
	}
	hmac, asym := false, false
	for _, alg := range algorithms {
		if strings.EqualFold(alg, "none") {
			return nil, fmt.Errorf("jwtverify: New: algorithm %q is never allowed", alg)
		}
		if !supportedAlg(alg) {
			return nil, fmt.Errorf("jwtverify: New: algorithm %q not supported", alg)
		}
		if isHMAC(alg) {
			hmac = true
		} else {
			asym = true
		}
	}
	if keys == nil {
		return nil, errors.New("jwtverify: New: no Keyfunc")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Leeway < 0 || o.Leeway > maxLeeway {
		return nil, fmt.Errorf("jwtverify: New: leeway must be within [0, %v]", maxLeeway)
	}
	if o.ScopeClaim == "" {
		o.ScopeClaim = "scope"
	}
	if o.CacheSize == 0 {
		o.CacheSize = defaultCacheSize
	}
	v := &Verifier{
		keys:       keys,
		algs:       slices.Clone(algorithms),
		mixed:      hmac && asym,
		leeway:     o.Leeway,
		scopeClaim: o.ScopeClaim,
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
		// One spelling per token: base64 with stray low bits is refused.
		jwt.WithStrictDecoding(),
	}
	if o.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(o.Issuer))
	}
	if o.Audience != "" {
		popts = append(popts, jwt.WithAudience(o.Audience))
	}
	v.parser = jwt.NewParser(popts...)
	if o.CacheSize > 0 {
		v.cache = newCache(o.CacheSize)
	}
	return v, nil
}

// Verify checks token and returns who it names: Subject is "sub",
// IssuedAt "iat" to the millisecond (zero if absent, and then a
// wsauth.Registry that keeps revocations refuses the token), ExpiresAt
// "exp" plus Options.Leeway (the connection may live as long as the token
// is accepted), Scope the
// Options.ScopeClaim, and Claims all the claims. The Principal may be
// shared with other callers through the cache: treat its Scope and Claims
// as read-only.
//
// Errors wrap wsauth.ErrExpired (a token whose only fault is that it has
// expired), wsauth.ErrUnavailable (the Keyfunc's key source failed; see the
// package doc) or wsauth.ErrInvalid (anything else, including an empty
// token and one longer than transport.MaxCredentialLen, refused before any
// decoding). Their texts are fixed: they never contain the token, its
// claims or the Keyfunc's error.
//
// Verify ignores ctx and peer: the key lookup, if it blocks, must bound
// itself. A panic in the Keyfunc is raised again on the caller's
// goroutine (wsauth's pipeline turns it into a refusal).
func (v *Verifier) Verify(ctx context.Context, token string, peer wsauth.Peer) (wsauth.Principal, error) {
	if token == "" {
		return wsauth.Principal{}, errNoToken
	}
	if len(token) > transport.MaxCredentialLen {
		return wsauth.Principal{}, errTooLarge
	}
	if v.cache != nil {
		p, state := v.cache.get(token, time.Now())
		switch state {
		case cacheHit:
			return p, nil
		case cacheExpired:
			// It verified once; time is the only thing that changed.
			return wsauth.Principal{}, errExpired
		}
	}
	// Go's base64 decoder skips line breaks, strict or not: refused before
	// verifying, so that a token has one spelling, and one cache entry.
	// The cache holds only tokens verified, so a hit needs no such look.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return wsauth.Principal{}, errMalformed
	}
	p, err := v.verifyOffStack(token)
	if err != nil {
		return wsauth.Principal{}, err
	}
	if v.cache != nil {
		v.cache.put(token, p)
	}
	return p, nil
}

// Stable implements wsauth.StableVerifier: a JWT's answer holds until its
// exp, since a signature stays valid. It returns the cache's own copy of
// token when the token is cached, so that a connection keeps no copy of
// its own, else a copy of token.
func (v *Verifier) Stable(token string) (string, bool) {
	if v.cache != nil {
		if k, ok := v.cache.key(token); ok {
			return k, true
		}
	}
	return strings.Clone(token), true
}

// verifyOffStack runs verify on a goroutine of its own. Parsing a token
// (jwt/v5, encoding/json, reflection, crypto) needs a deep stack: run on a
// connection's goroutine, it grows that stack from 8 to 16 KiB, which the
// goroutine then keeps while it idles in Read, 8 KiB more per connection.
// A short-lived goroutine's stack goes back to the pool when it ends. The
// goroutine grows its stack first, in one step (growStack), rather than
// doubling it three times with verify's frames on it. A panic (from a
// Keyfunc) is raised again on the caller's goroutine.
func (v *Verifier) verifyOffStack(token string) (wsauth.Principal, error) {
	// One allocation for the result and its wait: a channel would be
	// two, and every short-lived object of a handshake leaves a hole
	// among the connections' long-lived ones (BENCHMARKS.md).
	var r struct {
		p        wsauth.Principal
		err      error
		panicked bool
		value    any
		done     sync.WaitGroup
	}
	r.done.Add(1)
	go func() {
		defer func() {
			if r.panicked {
				r.value = recover()
			}
			r.done.Done()
		}()
		r.panicked = true
		growStack(len(token))
		r.p, r.err = v.verify(token)
		r.panicked = false
	}()
	r.done.Wait()
	if r.panicked {
		if r.value == nil {
			// runtime.Goexit: fail closed, loudly.
			panic("jwtverify: the Keyfunc's goroutine exited")
		}
		panic(r.value)
	}
	return r.p, r.err
}

// verify does the full check of a token the cache did not answer.
func (v *Verifier) verify(token string) (wsauth.Principal, error) {
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, claims, v.key)
	if err != nil {
		if onlyExpired(err) {
			// Claims are checked after the signature: it is authentic.
			if subject(claims) == "" {
				return wsauth.Principal{}, errNoSubject
			}
			if notYet(claims, time.Now().Add(v.leeway)) {
				// Not valid yet, as jwt/v5 would have said within int64:
				// a refresh would not mend it.
				return wsauth.Principal{}, errNotYet
			}
			return wsauth.Principal{}, errExpired
		}
		return wsauth.Principal{}, v.refusal(tok, err)
	}
	sub := subject(claims)
	if sub == "" {
		return wsauth.Principal{}, errNoSubject
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		// The parser requires exp; this is defence in depth.
		return wsauth.Principal{}, errNoExpiry
	}
	iat, err := claims.GetIssuedAt()
	if err != nil {
		return wsauth.Principal{}, errClaimType
	}
	if notYet(claims, time.Now().Add(v.leeway)) {
		return wsauth.Principal{}, errNotYet
	}
	scope, ok := scopeOf(claims[v.scopeClaim])
	if !ok {
		return wsauth.Principal{}, errScope
	}
	p := wsauth.Principal{
		Subject:   sub,
		ExpiresAt: exp.Time.Add(v.leeway),
		Scope:     scope,
		Claims:    map[string]any(claims),
	}
	if iat != nil {
		p.IssuedAt = issuedAt(claims["iat"], iat.Time)
	}
	return p, nil
}

// notYet reports whether "nbf" or "iat" is after now, to the second, as
// jwt/v5 compares them: jwt/v5 converts them with int64(f), which makes
// a number past the int64 range, such as 1e19, the far past.
func notYet(claims jwt.MapClaims, now time.Time) bool {
	t := float64(now.UnixNano()) / 1e9
	for _, name := range []string{"nbf", "iat"} {
		if f, ok := claims[name].(float64); ok && math.Floor(f) > t {
			return true
		}
	}
	return false
}

// issuedAt keeps the milliseconds of a fractional "iat" (RFC 7519 allows
// them), which jwt/v5 rounds to its TimePrecision: revocations compare
// against IssuedAt, and a token minted just after its subject's
// revocation should not be refused for the rest of that second. It rounds
// down, towards refusal.
func issuedAt(raw any, parsed time.Time) time.Time {
	f, ok := raw.(float64)
	if !ok || f != f || f < 0 || f > 1<<53/1000 {
		return parsed
	}
	return time.UnixMilli(int64(math.Floor(f * 1000)))
}

// key is the Keyfunc jwt/v5 calls: it refuses a crit header, finds the
// key with the caller's Keyfunc and refuses one that does not fit t's
// algorithm. The parser has already checked the algorithm against the
// allow-list. Keys are never taken from the token ("jwk", "jku", "x5u",
// "x5c" are ignored).
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		// No JWS extension is understood (RFC 7515, section 4.1.11).
		return nil, errCrit
	}
	k, err := v.keys(t)
	if err != nil {
		return nil, keyfuncRefusal(err)
	}
	if set, ok := k.(jwt.VerificationKeySet); ok {
		// Keep only the keys that fit, so a mixed set cannot be abused.
		var fits []jwt.VerificationKey
		for _, sk := range set.Keys {
			if fk, ok := fit(t.Method, sk, v.mixed); ok {
				fits = append(fits, fk)
			}
		}
		if len(fits) == 0 {
			return nil, errKeyType
		}
		return jwt.VerificationKeySet{Keys: fits}, nil
	}
	fk, ok := fit(t.Method, k, v.mixed)
	if !ok {
		return nil, errKeyType
	}
	return fk, nil
}

// refusal turns a parser error into one of ours with a fixed text:
// jwt/v5's texts may quote header values, so they are dropped.
func (v *Verifier) refusal(tok *jwt.Token, err error) error {
	var r *refusal
	if errors.As(err, &r) { // from key
		return r
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformed
	case tok != nil && tok.Method != nil && !slices.Contains(v.algs, tok.Method.Alg()),
		errors.Is(err, jwt.ErrTokenUnverifiable):
		return errAlg
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errMissingClaim
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errAudience
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errNotYet
	case errors.Is(err, jwt.ErrInvalidType):
		return errClaimType
	}
	return errClaims
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
// "exp".
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

// growStack's frame makes the runtime grow a new goroutine's 2 KiB stack
// to 8 KiB at once, while the stack holds one frame; verify then runs
// without further growth for HS256, EdDSA and RS256 (ES256 grows once
// more, to 16 KiB). Each growth copies the stack and adjusts every frame
// on it: three of them, with verify's deep frames, cost HS256 half again
// its verification.
//
//go:noinline
func growStack(i int) byte {
	var frame [6 << 10]byte
	return frame[i%len(frame)]
}
