package wsauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// refreshTag is in every refresh frame whose type is written without
// escapes; frames without it are not parsed at all.
var refreshTag = []byte(`"` + transport.TypeRefresh + `"`)

// refreshFrame reports whether b is a refresh frame: a JSON object of at
// most transport.MaxFrameLen bytes whose "type" is "refresh". perr is set
// when it is one but cannot be used (no token, malformed).
func refreshFrame(b []byte) (ctl transport.Control, perr error, ok bool) {
	if len(b) > transport.MaxFrameLen || !bytes.Contains(b, refreshTag) {
		return transport.Control{}, nil, false
	}
	ctl, err := transport.ParseControl(b)
	if ctl.Type != "" {
		return ctl, err, ctl.Type == transport.TypeRefresh
	}
	// Malformed: refuse it only if it was meant as a refresh.
	var probe struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.Type == transport.TypeRefresh {
		return transport.Control{}, err, true
	}
	return transport.Control{}, nil, false
}

// refresh verifies a refresh frame's credential as the connection's first
// one was (Verifier, Authorizer, deny list, rate limit) and, if it names
// the same subject, makes it the connection's principal and answers
// auth_ok. Otherwise it closes the connection: 4400 malformed, 4401
// invalid, 4403 another subject or not allowed, 4429 rate limited.
func (c *Conn) refresh(ctx context.Context, ctl transport.Control, perr error) error {
	cur := c.Principal()
	var p Principal
	err := perr
	switch {
	case err != nil:
		err = transportErr(err)
	case c.opts.limited(c.peer.Addr):
		err = ErrRateLimited
	default:
		p, err = c.opts.authenticate(ctx, ctl.Token, c.peer)
		if err == nil && p.Subject != cur.Subject {
			err = ErrSubjectChanged
		}
	}
	if err != nil {
		return c.refuseFrame("refresh", err, false)
	}
	c.setPrincipal(p)
	c.opts.emit(c.eventCtx(), Event{Kind: EventRefreshed, Subject: p.Subject, Addr: c.peer.Addr})
	b, err := transport.AuthOK{Subject: p.Subject, ExpiresAt: p.ExpiresAt}.MarshalJSON()
	if err != nil {
		return fmt.Errorf("wsauth: refresh: %w: auth_ok: %w", ErrInternal, err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("wsauth: refresh: auth_ok: %w", err)
	}
	return nil
}

// noticeLead is how long before expiry a connection whose credential has
// life left is warned; 0 for none.
func (o *Options) noticeLead(life time.Duration) time.Duration {
	if !o.notices || o.ExpiryNotice < 0 {
		return 0
	}
	lead := o.ExpiryNotice
	if lead == 0 {
		lead = DefaultExpiryNotice
	}
	return min(lead, life/2)
}

// notify runs on the connection's timer: it re-arms the timer for the
// expiry and sends the expiring notice, unless setPrincipal has re-armed
// the timer meanwhile.
func (c *Conn) notify(gen uint64, exp time.Time) {
	c.timerMu.Lock()
	if c.closed || c.timerGen != gen {
		c.timerMu.Unlock()
		return
	}
	left := exp.Sub(c.opts.now())
	c.timer = time.AfterFunc(left, func() { c.fire(gen) })
	c.timerMu.Unlock()

	b, _ := transport.Expiring{In: left}.MarshalJSON()
	// A peer that does not read by the expiry is closed then anyway.
	ctx, cancel := context.WithDeadline(context.Background(), exp)
	defer cancel()
	c.ws.Write(ctx, websocket.MessageText, b)
}

// refuseFrame refuses a credential presented on an open connection (a
// refresh, or a per-message token after the first): it counts against the
// client's address, is reported as an event, and closes the connection
// with its code unless keep is set.
func (c *Conn) refuseFrame(op string, err error, keep bool) *Error {
	c.opts.failed(c.peer.Addr, err)
	cl := classify(err)
	e := &Error{Code: cl.code, Err: fmt.Errorf("wsauth: %s: %w", op, err)}
	c.opts.emitRefusal(c.eventCtx(), c.peer.Addr, c.Principal().Subject, e)
	if !keep {
		c.stopTimer()
		c.ws.Close(cl.code, cl.reason)
	}
	return e
}
