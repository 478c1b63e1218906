package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/wsauth/wsauth/internal/wire"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// DialQuery dials rawURL with ticket in the QueryParam query parameter.
// Use it only with short-lived, single-use tickets: URLs end up in logs.
func DialQuery(ctx context.Context, rawURL, ticket string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	u, err := WithQuery(rawURL, QueryParam, ticket)
	if err != nil {
		return nil, nil, err
	}
	o := dialOptions(opts)
	c, resp, err := websocket.Dial(ctx, u, &o)
	if err != nil {
		return nil, resp, redact(fmt.Errorf("transport: dial with query ticket: %w", err), secretForms(ticket)...)
	}
	return c, resp, nil
}

// DialSubprotocol dials rawURL offering cred in a Sec-WebSocket-Protocol
// credential entry next to the application protocols app followed by any
// in opts.Subprotocols (DefaultSubprotocol if there are none).
//
// The server must select one of the offered application protocols. If it
// selects none, or the credential entry, DialSubprotocol closes the
// connection and returns an error wrapping ErrProtocolNotNegotiated. The
// selected protocol is c.Subprotocol().
func DialSubprotocol(ctx context.Context, rawURL, cred string, app []string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	if err := wire.CheckCredential("subprotocol", cred); err != nil {
		return nil, nil, err
	}
	o := dialOptions(opts)
	apps := slices.Concat(app, o.Subprotocols)
	for i, p := range apps {
		if p == "" || firstNonToken(p) >= 0 || isCredentialEntry(p) {
			// Not quoted: a misplaced credential entry would leak.
			return nil, nil, fmt.Errorf("transport: subprotocol: application protocol %d is not a token or is a credential entry", i)
		}
	}
	o.Subprotocols = SubprotocolOffer(cred, apps...)
	c, resp, err := websocket.Dial(ctx, rawURL, &o)
	if err != nil {
		return nil, resp, redact(fmt.Errorf("transport: dial with subprotocol credential: %w", err), secretForms(cred)...)
	}
	sel := c.Subprotocol()
	if sel == "" || isCredentialEntry(sel) || !slices.Contains(o.Subprotocols[:len(o.Subprotocols)-1], sel) {
		c.Close(websocket.StatusProtocolError, "no application subprotocol selected")
		return nil, resp, fmt.Errorf("transport: dial with subprotocol credential: %w", ErrProtocolNotNegotiated)
	}
	return c, resp, nil
}

// DialFirstMessage dials rawURL, sends the auth frame {"type":"auth",
// "token":token} and reads the server's reply.
//
// If the server closes the connection instead of answering, the error wraps
// the websocket.CloseError, so websocket.CloseStatus(err) reports the code
// (4401, 4403, 4408, …). A reply that is not an auth_ok frame closes the
// connection and wraps ErrUnexpectedReply (or ErrMalformed). ctx bounds the
// whole exchange; as with any coder/websocket read, ctx ending while waiting
// for the reply closes the connection.
func DialFirstMessage(ctx context.Context, rawURL, token string, opts *websocket.DialOptions) (*websocket.Conn, AuthOK, error) {
	frame, err := AppendControl(nil, TypeAuth, token)
	if err != nil {
		return nil, AuthOK{}, err
	}
	o := dialOptions(opts)
	c, _, err := websocket.Dial(ctx, rawURL, &o)
	if err != nil {
		return nil, AuthOK{}, redact(fmt.Errorf("transport: dial for first-message auth: %w", err), secretForms(token)...)
	}
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		c.CloseNow()
		return nil, AuthOK{}, redact(fmt.Errorf("transport: send auth frame: %w", err), secretForms(token)...)
	}
	ok, err := readAuthOK(ctx, c, token)
	if err != nil {
		return nil, AuthOK{}, err
	}
	return c, ok, nil
}

// DialPerMessage dials rawURL for the per-message carrier: it sends data
// (valid JSON) in a first envelope carrying token, reads the server's
// auth_ok and returns a TokenConn whose writes carry token. Errors are as
// DialFirstMessage's: a refusal wraps the websocket.CloseError.
func DialPerMessage(ctx context.Context, rawURL, token string, data json.RawMessage, opts *websocket.DialOptions) (*TokenConn, AuthOK, error) {
	// The first envelope is built before dialling: a bad token or bad
	// data costs no connection.
	frame, err := AppendEnvelope(nil, token, data)
	if err != nil {
		return nil, AuthOK{}, err
	}
	o := dialOptions(opts)
	c, _, err := websocket.Dial(ctx, rawURL, &o)
	if err != nil {
		return nil, AuthOK{}, redact(fmt.Errorf("transport: dial for per-message auth: %w", err), secretForms(token)...)
	}
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		c.CloseNow()
		return nil, AuthOK{}, redact(fmt.Errorf("transport: write envelope: %w", err), token)
	}
	tc := NewTokenConn(c, token)
	ok, err := readAuthOK(ctx, c, token)
	if err != nil {
		return nil, AuthOK{}, err
	}
	return tc, ok, nil
}

// readAuthOK reads the server's answer to an auth frame or a first
// envelope; anything but auth_ok closes c.
func readAuthOK(ctx context.Context, c *websocket.Conn, token string) (AuthOK, error) {
	typ, msg, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		return AuthOK{}, redact(fmt.Errorf("transport: read auth reply: %w", err), secretForms(token)...)
	}
	var ok AuthOK
	if typ != websocket.MessageText {
		err = fmt.Errorf("transport: auth reply is a binary frame: %w", ErrUnexpectedReply)
	} else if err = ok.UnmarshalJSON(msg); err != nil {
		err = fmt.Errorf("transport: read auth reply: %w", err)
	}
	if err != nil {
		c.Close(websocket.StatusPolicyViolation, "unexpected auth reply")
		return AuthOK{}, err
	}
	return ok, nil
}

// Refresh sends the control frame {"type":"refresh","token":token} on c,
// replacing the connection's credential in band. Any answer arrives as an
// ordinary frame on c.
func Refresh(ctx context.Context, c *websocket.Conn, token string) error {
	frame, err := AppendControl(nil, TypeRefresh, token)
	if err != nil {
		return err
	}
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		return redact(fmt.Errorf("transport: send refresh frame: %w", err), secretForms(token)...)
	}
	return nil
}

// dialOptions returns a copy of opts whose HTTP client follows no
// redirect, as a browser follows none on a WebSocket handshake.
// coder/websocket's Dial would follow one with the request's headers
// (net/http drops only Authorization and Cookie, and only towards another
// host, even from wss to ws), and the in-band helpers would then send
// their token to wherever it led. A 3xx answer is the dial's error.
func dialOptions(opts *websocket.DialOptions) websocket.DialOptions {
	var o websocket.DialOptions
	if opts != nil {
		o = *opts
	}
	hc := *http.DefaultClient
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	}
	hc.CheckRedirect = followNoRedirect
	o.HTTPClient = &hc
	return o
}

func followNoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// secretForms lists the spellings of cred that may show up in a lower
// layer's error text.
func secretForms(cred string) []string {
	return []string{cred, url.QueryEscape(cred), b64.EncodeToString([]byte(cred))}
}

// TokenConn writes per-message envelopes on a *websocket.Conn: every frame
// carries the current token. SetToken may be called concurrently with
// writes; each frame carries either the old or the new token, whole.
// Reading is left to Conn.
type TokenConn struct {
	c     *websocket.Conn
	token atomic.Pointer[checkedToken]
}

// checkedToken is a token and what checking it once found.
type checkedToken struct {
	s   string
	err error
}

// NewTokenConn returns a TokenConn writing on c with token.
func NewTokenConn(c *websocket.Conn, token string) *TokenConn {
	tc := &TokenConn{c: c}
	tc.SetToken(token)
	return tc
}

// SetToken replaces the token sent with later frames, for example after a
// refresh. An invalid token makes later writes fail with ErrMalformed or
// ErrNoCredential.
func (tc *TokenConn) SetToken(token string) {
	tc.token.Store(&checkedToken{token, wire.CheckCredential("envelope", token)})
}

// Conn returns the underlying connection, for reading and closing.
func (tc *TokenConn) Conn() *websocket.Conn { return tc.c }

// Write sends data, which must be valid JSON, in a text envelope.
func (tc *TokenConn) Write(ctx context.Context, data json.RawMessage) error {
	ct := tc.token.Load()
	if ct.err != nil {
		return ct.err
	}
	tok := ct.s
	bp := bufPool.Get().(*[]byte)
	defer putBuf(bp)
	b, err := appendEnvelope((*bp)[:0], tok, data)
	if err != nil {
		return err
	}
	*bp = b
	if err := tc.c.Write(ctx, websocket.MessageText, b); err != nil {
		return redact(fmt.Errorf("transport: write envelope: %w", err), tok)
	}
	return nil
}

// WriteBinary sends payload in a binary envelope.
func (tc *TokenConn) WriteBinary(ctx context.Context, payload []byte) error {
	ct := tc.token.Load()
	if ct.err != nil {
		return ct.err
	}
	tok := ct.s
	bp := bufPool.Get().(*[]byte)
	defer putBuf(bp)
	b := appendBinaryEnvelope((*bp)[:0], tok, payload)
	*bp = b
	if err := tc.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		return redact(fmt.Errorf("transport: write binary envelope: %w", err), tok)
	}
	return nil
}

// bufPool holds frame buffers; a token alone is up to MaxCredentialLen
// (8 KiB), so reusing them saves an allocation per frame. Large buffers
// are not kept.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putBuf(bp *[]byte) {
	if cap(*bp) > 64<<10 {
		return
	}
	bufPool.Put(bp)
}
