package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// route is one strategy and how a client authenticates on it, so that a
// test can run over all four.
type route struct {
	name     string
	strategy wsauth.Strategy
	// dial authenticates with cred: the connection once authenticated (for
	// the in-band strategies, after auth_ok), else the HTTP status or the
	// close code of the refusal.
	dial func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome)
}

// outcome is how an attempt was answered.
type outcome struct {
	status int                  // HTTP status of a refused handshake
	code   websocket.StatusCode // close code of a refusal after the upgrade
	err    error
}

func (o outcome) String() string {
	switch {
	case o.status != 0:
		return fmt.Sprintf("HTTP %d", o.status)
	case o.code != 0:
		return fmt.Sprintf("close %d", o.code)
	case o.err != nil:
		return o.err.Error()
	}
	return "ok"
}

func handshakeOutcome(c *websocket.Conn, resp *http.Response, err error) (*websocket.Conn, outcome) {
	if err != nil {
		o := outcome{err: err}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			o.status = resp.StatusCode
		}
		return nil, o
	}
	return c, outcome{}
}

// inBandOutcome reads the server's answer to a first frame: auth_ok, or a
// close.
func inBandOutcome(ctx context.Context, c *websocket.Conn) (*websocket.Conn, outcome) {
	_, b, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return nil, outcome{code: ce.Code, err: err}
		}
		return nil, outcome{err: err}
	}
	var ok transport.AuthOK
	if err := ok.UnmarshalJSON(b); err != nil {
		c.CloseNow()
		return nil, outcome{err: err}
	}
	return c, outcome{}
}

var (
	queryRoute = route{"query", wsauth.Query{}, func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome) {
		return handshakeOutcome(transport.DialQuery(ctx, url, cred, o))
	}}
	subprotocolRoute = route{"subprotocol", wsauth.Subprotocol{}, func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome) {
		return handshakeOutcome(transport.DialSubprotocol(ctx, url, cred, nil, o))
	}}
	firstMessageRoute = route{"first_message", wsauth.FirstMessage{}, func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome) {
		c, resp, err := websocket.Dial(ctx, url, o)
		if err != nil {
			return handshakeOutcome(nil, resp, err)
		}
		frame, err := transport.AppendControl(nil, transport.TypeAuth, cred)
		if err != nil {
			c.CloseNow()
			return nil, outcome{err: err}
		}
		if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
			c.CloseNow()
			return nil, outcome{err: err}
		}
		return inBandOutcome(ctx, c)
	}}
	perMessageRoute = route{"per_message", wsauth.PerMessage{}, func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome) {
		c, resp, err := websocket.Dial(ctx, url, o)
		if err != nil {
			return handshakeOutcome(nil, resp, err)
		}
		frame, err := transport.AppendEnvelope(nil, cred, []byte(`"hello"`))
		if err != nil {
			c.CloseNow()
			return nil, outcome{err: err}
		}
		if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
			c.CloseNow()
			return nil, outcome{err: err}
		}
		return inBandOutcome(ctx, c)
	}}
	headerRoute = route{"header", wsauth.Header{}, func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome) {
		return handshakeOutcome(transport.DialHeader(ctx, url, cred, o))
	}}
	cookieRoute = route{"cookie", wsauth.Cookie{Name: "session"}, func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome) {
		var opts websocket.DialOptions
		if o != nil {
			opts = *o
		}
		opts.HTTPHeader = opts.HTTPHeader.Clone()
		if opts.HTTPHeader == nil {
			opts.HTTPHeader = http.Header{}
		}
		opts.HTTPHeader.Set("Cookie", "theme=dark; session="+cred)
		if opts.HTTPHeader.Get("Origin") == "" {
			opts.HTTPHeader.Set("Origin", originOf(url)) // a browser sends its page's
		}
		return handshakeOutcome(websocket.Dial(ctx, url, &opts))
	}}
	routes = []route{queryRoute, subprotocolRoute, firstMessageRoute, perMessageRoute, headerRoute, cookieRoute}
)

// originOf is the origin of a page served where url points.
func originOf(url string) string {
	u := strings.Replace(url, "ws", "http", 1)
	if i := strings.Index(u[len("https://"):], "/"); i >= 0 {
		u = u[:len("https://")+i]
	}
	return u
}

// withInBand returns the handshake route r with InBand set: its dial
// reads the server's first frame, auth_ok or a close.
func (r route) withInBand() route {
	switch s := r.strategy.(type) {
	case wsauth.Query:
		s.InBand = true
		r.strategy = s
	case wsauth.Subprotocol:
		s.InBand = true
		r.strategy = s
	case wsauth.Header:
		s.InBand = true
		r.strategy = s
	case wsauth.Cookie:
		s.InBand = true
		r.strategy = s
	default:
		return r
	}
	dial := r.dial
	r.name += "_inband"
	r.dial = func(ctx context.Context, url, cred string, o *websocket.DialOptions) (*websocket.Conn, outcome) {
		c, out := dial(ctx, url, cred, o)
		if c == nil {
			return nil, out
		}
		return inBandOutcome(ctx, c)
	}
	return r
}

// inBand reports whether r's refusals are close codes.
func (r route) inBand() bool {
	switch r.name {
	case "query", "subprotocol", "header", "cookie":
		return false
	}
	return true
}

// refusedAs reports whether o is the refusal with HTTP status and close
// code as r answers it: a status for the handshake strategies, a code for
// the in-band ones.
func (r route) refusedAs(o outcome, status int, code websocket.StatusCode) bool {
	if r.inBand() {
		return o.code == code
	}
	return o.status == status
}
