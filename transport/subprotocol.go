package transport

import (
	"encoding/base64"
	"fmt"
	"github.com/wsauth/wsauth/internal/wire"
	"net/http"
	"strings"
)

// SubprotocolPrefix starts the Sec-WebSocket-Protocol entry that carries a
// credential: SubprotocolPrefix + base64url-without-padding(credential).
// Servers match it without regard to case.
const SubprotocolPrefix = "wsauth.bearer."

// DefaultSubprotocol is the application protocol a client offers next to
// its credential when it has none of its own, so that the server always has
// something other than the credential to echo.
const DefaultSubprotocol = "wsauth"

// MaxSubprotocolHeaderLen bounds the total size of all Sec-WebSocket-Protocol
// header lines FromSubprotocol reads.
const MaxSubprotocolHeaderLen = 16 << 10

// protocolHeader is the canonical form of Sec-WebSocket-Protocol, so lookups
// need not canonicalize on every handshake.
const protocolHeader = "Sec-Websocket-Protocol"

// b64 is strict so that each credential has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// FromSubprotocol reads the credential from the Sec-WebSocket-Protocol
// header lines of a handshake request, and returns with it the offered
// application protocols, in order and without the credential entry. The
// server selects its protocol from offered and must never echo the
// credential entry.
//
// All header lines are read and split on commas; spaces and tabs around an
// entry are ignored, as are empty entries. Exactly one entry must start with
// SubprotocolPrefix: none is ErrNoCredential, two or more are ErrMalformed.
// An entry that is not an RFC 7230 token, a credential that is not strict
// base64url without padding or not a valid credential once decoded, and
// header lines longer than MaxSubprotocolHeaderLen in total are ErrMalformed.
// When the header is well-formed but the credential entry is missing, empty
// or does not decode to a valid credential, offered is still returned, so
// that a server can echo an application protocol while it refuses.
func FromSubprotocol(h http.Header) (cred string, offered []string, err error) {
	lines := h[protocolHeader]
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	if total > MaxSubprotocolHeaderLen {
		return "", nil, fmt.Errorf("transport: subprotocol: header longer than %d bytes: %w", MaxSubprotocolHeaderLen, ErrMalformed)
	}
	var encoded string
	found := false
	for li, l := range lines {
		for e := range strings.SplitSeq(l, ",") {
			e = strings.Trim(e, " \t")
			if e == "" {
				continue
			}
			if i := firstNonToken(e); i >= 0 {
				return "", nil, fmt.Errorf("transport: subprotocol: header line %d: entry is not a token (byte %d): %w", li, i, ErrMalformed)
			}
			if isCredentialEntry(e) {
				if found {
					return "", nil, fmt.Errorf("transport: subprotocol: more than one credential entry: %w", ErrMalformed)
				}
				found = true
				encoded = e[len(SubprotocolPrefix):]
				continue
			}
			offered = append(offered, e)
		}
	}
	if !found {
		return "", offered, fmt.Errorf("transport: subprotocol: no %s entry: %w", SubprotocolPrefix, ErrNoCredential)
	}
	if encoded == "" {
		return "", offered, fmt.Errorf("transport: subprotocol: empty credential entry: %w", ErrNoCredential)
	}
	if len(encoded) > b64.EncodedLen(MaxCredentialLen) {
		return "", offered, fmt.Errorf("transport: subprotocol: credential longer than %d bytes: %w", MaxCredentialLen, ErrMalformed)
	}
	// One buffer for the encoded input and the decoded output, on the
	// stack when a ticket's entry fits.
	var stack [256]byte
	buf := stack[:0]
	if n := len(encoded) + b64.DecodedLen(len(encoded)); n <= len(stack) {
		buf = stack[:n]
	} else {
		buf = make([]byte, n)
	}
	src, dst := buf[:len(encoded)], buf[len(encoded):]
	copy(src, encoded)
	m, err := b64.Decode(dst, src)
	if err != nil {
		// base64.CorruptInputError holds only an offset, but say so ourselves.
		return "", offered, fmt.Errorf("transport: subprotocol: credential is not base64url without padding: %w", ErrMalformed)
	}
	if err := wire.CheckCredential("subprotocol", dst[:m]); err != nil {
		return "", offered, err
	}
	return string(dst[:m]), offered, nil
}

// SubprotocolOffer returns the Sec-WebSocket-Protocol entries a client
// offers: the application protocols app (DefaultSubprotocol if there are
// none) followed by the credential entry. It does not validate its input;
// DialSubprotocol does.
func SubprotocolOffer(cred string, app ...string) []string {
	out := make([]string, 0, len(app)+2)
	out = append(out, app...)
	if len(app) == 0 {
		out = append(out, DefaultSubprotocol)
	}
	return append(out, SubprotocolPrefix+b64.EncodeToString([]byte(cred)))
}

// isCredentialEntry reports whether the protocol p is a credential entry.
func isCredentialEntry(p string) bool {
	return len(p) >= len(SubprotocolPrefix) && strings.EqualFold(p[:len(SubprotocolPrefix)], SubprotocolPrefix)
}

// firstNonToken returns the index of the first byte of s that is not an RFC
// 7230 tchar, or -1.
func firstNonToken(s string) int {
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return i
		}
	}
	return -1
}

// tchar marks the bytes RFC 7230 section 3.2.6 allows in a token.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
