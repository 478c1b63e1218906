package wsauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// Cookie is the strategy that reads the credential from a cookie the
// browser sends on the upgrade by itself, such as the session cookie of a
// web app. Because the browser sends it on every request, a cross-site
// page's too, the origin check is mandatory: an upgrade without an Origin
// header, or from a foreign origin, is refused with 403 before the cookie
// is read, and New panics unless every pattern of Options.OriginPatterns
// names its site: a host without wildcards ("app.example.com",
// "localhost:*"), or "*." and a domain ("*.example.com"), never "*",
// "*:3000", "*.com" or "*.*", which a cross-site page could be served
// from, nor a character class or an escape. A public suffix ("*.co.uk",
// "*.github.io") passes for a domain: do not list one. The cookie is
// removed from the request before anything else sees it.
type Cookie struct {
	// Name is the cookie's name. Required: New panics without one.
	Name string
	// InBand: as Query.InBand.
	InBand bool
}

func (c Cookie) compile() strategy {
	if c.Name == "" {
		panic("wsauth: Cookie needs the cookie's Name")
	}
	return c
}

func (Cookie) handshake() bool { return true }
func (c Cookie) inBand() bool  { return c.InBand }

// sameOrigin reports whether the strategy insists on an Origin header.
func (Cookie) sameOrigin() bool { return true }

func (c Cookie) carry(at *attempt) (string, error) {
	cred, err := transport.FromCookie(at.r, c.Name)
	stripCookie(at.r, c.Name)
	if err != nil {
		return "", carrierErr(err)
	}
	return cred, nil
}

func (c Cookie) receive(ctx context.Context, conn *Conn, typ websocket.MessageType, b []byte) (Message, bool, error) {
	return conn.receiveControl(ctx, c.InBand, typ, b)
}

// stripCookie removes the cookie name from r's Cookie headers, in place.
func stripCookie(r *http.Request, name string) {
	lines := r.Header["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, c := range r.Cookies() {
		if c.Name != name {
			kept = append(kept, c.String())
		}
	}
	if len(kept) == 0 {
		delete(r.Header, "Cookie")
		return
	}
	r.Header["Cookie"] = []string{strings.Join(kept, "; ")}
}
