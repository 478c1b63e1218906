package jwtverify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// minHMACKeyLen is the shortest HMAC secret Keys accepts: the output size
// of SHA-256 (RFC 7518, section 3.2). HS384 and HS512 need 48 and 64 bytes;
// a shorter key refuses their tokens.
const minHMACKeyLen = 32

// HMACKey is an HMAC secret, for the HS256, HS384 and HS512 algorithms. It
// must be at least as long as the algorithm's hash: 32, 48 and 64 bytes
// (RFC 7518, section 3.2); Keys refuses one shorter than 32 bytes, and a
// token whose algorithm needs a longer key is refused.
//
// Use HMACKey rather than []byte for HMAC secrets. When the allow-list
// given to New mixes HMAC with an asymmetric algorithm (RS*, PS*, ES*,
// EdDSA), HMAC secrets are accepted only as HMACKey and a plain []byte is
// refused: a Keyfunc that hands out a key's bytes without looking at the
// token's algorithm would otherwise let an attacker sign an HS256 token
// with a public key, which is public ("algorithm confusion"). Whatever the
// allow-list, an HMACKey or []byte that holds a PEM block, or parses as a
// DER public key or certificate, is never used as an HMAC secret.
type HMACKey []byte

// Keys returns a jwt.Keyfunc over a static key set indexed by the token's
// "kid" header; the key under "" verifies tokens without a kid. A token
// whose kid is not in the set, or not a string, is refused.
//
// The values must be HMACKey (or []byte, see HMACKey), *rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey. Keys fails for an empty set, a key
// of any other type (private keys and strings included), an invalid public
// key, an HMAC key shorter than 32 bytes, or bytes that hold a PEM block
// or parse as a DER public key or certificate. It copies set and the bytes
// of its keys; later changes to them have no effect. The Keyfunc is for
// New: it returns an HMACKey as such, which jwt/v5 alone does not take.
func Keys(set map[string]any) (jwt.Keyfunc, error) {
	if len(set) == 0 {
		return nil, errors.New("jwtverify: Keys: empty key set")
	}
	keys := make(map[string]any, len(set))
	for kid, k := range set {
		c, err := staticKey(k)
		if err != nil {
			// The kid is configuration, not token data: safe to name.
			return nil, fmt.Errorf("jwtverify: Keys: key %q: %w", kid, err)
		}
		keys[kid] = c
	}
	return func(t *jwt.Token) (any, error) {
		kid := ""
		if raw, ok := t.Header["kid"]; ok {
			s, ok := raw.(string)
			if !ok {
				return nil, errUnknownKey
			}
			kid = s
		}
		k, ok := keys[kid]
		if !ok {
			return nil, errUnknownKey
		}
		return k, nil
	}, nil
}

// staticKey checks a key given to Keys and returns a copy of it.
func staticKey(k any) (any, error) {
	switch k := k.(type) {
	case HMACKey:
		if err := checkSecret(k); err != nil {
			return nil, err
		}
		return HMACKey(slices.Clone(k)), nil
	case []byte:
		if err := checkSecret(k); err != nil {
			return nil, err
		}
		return slices.Clone(k), nil
	case *rsa.PublicKey:
		if !validRSA(k) {
			return nil, errors.New("invalid RSA public key")
		}
		return k, nil
	case *ecdsa.PublicKey:
		if !validECDSA(k) {
			return nil, errors.New("invalid ECDSA public key")
		}
		return k, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("invalid Ed25519 public key")
		}
		return slices.Clone(k), nil
	}
	// The type names no secret.
	return nil, fmt.Errorf("unsupported key type %T", k)
}

// checkSecret tells why b cannot be an HMAC secret, if it cannot.
func checkSecret(b []byte) error {
	if len(b) < minHMACKeyLen {
		return fmt.Errorf("HMAC key shorter than %d bytes", minHMACKeyLen)
	}
	if publicKeyBytes(b) {
		return errors.New("bytes are a PEM block or a DER public key, not an HMAC secret")
	}
	return nil
}

// pemMarker starts every PEM block: pem.Decode finds none without it.
var pemMarker = []byte("-----BEGIN")

// publicKeyBytes reports whether b is an encoded public key or
// certificate, or holds a PEM block: the bytes an attacker would use as
// the HMAC secret of an algorithm confusion attack, since they are public.
// A random secret is none of these. It runs on every HMAC verification,
// so the DER parsers only see bytes that start as DER does.
func publicKeyBytes(b []byte) bool {
	if bytes.Contains(b, pemMarker) {
		return true
	}
	if len(b) == 0 || b[0] != 0x30 { // every DER key and certificate is a SEQUENCE
		return false
	}
	if _, err := x509.ParsePKIXPublicKey(b); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PublicKey(b); err == nil {
		return true
	}
	_, err := x509.ParseCertificate(b)
	return err == nil
}

func validRSA(k *rsa.PublicKey) bool {
	return k != nil && k.N != nil && k.N.Sign() > 0 && k.E > 1
}

func validECDSA(k *ecdsa.PublicKey) bool {
	if k == nil || k.Curve == nil || k.X == nil || k.Y == nil {
		return false
	}
	_, err := k.Bytes() // fails for a point off a standard curve
	return err == nil
}

// supportedAlg reports whether alg names a jwt/v5 method whose key type
// fit knows. "none" and methods registered by other packages are not.
func supportedAlg(alg string) bool {
	switch jwt.GetSigningMethod(alg).(type) {
	case *jwt.SigningMethodHMAC, *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS,
		*jwt.SigningMethodECDSA, *jwt.SigningMethodEd25519:
		return true
	}
	return false
}

// isHMAC reports whether alg is an HMAC algorithm.
func isHMAC(alg string) bool {
	_, ok := jwt.GetSigningMethod(alg).(*jwt.SigningMethodHMAC)
	return ok
}

// fit returns k as jwt/v5 verifies method m with it, if k is the type
// of key m verifies with, with the curve (ECDSA) or length (HMAC) it
// needs, and not a public key's bytes posing as an HMAC secret. mixed
// says the allow-list mixes HMAC with asymmetric algorithms: HMAC secrets
// must then be HMACKey. fit does not rely on jwt/v5's own type checks.
func fit(m jwt.SigningMethod, k any, mixed bool) (any, bool) {
	switch m := m.(type) {
	case *jwt.SigningMethodHMAC:
		var secret []byte
		switch k := k.(type) {
		case HMACKey:
			secret = k
		case []byte:
			if mixed {
				return nil, false
			}
			secret = k
		default:
			return nil, false
		}
		if !m.Hash.Available() || len(secret) < m.Hash.Size() || publicKeyBytes(secret) {
			return nil, false
		}
		return secret, true // jwt/v5 takes []byte only
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		rk, ok := k.(*rsa.PublicKey)
		return rk, ok && validRSA(rk)
	case *jwt.SigningMethodECDSA:
		ek, ok := k.(*ecdsa.PublicKey)
		return ek, ok && ek != nil && ek.Curve == curve(m.CurveBits) && validECDSA(ek)
	case *jwt.SigningMethodEd25519:
		ed, ok := k.(ed25519.PublicKey)
		return ed, ok && len(ed) == ed25519.PublicKeySize
	}
	return nil, false
}

// curve is the curve of the ECDSA algorithm with bits-bit keys.
func curve(bits int) elliptic.Curve {
	switch bits {
	case 256:
		return elliptic.P256()
	case 384:
		return elliptic.P384()
	case 521:
		return elliptic.P521()
	}
	return nil
}
