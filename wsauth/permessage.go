package wsauth

import (
	"context"
	"errors"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// PerMessage returns the strategy in which every client frame carries a
// token, typically a JWT verified by a JWTVerifier:
//
//	text:   {"token":"<JWT>","data":<any JSON>}
//	binary: uint16 big-endian token length | token | payload
//
// The first frame authenticates the connection as FirstMessage's does
// (AuthTimeout, AuthReadLimit: default 16 KiB) and runs the Authorizer; it
// is also the handler's first Read. Each later frame is verified again;
// Conn.ReadMessage returns its data and its Principal. A frame without a
// valid token closes the connection with 4401, or with
// Options.DropInvalidFrames is dropped and Read returns the error. A token
// naming another subject closes with 4403. With a JWTVerifier and its
// cache, a frame repeating the token the connection last verified, before
// its exp, reuses that Principal without asking the Verifier again, as the
// cache would have answered it.
//
// The connection expires with the latest exp seen: after that, writes fail
// with ErrExpired and the connection is closed with 4401, so a client that
// stops sending fresh tokens stops receiving too.
func PerMessage(opts *Options) Authenticator {
	o := copyOptions(opts, "PerMessage", "per_message")
	o.notices = true
	limit := o.AuthReadLimit
	if limit <= 0 {
		limit = DefaultPerMessageAuthReadLimit
	}
	return &inBand{
		opts:       o,
		readLimit:  limit,
		perMessage: true,
		auth: func(ctx context.Context, typ websocket.MessageType, b []byte, peer Peer) (Principal, *Message, error) {
			tok, data, err := parseEnvelope(typ, b, transport.Credential{})
			if err != nil {
				return Principal{}, nil, err
			}
			p, err := o.authenticate(ctx, string(tok), peer)
			if err != nil {
				return Principal{}, nil, err
			}
			return p, &Message{Type: typ, Data: data, Principal: p}, nil
		},
	}
}

// parseEnvelope splits a per-message frame into its token and data. A
// token equal to known is compared rather than checked byte by byte.
func parseEnvelope(typ websocket.MessageType, b []byte, known transport.Credential) (tok, data []byte, err error) {
	if typ == websocket.MessageBinary {
		tok, data, err = transport.ParseBinaryEnvelopeKnown(b, known)
	} else {
		tok, data, err = transport.ParseEnvelopeKnown(b, known)
	}
	if err != nil {
		return nil, nil, transportErr(err)
	}
	return tok, data, nil
}

// readEnvelope reads and verifies the next per-message frame.
func (c *Conn) readEnvelope(ctx context.Context) (Message, error) {
	if m := c.pending; m != nil {
		c.pending = nil
		return *m, nil
	}
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		return Message{}, c.readErr(err)
	}
	var known transport.Credential
	if c.memo != nil {
		known = c.memo.token
	}
	tok, data, err := parseEnvelope(typ, b, known)
	// Fast path: the token this connection verified last, still unexpired.
	// The comparison is of full bytes, so it never accepts another token.
	if m := c.memo; err == nil && m != nil && string(tok) == m.token.String() &&
		c.opts.now().Before(m.p.ExpiresAt) {
		return Message{Type: typ, Data: data, Principal: m.p}, nil
	}
	var p Principal
	var t string
	if err == nil {
		t = string(tok)
		p, err = c.opts.verify(ctx, t, c.peer)
	}
	cur := c.Principal()
	if err == nil && p.Subject != cur.Subject {
		err = ErrSubjectChanged
	}
	if err != nil {
		keep := c.opts.DropInvalidFrames && !errors.Is(err, ErrSubjectChanged)
		return Message{}, c.refuseFrame("read", err, keep)
	}
	c.remember(t, p)
	if p.ExpiresAt.After(cur.ExpiresAt) {
		c.setPrincipal(p)
		c.opts.emit(ctx, Event{Kind: EventRefreshed, Subject: p.Subject, Addr: c.peer.Addr})
	}
	return Message{Type: typ, Data: data, Principal: p}, nil
}

// frameMemo is the last token a per-message connection verified and its
// Principal, for the fast path in readEnvelope.
type frameMemo struct {
	token transport.Credential
	p     Principal
}

// remember keeps tok and p for the fast path. Only a cached JWTVerifier
// qualifies: it would answer the same token from its cache until exp
// anyway, whereas another Verifier may want to see every frame. The token
// kept is the cache's own copy, so a connection holds no copy of its own.
func (c *Conn) remember(tok string, p Principal) {
	v, ok := c.opts.Verifier.(*JWTVerifier)
	if !ok || v.cache == nil || p.ExpiresAt.IsZero() {
		return
	}
	if m := c.memo; m != nil && m.token.String() == tok {
		m.p = p
		return
	}
	k, ok := v.cache.key(tok)
	if !ok {
		return
	}
	// Checked again here, once per new token, so later frames carrying it
	// are compared instead of checked byte by byte.
	cred, err := transport.NewCredential(k)
	if err != nil {
		return
	}
	c.memo = &frameMemo{token: cred, p: p}
}
