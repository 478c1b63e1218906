// Package jwtverify is a wsauth.Verifier of JSON Web Tokens (RFC 7519),
// built on github.com/golang-jwt/jwt/v5: give its Verifier to wsauth.New to
// authenticate WebSocket connections, or every frame of one
// (wsauth.PerMessage), with JWTs from an identity provider.
//
// It is a package of its own, rather than part of wsauth, to keep package
// wsauth's API small and to keep jwt/v5 out of programs that use tickets
// only.
//
// # Use
//
// New takes an explicit allow-list of algorithms and a jwt.Keyfunc. Keys
// makes a Keyfunc over a static key set, by "kid" ("" for tokens without
// one). With Ed25519 public keys:
//
//	keys, err := jwtverify.Keys(map[string]any{
//		"2025-01": pubJan, // ed25519.PublicKey
//		"2025-07": pubJul,
//	})
//	if err != nil { … }
//	v, err := jwtverify.New([]string{"EdDSA"}, keys, &jwtverify.Options{
//		Issuer:   "https://id.example.com",
//		Audience: "chat",
//	})
//	if err != nil { … }
//	http.Handle("/ws", wsauth.Handler(wsauth.New(v, wsauth.PerMessage{}, nil), serve))
//
// With a shared HMAC secret (at least 32 random bytes, as an HMACKey):
//
//	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(secret)})
//	if err != nil { … }
//	v, err := jwtverify.New([]string{"HS256"}, keys, nil)
//
// Keys from a JWKS endpoint come from a JWKS library's Keyfunc, such as
// that of github.com/MicahParks/keyfunc/v3 (see "Key source errors" below).
//
// # What is refused, and why
//
// Algorithms. Only the algorithms of the allow-list are accepted, and New
// refuses "none" and any algorithm whose key type this package does not
// know, so a token cannot pick its own, weaker, check.
//
// Keys. Every key the Keyfunc returns, and every key of a
// jwt.VerificationKeySet it returns, is checked against the token's
// algorithm before jwt/v5 sees it: its type (*rsa.PublicKey for RS* and
// PS*, *ecdsa.PublicKey on the algorithm's curve for ES*,
// ed25519.PublicKey for EdDSA, HMACKey or []byte for HS*), and for HMAC
// its length, at least the hash's size. A set keeps only the keys that
// fit; a key that does not fit refuses the token. Keys are never taken
// from the token: "jwk", "jku", "x5u" and "x5c" are ignored.
//
// Algorithm confusion. An attacker who knows a server's RSA public key (it
// is public) can sign an HS256 token with the key's PEM or DER bytes as
// the HMAC secret; a Keyfunc that returns those bytes without looking at
// the algorithm then has the server check the forgery with them. Two
// rules make that impossible by construction:
//
//   - When the allow-list mixes HMAC with an asymmetric algorithm (say
//     {"HS256", "RS256"}), HMAC secrets are accepted only as HMACKey, never
//     as []byte: bytes are only a secret when the caller said so.
//   - Whatever the allow-list, an HMACKey or []byte that holds a PEM block
//     or parses as a DER public key or certificate is never used as an HMAC
//     secret; Keys refuses one outright.
//
// Claims. A token must carry "exp" and a non-empty string "sub"; "nbf" and
// "iat", when present, must not be in the future (compared to the second,
// as jwt/v5 does; also past the range of int64); "iss" and "aud" must
// match Options.Issuer and Options.Audience when they are set. Options.Leeway
// (at most 5 minutes) allows for clock skew. A "crit" header is refused, as
// no JWS extension is understood, and so is base64 that is not in its
// canonical form or has a line break in it (Go's decoder skips those), so
// that a token has one spelling. Tokens longer than
// transport.MaxCredentialLen (8 KiB), the most any wsauth carrier takes,
// are refused before any decoding.
//
// Errors. A refusal wraps wsauth.ErrExpired when the token's only fault is
// that it has expired (the client should fetch a new one), wsauth.ErrUnavailable
// when the key source failed, and wsauth.ErrInvalid otherwise. Its text is
// one of a few fixed ones: never the token, a claim, or jwt/v5's or the
// Keyfunc's text, which may quote the token's header.
//
// # Key source errors
//
// An error of the Keyfunc that is not the token's fault refuses with
// wsauth.ErrUnavailable, so that wsauth answers 503 or closes with 1011,
// and does not charge the client's failure budget: one that wraps
// wsauth.ErrUnavailable, a net.Error, a *url.Error (what an http.Client
// returns when a request fails), context.DeadlineExceeded or
// context.Canceled. Any other error (an unknown kid, say) refuses with
// wsauth.ErrInvalid.
//
// A JWKS library reports a failed fetch in its own way, so check what
// yours returns and wrap what means "the endpoint is down" with
// wsauth.ErrUnavailable. For github.com/MicahParks/keyfunc/v3 on
// github.com/MicahParks/jwkset, for example: the Keyfunc's error joins the
// storage's error (errors.Join with keyfunc.ErrKeyfunc), so errors.Is and
// errors.As see through it; a request that fails is reported with the
// http.Client's *url.Error, which is recognised as it is; but an answer with
// an unexpected status is jwkset.ErrInvalidHTTPStatusCode, and a refresh on
// an unknown kid that fails is handed to the storage's RefreshErrorHandler
// and then reported as jwkset.ErrKeyNotFound, which reads as an unknown kid.
// Wrap the Keyfunc to map those:
//
//	kf := func(t *jwt.Token) (any, error) {
//		k, err := jwks.Keyfunc(t)
//		if err != nil && (errors.Is(err, jwkset.ErrInvalidHTTPStatusCode) || refreshFailing()) {
//			err = fmt.Errorf("%w: %w", wsauth.ErrUnavailable, err)
//		}
//		return k, err
//	}
//
// where refreshFailing reports what the RefreshErrorHandler last saw. A
// Keyfunc that refetches on an unknown kid should also rate-limit its
// refetches. Verify waits for the Keyfunc, which sees no context: bound its
// fetches with a timeout. JWKS libraries return HMAC ("oct") keys as
// []byte; with an allow-list that mixes HMAC with asymmetric algorithms,
// convert the ones you trust to HMACKey in such a wrapper, or they are
// refused.
//
// # Cache
//
// A Verifier keeps up to Options.CacheSize verified tokens (1024 by
// default) so that a token presented again, as in per-message
// authentication, costs a map lookup instead of a signature check. The
// cache is split into shards with a lock each and evicts with the CLOCK
// algorithm; failures are never cached. A cached token is served until its
// "exp" plus Options.Leeway, and refused with wsauth.ErrExpired after it,
// even if its key has been withdrawn in the meantime: revoke tokens with
// wsauth.Registry instead. Because a JWT's answer holds until it expires,
// Verifier is a wsauth.StableVerifier, and Stable hands a connection the
// cache's own copy of its token.
//
// Tokens the cache misses are verified on a short-lived goroutine: parsing
// needs a deep stack, which a connection's goroutine would otherwise grow
// and keep for its lifetime. A panic in the Keyfunc is raised again on the
// caller's goroutine.
package jwtverify
