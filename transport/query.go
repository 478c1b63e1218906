package transport

import (
	"fmt"
	"github.com/wsauth/wsauth/internal/wire"
	"net/http"
	"net/url"
	"strings"
)

// QueryParam is the default query parameter that carries a ticket:
// wss://host/ws?ticket=T.
const QueryParam = "ticket"

// MaxQueryLen bounds the raw query string FromQuery is willing to parse, so
// a hostile URL cannot make it build a large map.
const MaxQueryLen = 8 << 10

// FromQuery returns the credential in the query parameter name of r's URL
// (QueryParam when name is empty).
//
// The parameter must appear exactly once with a non-empty value; a missing
// or empty value is ErrNoCredential. Repeated parameters, a query string
// longer than MaxQueryLen or one net/url cannot parse, and a value that is
// not a valid credential are ErrMalformed.
//
// Only short-lived, single-use tickets belong in a URL: proxies and access
// logs keep URLs.
func FromQuery(r *http.Request, name string) (string, error) {
	if name == "" {
		name = QueryParam
	}
	if r == nil || r.URL == nil {
		return "", fmt.Errorf("transport: query: no URL: %w", ErrNoCredential)
	}
	raw := r.URL.RawQuery
	if len(raw) > MaxQueryLen {
		return "", fmt.Errorf("transport: query: query string longer than %d bytes: %w", MaxQueryLen, ErrMalformed)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		// The parse error quotes the input, which may hold the ticket.
		return "", fmt.Errorf("transport: query: unparsable query string: %w", ErrMalformed)
	}
	vs := q[name]
	switch {
	case len(vs) == 0:
		return "", fmt.Errorf("transport: query: parameter %q missing: %w", name, ErrNoCredential)
	case len(vs) > 1:
		return "", fmt.Errorf("transport: query: parameter %q given %d times: %w", name, len(vs), ErrMalformed)
	}
	if err := wire.CheckCredential("query", vs[0]); err != nil {
		return "", err
	}
	return vs[0], nil
}

// WithQuery returns rawURL with the query parameter name (QueryParam when
// empty) set to cred. Every existing occurrence of name is removed; other
// parameters keep their order and encoding, and the fragment is kept. A
// resulting query string longer than MaxQueryLen, which FromQuery would
// refuse, is ErrMalformed.
func WithQuery(rawURL, name, cred string) (string, error) {
	if name == "" {
		name = QueryParam
	}
	if err := wire.CheckCredential("query", cred); err != nil {
		return "", err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return "", fmt.Errorf("transport: query: parse URL: %w", err)
	}
	var b strings.Builder
	for pair := range strings.SplitSeq(u.RawQuery, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil && dk == name {
			continue
		}
		b.WriteString(pair)
		b.WriteByte('&')
	}
	b.WriteString(url.QueryEscape(name))
	b.WriteByte('=')
	b.WriteString(url.QueryEscape(cred))
	if b.Len() > MaxQueryLen {
		// Escaping can triple a credential: never build what FromQuery
		// refuses.
		return "", fmt.Errorf("transport: query: query string longer than %d bytes: %w", MaxQueryLen, ErrMalformed)
	}
	u.RawQuery = b.String()
	u.ForceQuery = false
	return u.String(), nil
}
