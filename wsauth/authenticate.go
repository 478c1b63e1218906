package wsauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// peerOf builds the Peer a Verifier sees for r.
func (o *Options) peerOf(r *http.Request) (Peer, error) {
	addr, err := o.ClientIP.Of(r)
	if err != nil {
		return Peer{}, fmt.Errorf("%w: client address", ErrInvalid)
	}
	var scope string
	if o.Scope != nil {
		scope = o.Scope(r)
	}
	return Peer{Addr: addr, Scope: scope, Request: r}, nil
}

// verify runs the Verifier with panics recovered and its result checked,
// so that whatever goes wrong ends in refusal.
func (o *Options) verify(ctx context.Context, cred string, peer Peer) (p Principal, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = Principal{}, fmt.Errorf("%w: verifier panicked", ErrInternal)
		}
	}()
	p, err = o.Verifier.Verify(ctx, cred, peer)
	switch {
	case err != nil:
		if !known(err) {
			err = fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return Principal{}, err
	case p.Subject == "":
		return Principal{}, fmt.Errorf("%w: no subject", ErrInvalid)
	case !p.ExpiresAt.IsZero() && !o.now().Before(p.ExpiresAt):
		return Principal{}, ErrExpired
	}
	return p, nil
}

// authorize runs the Authorizer, if any, with panics recovered.
func (o *Options) authorize(ctx context.Context, p Principal, r *http.Request) (err error) {
	if o.Authorizer == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: authorizer panicked", ErrInternal)
		}
	}()
	if err = o.Authorizer(ctx, p, r); err != nil && !known(err) {
		err = fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return err
}

// authenticate verifies and authorizes cred for r.
func (o *Options) authenticate(ctx context.Context, cred string, peer Peer) (Principal, error) {
	p, err := o.verify(ctx, cred, peer)
	if err != nil {
		return Principal{}, err
	}
	if err := o.Registry.checkDenied(ctx, p); err != nil {
		return Principal{}, err
	}
	if err := o.authorize(ctx, p, peer.Request); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// known reports whether err wraps one of this package's errors.
func known(err error) bool {
	for _, c := range classes {
		if errors.Is(err, c.sentinel) {
			return true
		}
	}
	return false
}

// refuse answers a refused handshake. When the options ask for it and the
// request can be upgraded, the refusal is a close frame a browser can read;
// otherwise it is an HTTP status. subprotocol is what the upgrade must echo
// for a browser to accept it.
func (o *Options) refuse(w http.ResponseWriter, r *http.Request, err error, subprotocol string) *Error {
	c := classify(err)
	e := &Error{Code: c.code, Err: err}
	if o.RejectAfterUpgrade && !errors.Is(err, ErrOrigin) && !errors.Is(err, ErrSubprotocol) {
		ws, aerr := websocket.Accept(w, r, o.acceptOptions(subprotocol))
		if aerr != nil {
			// websocket.Accept has answered with an HTTP error.
			e.Status = http.StatusBadRequest
			return e
		}
		ws.Close(c.code, c.reason)
		return e
	}
	e.Status = c.status
	http.Error(w, c.reason, c.status)
	return e
}

// upgrade accepts the WebSocket for an authenticated principal.
func (o *Options) upgrade(w http.ResponseWriter, r *http.Request, subprotocol string) (*websocket.Conn, error) {
	ws, err := websocket.Accept(w, r, o.acceptOptions(subprotocol))
	if err != nil {
		return nil, fmt.Errorf("wsauth: upgrade: %w", err)
	}
	return ws, nil
}

// acceptOptions are Options.Accept with subprotocol, already chosen by
// the strategy, as the only protocol websocket.Accept may echo: never the
// credential entry.
func (o *Options) acceptOptions(subprotocol string) *websocket.AcceptOptions {
	a := *o.Accept
	a.Subprotocols = nil
	if subprotocol != "" {
		a.Subprotocols = []string{subprotocol}
	}
	return &a
}
