package transport

import (
	"fmt"
	"net/http"

	"github.com/wsauth/wsauth/internal/wire"
)

// FromCookie reads the credential in the cookie name of a handshake
// request, the carrier of browser sessions: the browser sends the cookie
// on the upgrade by itself. The cookie must appear once with a valid
// credential; none is ErrNoCredential, anything else ErrMalformed.
//
// A cookie rides on every request the browser makes, a cross-site page's
// too: a server must refuse cross-origin upgrades before it looks at one.
func FromCookie(r *http.Request, name string) (string, error) {
	found := r.CookiesNamed(name)
	switch {
	case len(found) == 0:
		return "", fmt.Errorf("transport: cookie: no cookie %q: %w", name, ErrNoCredential)
	case len(found) > 1:
		return "", fmt.Errorf("transport: cookie: cookie %q given %d times: %w", name, len(found), ErrMalformed)
	}
	if err := wire.CheckCredential("cookie", found[0].Value); err != nil {
		return "", err
	}
	return found[0].Value, nil
}
