package wsauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// refreshTag is in every refresh frame whose type is written without
// escapes; frames without it are not parsed at all.
var refreshTag = []byte(`"` + transport.TypeRefresh + `"`)

// refreshFrame reports whether the text frame b is a refresh frame:
// a JSON object whose "type" is "refresh", and returns it parsed. perr is
// set when it is one but cannot be used (malformed, no token).
func refreshFrame(b []byte) (ok bool, ctl transport.Control, perr error) {
	if !bytes.Contains(b, refreshTag) {
		return false, ctl, nil
	}
	ctl, err := transport.ParseControl(b)
	if ctl.Type != "" {
		return ctl.Type == transport.TypeRefresh, ctl, err
	}
	// Malformed: refuse it only if it was meant as a refresh.
	var probe struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.Type == transport.TypeRefresh {
		return true, ctl, err
	}
	return false, ctl, nil
}

// receiveControl is how connections other than per-message ones handle a
// frame: in band, refresh frames are consumed; everything else is the
// application's.
func (c *Conn) receiveControl(ctx context.Context, inBand bool, typ websocket.MessageType, b []byte) (Message, bool, error) {
	if inBand && typ == websocket.MessageText {
		if ok, ctl, perr := refreshFrame(b); ok {
			return Message{}, false, c.refresh(ctx, ctl, perr, false)
		}
	}
	return Message{Type: typ, Data: b, Principal: c.Principal()}, true, nil
}

// refresh checks the credential of a refresh frame as the first one was
// (failure budget, Verifier, revocations, Authorizer) and, if it names the
// same subject, makes it the connection's principal and answers auth_ok.
// Otherwise it closes the connection with the refusal's code. With
// remember (per-message), later frames repeating the new token take the
// fast path, as frames repeating the first one did.
func (c *Conn) refresh(ctx context.Context, ctl transport.Control, perr error, remember bool) error {
	if perr != nil {
		return c.refuseFrame(carrierErr(perr), false, false)
	}
	cur := c.Principal()
	p, ids, epoch, err := c.a.check(ctx, c.peer(), ctl.Token, &cur)
	if err != nil {
		return c.refuseFrame(err, true, false)
	}
	if remember {
		c.remember(ctl.Token, &p)
	}
	if !c.set(&p, ids, epoch) {
		// Revoked while it was checked: the connection is closing with
		// 4401, and the client never hears auth_ok.
		return c.endedErr("refresh")
	}
	c.a.emit(c.eventCtx(), Event{Kind: EventRefreshed, Subject: p.Subject, Addr: c.addr})
	if err := c.writeAuthOK(ctx, &p, nil); err != nil {
		return fmt.Errorf("wsauth: refresh: auth_ok: %w", err)
	}
	return nil
}
