package wsauth

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/wsauth/wsauth/transport"
)

// Authenticator is one strategy: it accepts a WebSocket upgrade request as
// an authenticated Conn.
//
// When Accept refuses it has already answered the client (an HTTP status,
// or an upgrade closed with a 44xx code) and returns an *Error saying what
// it sent. Implementations are safe for concurrent use.
type Authenticator interface {
	Accept(w http.ResponseWriter, r *http.Request) (*Conn, error)
}

// Handshake is a strategy that authenticates the upgrade request itself:
// Query or Subprotocol. Besides Accept it offers Middleware, for servers
// that upgrade with another WebSocket library.
type Handshake struct {
	opts *Options
	// extract finds the credential in r, returns r without it, and the
	// application subprotocol to echo.
	extract func(r *http.Request) (cred string, stripped *http.Request, subprotocol string, err error)
}

// Query returns the strategy that reads a ticket from the query parameter
// Options.QueryParam (default "ticket"): wss://host/ws?ticket=T.
//
// URLs end up in access logs and proxies, so only short-lived single-use
// tickets belong there; this package never logs them, and strips the
// parameter from the request it hands on.
func Query(opts *Options) *Handshake {
	o := copyOptions(opts, "Query", "query")
	o.refreshFrames, o.notices = o.Refresh, o.Refresh
	name := o.QueryParam
	if name == "" {
		name = transport.QueryParam
	}
	return &Handshake{opts: o, extract: func(r *http.Request) (string, *http.Request, string, error) {
		cred, err := transport.FromQuery(r, name)
		if err != nil {
			return "", r, "", transportErr(err)
		}
		return cred, withoutQueryParam(r, name), "", nil
	}}
}

// Subprotocol returns the strategy that reads the credential from the
// Sec-WebSocket-Protocol header, where the client offers its application
// protocol and "wsauth.bearer." + base64url(credential).
//
// The server echoes the first protocol of Options.Accept.Subprotocols
// (default "wsauth") that the client offered, never the credential. A
// client that offers only the credential is refused with 400: a browser
// would fail a connection whose answer echoes nothing it offered.
func Subprotocol(opts *Options) *Handshake {
	o := copyOptions(opts, "Subprotocol", "subprotocol")
	o.refreshFrames, o.notices = o.Refresh, o.Refresh
	allowed := o.Accept.Subprotocols
	if len(allowed) == 0 {
		allowed = []string{transport.DefaultSubprotocol}
	}
	return &Handshake{opts: o, extract: func(r *http.Request) (string, *http.Request, string, error) {
		cred, offered, err := transport.FromSubprotocol(r.Header)
		selected := selectSubprotocol(allowed, offered)
		if selected == "" {
			return "", r, "", ErrSubprotocol
		}
		if err != nil {
			return "", r, selected, transportErr(err)
		}
		// A shallow copy with its own header map: the Conn keeps this
		// request for its lifetime, and a deep r.Clone (URL, every header
		// value) costs 250 bytes more per connection. The value slices
		// are shared but never written.
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = maps.Clone(r.Header)
		r2.Header["Sec-Websocket-Protocol"] = []string{strings.Join(offered, ", ")}
		return cred, r2, selected, nil
	}}
}

// Accept authenticates r and upgrades it. See Authenticator.
func (h *Handshake) Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	p, peer, subprotocol, err := h.authenticate(r)
	if err != nil {
		e := h.opts.refuse(w, r, err, subprotocol)
		h.opts.emitRefusal(r.Context(), peer.Addr, "", e)
		return nil, e
	}
	ws, err := h.opts.upgrade(w, r, subprotocol)
	if err != nil {
		return nil, err
	}
	h.opts.emit(r.Context(), Event{Kind: EventAuthenticated, Subject: p.Subject, Addr: peer.Addr})
	return newConn(ws, h.opts, peer, p), nil
}

// Middleware authenticates the upgrade request before next runs, and hands
// next the request with the Principal in its context (PrincipalFrom) and
// the credential removed from its URL and headers. Refusals are always HTTP
// statuses. next does the upgrade with any WebSocket library; with the
// Subprotocol strategy it must echo an application protocol the client
// offered. Expiry is not enforced on connections next makes: use the
// Principal's ExpiresAt.
func (h *Handshake) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, peer, _, err := h.authenticate(r)
		if err != nil {
			c := classify(err)
			http.Error(w, c.reason, c.status)
			h.opts.emitRefusal(r.Context(), peer.Addr, "", &Error{Status: c.status, Code: c.code, Err: err})
			return
		}
		h.opts.emit(r.Context(), Event{Kind: EventAuthenticated, Subject: p.Subject, Addr: peer.Addr})
		next.ServeHTTP(w, peer.Request.WithContext(NewContext(peer.Request.Context(), p)))
	})
}

// authenticate checks the origin, then the credential, then the
// authorizer. The Peer it returns carries the request without the
// credential.
func (h *Handshake) authenticate(r *http.Request) (Principal, Peer, string, error) {
	if err := checkOrigin(r, h.opts.Accept); err != nil {
		return Principal{}, Peer{}, "", err
	}
	cred, stripped, subprotocol, xerr := h.extract(r)
	if errors.Is(xerr, ErrSubprotocol) {
		return Principal{}, Peer{}, subprotocol, xerr
	}
	peer, err := h.opts.peerOf(stripped)
	if err != nil {
		return Principal{}, Peer{}, subprotocol, err
	}
	if h.opts.limited(peer.Addr) {
		return Principal{}, peer, subprotocol, ErrRateLimited
	}
	p, err := Principal{}, xerr
	if err == nil {
		p, err = h.opts.authenticate(r.Context(), cred, peer)
	}
	if err != nil {
		h.opts.failed(peer.Addr, err)
	}
	return p, peer, subprotocol, err
}

// selectSubprotocol picks, in server order, the first allowed protocol the
// client offered.
func selectSubprotocol(allowed, offered []string) string {
	for _, a := range allowed {
		for _, o := range offered {
			if strings.EqualFold(a, o) {
				return o
			}
		}
	}
	return ""
}

// transportErr maps a carrier's parse error onto this package's errors.
func transportErr(err error) error {
	if errors.Is(err, transport.ErrNoCredential) {
		return fmt.Errorf("%w: %w", ErrNoCredential, err)
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

// withoutQueryParam returns a shallow copy of r whose URL no longer holds
// the named parameter, so nothing downstream can log it.
func withoutQueryParam(r *http.Request, name string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	q, _ := url.ParseQuery(u.RawQuery)
	q.Del(name)
	u.RawQuery = q.Encode()
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2
}
