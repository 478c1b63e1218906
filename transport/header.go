package transport

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/wire"
)

// FromAuthorization reads a bearer credential from the Authorization
// header of a handshake request, "Authorization: Bearer T", the carrier of
// clients that can set headers on a WebSocket (Go services, mobile apps,
// CLIs; not browsers).
//
// The header must appear once, with the scheme "Bearer" (any case) and one
// space before a valid credential; none is ErrNoCredential, anything else
// ErrMalformed.
func FromAuthorization(h http.Header) (string, error) {
	vs := h["Authorization"]
	switch {
	case len(vs) == 0:
		return "", fmt.Errorf("transport: header: no Authorization header: %w", ErrNoCredential)
	case len(vs) > 1:
		return "", fmt.Errorf("transport: header: %d Authorization headers: %w", len(vs), ErrMalformed)
	}
	scheme, cred, ok := strings.Cut(vs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("transport: header: Authorization is not a Bearer credential: %w", ErrMalformed)
	}
	if err := wire.CheckCredential("header", cred); err != nil {
		return "", err
	}
	return cred, nil
}

// DialHeader dials rawURL with token in an "Authorization: Bearer" header,
// next to any headers of opts (whose own Authorization header is
// replaced). Errors never contain the token.
func DialHeader(ctx context.Context, rawURL, token string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	if err := wire.CheckCredential("header", token); err != nil {
		return nil, nil, err
	}
	o := dialOptions(opts)
	o.HTTPHeader = o.HTTPHeader.Clone()
	if o.HTTPHeader == nil {
		o.HTTPHeader = http.Header{}
	}
	o.HTTPHeader.Set("Authorization", "Bearer "+token)
	c, resp, err := websocket.Dial(ctx, rawURL, &o)
	if err != nil {
		return nil, resp, redact(fmt.Errorf("transport: dial with bearer header: %w", err), secretForms(token)...)
	}
	return c, resp, nil
}
