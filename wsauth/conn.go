package wsauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/wire"
	"github.com/wsauth/wsauth/transport"
)

// Conn is an authenticated WebSocket connection over a Socket (by default
// a coder/websocket connection). It knows its Principal, closes itself with
// 4401 when the principal expires or is revoked, handles refresh frames,
// and in per-message mode verifies every frame it reads.
//
// As with websocket.Conn, writes may run concurrently with each other and
// with one reader; reads may not run concurrently.
type Conn struct {
	life
	sock  Socket
	req   *http.Request
	first *Message  // a per-message first frame, for the first Read
	memo  frameMemo // per-message fast path; read side only
}

// Message is one frame read from a Conn.
type Message struct {
	// Type is the frame's type, text or binary.
	Type websocket.MessageType
	// Data is the payload; in per-message mode, the envelope's data.
	Data []byte
	// Principal is who sent the frame: the connection's principal, or in
	// per-message mode the one the frame's token names.
	Principal Principal
}

// Principal returns who the connection is authenticated as now: after a
// refresh, the new principal; in per-message mode, the principal of the
// newest token seen.
func (c *Conn) Principal() Principal { return c.current() }

// Request returns the upgrade request, with the credential removed from
// its URL and headers: for r.PathValue, the remote address, and the like.
// Its context is the one the connection was accepted with.
func (c *Conn) Request() *http.Request { return c.req }

// Socket returns the underlying connection (a *websocket.Conn unless
// Options.Upgrade says otherwise), for what Conn does not offer, such as
// Ping. Reads and writes made on it bypass Conn: no refresh, no per-message
// verification, no expiry check.
func (c *Conn) Socket() Socket { return c.sock }

// Read reads the next message and the principal that sent it. Refresh
// frames are handled here and not returned; in per-message mode the data
// of each envelope is returned, its token verified.
//
// Once the connection has been ended by wsauth, Read returns an error
// wrapping ErrExpired or ErrRevoked (or, for a later credential refused,
// that refusal's error). A Read or Write the socket fails ends the
// connection and closes it; once the handler's context is done, both
// return context.Canceled.
func (c *Conn) Read(ctx context.Context) (Message, error) {
	if m := c.first; m != nil {
		c.first = nil
		if err := c.endedErr("read"); err != nil {
			return Message{}, err
		}
		return *m, nil
	}
	for {
		typ, b, err := c.sockRead(ctx)
		if err != nil {
			return Message{}, c.ioErr("read", err)
		}
		// Once wsauth has ended the connection nothing more is delivered,
		// though the library may still return frames that were on their
		// way (gorilla reads on after its close frame until the peer's).
		if err := c.endedErr("read"); err != nil {
			return Message{}, err
		}
		m, deliver, err := c.a.strategy.receive(ctx, c, typ, b)
		if err != nil {
			return Message{}, err
		}
		if deliver {
			return m, nil
		}
	}
}

// Write writes a message. Once the principal has expired, or the
// connection was revoked, it writes nothing and returns an error wrapping
// ErrExpired or ErrRevoked; the connection is closed with 4401.
func (c *Conn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	if err := c.endedErr("write"); err != nil {
		return err
	}
	if c.expired() {
		return c.endedErr("write")
	}
	if err := c.sockWrite(ctx, typ, p); err != nil {
		return c.ioErr("write", err)
	}
	return nil
}

// sockRead and sockWrite call the socket with the context socketContext
// gives for ctx.
func (c *Conn) sockRead(ctx context.Context) (websocket.MessageType, []byte, error) {
	sctx, err := c.socketContext(ctx)
	if err != nil {
		return 0, nil, err
	}
	return c.sock.Read(sctx)
}

func (c *Conn) sockWrite(ctx context.Context, typ websocket.MessageType, p []byte) error {
	sctx, err := c.socketContext(ctx)
	if err != nil {
		return err
	}
	return c.sock.Write(sctx, typ, p)
}

// Close closes the connection with a close handshake, as websocket.Conn's
// Close does. Once the connection has been ended by wsauth (expired,
// revoked), the code sent is that of the end, 4401.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
	if ecode, etext, _, ok := c.endedByUs(); ok {
		return c.sock.Close(ecode, etext)
	}
	ended := false
	if _, ok := c.finish("closed", code, "", false); ok {
		ended = true
		c.emitClosed()
	}
	err := c.sock.Close(code, reason)
	// The handler's context ends after the close handshake: a Read whose
	// context ends drops the connection without a close frame.
	if ended {
		c.cancelHandler()
	}
	return err
}

// CloseNow closes the connection without a close handshake, where the
// Socket can (coder/websocket can); otherwise it closes with 1001.
func (c *Conn) CloseNow() error {
	// The socket first: ending the life may cut it too (cancelHandler),
	// and this call's answer should be its own.
	err := closeNow(c.sock)
	c.endByPeer("closed", websocket.StatusAbnormalClosure)
	return err
}

// peer is the Peer of later credentials: the upgrade request.
func (c *Conn) peer() Peer { return Peer{Addr: c.addr, Request: c.req} }

// eventCtx is the context of events after Accept has returned.
func (c *Conn) eventCtx() context.Context { return c.values() }

// closeWith implements endpoint: wsauth ending the connection.
func (c *Conn) closeWith(code websocket.StatusCode, reason string) { c.sock.Close(code, reason) }

// abort implements aborter.
func (c *Conn) abort() { closeNow(c.sock) }

// takesNotices implements endpoint: the in-band strategies' connections
// can refresh.
func (c *Conn) takesNotices() bool { return c.a.strategy.inBand() }

// sendNotice implements endpoint.
func (c *Conn) sendNotice(exp time.Time) {
	// A peer that does not read by the expiry is closed then anyway.
	ctx, cancel := context.WithDeadline(context.Background(), exp)
	defer cancel()
	b, _ := transport.Expiring{In: time.Until(exp)}.MarshalJSON()
	c.sock.Write(ctx, websocket.MessageText, b)
}

// writeAuthOK writes auth_ok for p within answerTimeout, with dl, if
// not nil, the attempt's deadline of its first read.
func (c *Conn) writeAuthOK(ctx context.Context, p *Principal, dl *deadline) error {
	b := wire.AppendAuthOK(make([]byte, 0, 80+len(p.Subject)), p.Subject, p.ExpiresAt)
	if _, ok := c.sock.(closeNower); ok {
		// coder/websocket keeps the context of the last write for the
		// life of the connection: bounding the write with a deadline
		// rather than a derived context keeps nothing more alive. A
		// write still running at the deadline is ended as the context
		// would end it.
		if dl == nil {
			dl = &deadline{sock: c.sock}
		}
		dl.arm(answerTimeout, true)
		defer dl.stop()
		return c.sock.Write(ctx, websocket.MessageText, b)
	}
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	return c.sock.Write(ctx, websocket.MessageText, b)
}

// endedErr is the error of an operation on a connection wsauth ended.
func (c *Conn) endedErr(op string) error {
	if !c.byUs.Load() {
		return nil // every frame, read or written, asks: no lock for it
	}
	_, _, why, ok := c.endedByUs()
	if !ok {
		return nil
	}
	// why is the Event.Reason of the end, one per row of refusals.
	for _, r := range refusals {
		if r.reason == why {
			return fmt.Errorf("wsauth: %s: %w", op, r.sentinel)
		}
	}
	return fmt.Errorf("wsauth: %s: connection ended: %s", op, why)
}

// ioErr explains a failed read or write: an end of wsauth's own, or the
// peer gone, which ends the connection and so closes its socket (a write
// that gave up waiting for another leaves coder/websocket's open; see
// cancelHandler). A read over the limit ends it too, but the socket is
// left to the handler's Close: the library has sent 1009, refuses to
// carry anything more, and reads on in Close until the peer's close
// frame, so that the peer sees the 1009.
func (c *Conn) ioErr(op string, err error) error {
	if e := c.endedErr(op); e != nil {
		return fmt.Errorf("%w: %w", e, err)
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		if _, ok := c.finish("gone", websocket.StatusMessageTooBig, "", false); ok {
			c.emitClosed()
		}
		return err
	}
	code := websocket.CloseStatus(err)
	if code == -1 {
		code = websocket.StatusAbnormalClosure
	}
	c.endByPeer("gone", code)
	return err
}

// refuseFrame refuses a credential presented on an open connection (a
// refresh, or a per-message token): it charges the failure budget unless
// check has, is reported, and ends the connection with the refusal's code
// unless keep is set. A frame kept that check never saw (malformed, no
// token) ends the connection with 4429 once the budget is spent, as check
// would have refused it.
func (c *Conn) refuseFrame(err error, settled, keep bool) error {
	k := kindOf(err)
	row := refusals[k]
	if row.spends && !settled {
		if keep && c.a.limiter.limited(c.addr) {
			err, k, keep = fail(kindRateLimited, nil), kindRateLimited, false
			row = refusals[k]
		} else {
			c.a.limiter.spend(c.addr)
		}
	}
	code := 0
	if !keep {
		code = int(row.code)
	}
	c.a.emit(c.eventCtx(), Event{Kind: EventRefused, Reason: row.reason, Subject: c.Principal().Subject, Addr: c.addr, Code: code, Err: err})
	if !keep {
		c.endByUs(row.reason, row.code, row.text)
	}
	return err
}
