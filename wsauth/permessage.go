package wsauth

import (
	"context"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/wire"
	"github.com/wsauth/wsauth/ticket"
)

// PerMessage is the strategy in which every client frame carries a token,
// typically a JWT:
//
//	text:   {"token":"<JWT>","data":<any JSON>}
//	binary: uint16 big-endian token length | token | payload
//
// The first frame authenticates the connection within Timeout (else close
// 4408) and ReadLimit (else 1009), as FirstMessage's does, and is the
// handler's first Read. Every later frame whose token differs from the
// last one verified goes through the same checks as the first: Verifier,
// revocations, Authorizer, same subject, failure budget. A frame without a
// valid token closes the connection with 4401 (or, with DropInvalid, is
// dropped and Read returns the error); a token naming another subject
// closes with 4403. With a StableVerifier (the JWT verifier), a frame
// repeating the last verified token reuses its Principal.
//
// The connection expires with the latest exp seen: after that, writes fail
// with ErrExpired and the connection is closed with 4401, so a client that
// stops sending fresh tokens stops receiving too. A text frame
// {"type":"refresh","token":T} refreshes without data: it is answered with
// auth_ok and never delivered, which is what a client with nothing to send
// uses to keep its connection alive past a token's expiry.
type PerMessage struct {
	// Timeout is how long the socket may wait for its first frame.
	// Default 10 s.
	Timeout time.Duration
	// ReadLimit is the largest first frame read, in bytes: it carries
	// data as well as the token. Default 16 KiB.
	ReadLimit int64
	// DropInvalid makes a later frame without a valid token be dropped,
	// with Read returning the error, instead of closing the connection.
	// The frame still spends the client's failure budget; once the budget
	// is spent the connection is closed with 4429.
	DropInvalid bool
}

func (s PerMessage) compile() strategy {
	if s.Timeout <= 0 {
		s.Timeout = defaultAuthTimeout
	}
	if s.ReadLimit <= 0 {
		s.ReadLimit = defaultFrameReadLimit
	}
	return s
}

func (PerMessage) handshake() bool { return false }
func (PerMessage) inBand() bool    { return true }

func (s PerMessage) carry(at *attempt) (string, error) {
	typ, b, err := at.readFirst(s.Timeout, s.ReadLimit)
	if err != nil {
		return "", err
	}
	tok, data, _, err := parseEnvelope(typ, b, wire.Credential{})
	if err != nil {
		return "", err
	}
	at.first = &Message{Type: typ, Data: data}
	return string(tok), nil
}

func (s PerMessage) receive(ctx context.Context, c *Conn, typ websocket.MessageType, b []byte) (Message, bool, error) {
	m := &c.memo
	tok, data, same, err := parseEnvelope(typ, b, m.known)
	// A refresh frame has no data, so it is never an envelope: looking
	// for one only when the envelope is refused keeps it off the path of
	// every frame.
	if err != nil && typ == websocket.MessageText {
		if ok, ctl, perr := refreshFrame(b); ok {
			return Message{}, false, c.refresh(ctx, ctl, perr, true)
		}
	}
	// Fast path: the token this connection verified last, still
	// unexpired, and still the connection's principal, the one the
	// Registry files it under (a refresh makes another the principal, and
	// then RevokeToken of this one would not close the connection). The
	// parser compared the token's full bytes with the known one (same),
	// so this never accepts another token.
	if err == nil && same && m.p != nil && m.p == c.principal.Load() && time.Now().Before(m.p.ExpiresAt) {
		return Message{Type: typ, Data: data, Principal: *m.p}, true, nil
	}
	settled := false
	var p Principal
	var ids [2]ticket.Key
	var epoch uint64
	var cred string
	if err == nil {
		cur := c.Principal()
		cred = string(tok)
		p, ids, epoch, err = c.a.check(ctx, c.peer(), cred, &cur)
		settled = true
	}
	if err != nil {
		k := kindOf(err)
		keep := s.DropInvalid && k != kindSubjectChanged && k != kindRateLimited
		return Message{}, false, c.refuseFrame(err, settled, keep)
	}
	if p.ExpiresAt.After(c.Principal().ExpiresAt) {
		// The connection's principal from now on: the Registry files the
		// connection under its IDs, so the fast path may serve it. A token
		// that does not become the principal is checked on every frame:
		// revoking it must refuse its frames, and nothing would close the
		// connection for it. One copy, shared by the memo and the life.
		pp := new(Principal)
		*pp = p
		c.remember(cred, pp)
		if !c.set(pp, ids, epoch) {
			return Message{}, false, c.endedErr("read") // revoked meanwhile: not delivered
		}
		c.a.emit(c.eventCtx(), Event{Kind: EventRefreshed, Subject: p.Subject, Addr: c.addr})
	}
	// Ended while the token was checked (its subject revoked): a frame
	// checked before a Revoke returned is not delivered after it.
	if err := c.endedErr("read"); err != nil {
		return Message{}, false, err
	}
	return Message{Type: typ, Data: data, Principal: p}, true, nil
}

// parseEnvelope splits a per-message frame into its token and data. A
// token equal to known is compared rather than checked byte by byte, and
// same reports it.
func parseEnvelope(typ websocket.MessageType, b []byte, known wire.Credential) (tok, data []byte, same bool, err error) {
	if typ == websocket.MessageBinary {
		tok, data, same, err = wire.ParseBinaryEnvelope(b, known)
	} else {
		tok, data, same, err = wire.ParseEnvelope(b, known)
	}
	if err != nil {
		return nil, nil, false, carrierErr(err)
	}
	return tok, data, same, nil
}

// memorable reports whether the fast path may keep p: the Verifier says
// its answers hold until they expire, and p does expire.
func (c *Conn) memorable(p Principal) bool {
	return c.a.stable != nil && !p.ExpiresAt.IsZero()
}

// frameMemo is the last token a per-message connection verified with a
// StableVerifier, and its Principal, for the fast path.
type frameMemo struct {
	known wire.Credential
	p     *Principal
}

// remember keeps tok and p for the fast path, when the Verifier says its
// answer holds until p expires. p must be the connection's principal, the
// one the Registry files it under. The token kept is the Verifier's copy.
func (c *Conn) remember(tok string, p *Principal) {
	if !c.memorable(*p) {
		return
	}
	m := &c.memo
	if m.p != nil && m.known.String() == tok {
		m.p = p
		return
	}
	keep, ok := c.a.stable.Stable(tok)
	if !ok {
		return
	}
	// Checked once here, so later frames carrying it are compared.
	cred, err := wire.NewCredential(keep)
	if err != nil {
		return
	}
	*m = frameMemo{known: cred, p: p}
}
