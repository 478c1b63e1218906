package wsauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// Query is the strategy that reads a ticket from a query parameter:
// wss://host/ws?ticket=T.
//
// URLs end up in access logs and proxies, so only short-lived single-use
// tickets belong there. The parameter is removed from the request itself
// (its URL and RequestURI) before anything else sees it, so neither the
// handler nor a logging middleware that runs afterwards on the same
// request can log it. A logger further out that holds a copy of the
// request (r.WithContext and http.StripPrefix make one) or logs before
// calling on is out of reach: see the package doc.
type Query struct {
	// Param names the query parameter. Default "ticket"
	// (transport.QueryParam).
	Param string
	// InBand makes refusals an upgrade closed with a 44xx code, which a
	// browser can read, instead of an HTTP status, which it cannot, and
	// success an auth_ok frame before any other; the connection can then
	// also refresh its credential in band (see the package doc). Cross-
	// origin requests are always refused over HTTP.
	InBand bool
}

func (q Query) compile() strategy {
	if q.Param == "" {
		q.Param = transport.QueryParam
	}
	return q
}

func (Query) handshake() bool { return true }
func (q Query) inBand() bool  { return q.InBand }
func (q Query) carry(at *attempt) (string, error) {
	cred, err := transport.FromQuery(at.r, q.Param)
	stripQuery(at.r, q.Param)
	if err != nil {
		return "", carrierErr(err)
	}
	return cred, nil
}

func (q Query) receive(ctx context.Context, c *Conn, typ websocket.MessageType, b []byte) (Message, bool, error) {
	return c.receiveControl(ctx, q.InBand, typ, b)
}

// stripQuery removes the parameter name from r's URL and RequestURI, in
// place: the request is shared with the middleware around the handler.
// The other parameters are kept as they were written. A query
// url.ParseQuery refuses is dropped whole rather than guessed at.
func stripQuery(r *http.Request, name string) {
	if r.URL == nil || r.URL.RawQuery == "" {
		return
	}
	raw := r.URL.RawQuery
	// kept is made once a parameter is kept: a query of the credential
	// alone, the usual one, allocates nothing.
	var kept []byte
	dropped := false
	for rest := raw; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		key, _, _ := strings.Cut(part, "=")
		if strings.Contains(part, ";") {
			kept, dropped = nil, true // as url.ParseQuery refuses it
			break
		}
		k, err := url.QueryUnescape(key)
		if err != nil {
			kept, dropped = nil, true
			break
		}
		if k == name && part != "" {
			dropped = true
			continue
		}
		if part == "" {
			continue
		}
		if kept == nil {
			kept = make([]byte, 0, len(raw))
		} else {
			kept = append(kept, '&')
		}
		kept = append(kept, part...)
	}
	if !dropped {
		return
	}
	r.URL.RawQuery = string(kept)
	r.RequestURI = r.URL.RequestURI()
}
