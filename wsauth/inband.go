package wsauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// inBand is the part the FirstMessage and PerMessage strategies share: the
// socket is upgraded unauthenticated, and its first frame must arrive
// within AuthTimeout and fit in the auth read limit.
type inBand struct {
	opts      *Options
	readLimit int64
	// auth authenticates the first frame and returns what the handler's
	// first Read gets, if anything.
	auth func(ctx context.Context, typ websocket.MessageType, b []byte, peer Peer) (Principal, *Message, error)
	// ok, if set, answers a successful authentication.
	ok         func(ctx context.Context, ws *websocket.Conn, p Principal) error
	perMessage bool
}

func (s *inBand) Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	var peer Peer
	// Upgrading and reading the auth frame are two calls, not nested: the
	// upgrade's stack (net/http writing the 101) is the deepest the
	// handshake goes, and a goroutine whose stack once grows past 8 KiB
	// keeps 16 KiB while the connection idles.
	ws, err := s.upgrade(w, r, &peer)
	var c *Conn
	if err == nil {
		c, err = s.accept(ws, r, peer)
	}
	var e *Error
	switch {
	case c != nil:
		s.opts.emit(r.Context(), Event{Kind: EventAuthenticated, Subject: c.Principal().Subject, Addr: peer.Addr})
	case errors.As(err, &e):
		if ws == nil {
			s.opts.failed(peer.Addr, e.Err) // accept counts its own, before it answers
		}
		s.opts.emitRefusal(r.Context(), peer.Addr, "", e)
	}
	return c, err
}

// upgrade checks the request and upgrades it, filling in *pp as soon as
// it is known.
func (s *inBand) upgrade(w http.ResponseWriter, r *http.Request, pp *Peer) (*websocket.Conn, error) {
	o := s.opts
	if err := checkOrigin(r, o.Accept); err != nil {
		return nil, o.refuseHTTP(w, err)
	}
	peer, err := o.peerOf(r)
	if err != nil {
		return nil, o.refuseHTTP(w, err)
	}
	*pp = peer
	ws, err := websocket.Accept(w, r, o.Accept)
	if err != nil {
		return nil, fmt.Errorf("wsauth: upgrade: %w", err)
	}
	if o.limited(peer.Addr) {
		// Upgraded only so that a browser can read why.
		ws.Close(CloseTooManyAttempts, classify(ErrRateLimited).reason)
		return nil, &Error{Code: CloseTooManyAttempts, Err: ErrRateLimited}
	}
	return ws, nil
}

// accept reads and authenticates the first frame on ws.
func (s *inBand) accept(ws *websocket.Conn, r *http.Request, peer Peer) (*Conn, error) {
	o := s.opts
	ws.SetReadLimit(s.readLimit)

	// A Read whose context ends kills the connection without a close
	// frame, so the deadline is a timer that closes with 4408 instead.
	var timedOut atomic.Bool
	timer := time.AfterFunc(o.authTimeout(), func() {
		timedOut.Store(true)
		o.failed(peer.Addr, ErrTimeout)
		ws.Close(CloseAuthTimeout, classify(ErrTimeout).reason)
	})
	typ, b, err := ws.Read(r.Context())
	if !timer.Stop() || timedOut.Load() {
		ws.CloseNow()
		return nil, &Error{Code: CloseAuthTimeout, Err: ErrTimeout}
	}
	if err != nil {
		// Failures count before the client hears of them, so that its
		// next attempt meets the limit.
		o.failed(peer.Addr, ErrNoCredential)
		if errors.Is(err, websocket.ErrMessageTooBig) {
			// websocket has sent 1009. Closing now, with the rest of the
			// frame unread, would reset the connection and the client
			// would never read the 1009: finish the close handshake
			// instead, which discards (never buffers) what is still
			// coming, for at most websocket's 5 s.
			ws.Close(websocket.StatusMessageTooBig, "")
			return nil, &Error{Code: websocket.StatusMessageTooBig, Err: fmt.Errorf("%w: auth frame too large: %w", ErrMalformed, err)}
		}
		ws.CloseNow()
		code := websocket.CloseStatus(err)
		if code == -1 {
			code = websocket.StatusAbnormalClosure
		}
		return nil, &Error{Code: code, Err: fmt.Errorf("%w: reading the auth frame: %w", ErrNoCredential, err)}
	}
	var p Principal
	var first *Message
	if o.limited(peer.Addr) {
		err = ErrRateLimited // others failed from there meanwhile
	} else {
		p, first, err = s.auth(r.Context(), typ, b, peer)
	}
	if err == nil && s.ok != nil {
		err = s.ok(r.Context(), ws, p)
	}
	if err != nil {
		o.failed(peer.Addr, err)
		c := classify(err)
		ws.Close(c.code, c.reason)
		return nil, &Error{Code: c.code, Err: err}
	}
	c := newConn(ws, o, peer, p)
	c.perMessage, c.pending = s.perMessage, first
	return c, nil
}

// refuseHTTP answers a refusal that cannot be upgraded.
func (o *Options) refuseHTTP(w http.ResponseWriter, err error) *Error {
	c := classify(err)
	http.Error(w, c.reason, c.status)
	return &Error{Status: c.status, Code: c.code, Err: err}
}
