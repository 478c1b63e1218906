package wsauth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Conn is an authenticated WebSocket connection. It knows its Principal,
// closes itself with 4401 when the principal expires, and in per-message
// mode verifies every frame it reads.
//
// As with websocket.Conn, writes may run concurrently with each other and
// with one reader; reads may not run concurrently.
type Conn struct {
	ws   *websocket.Conn
	opts *Options
	peer Peer

	principal atomic.Pointer[Principal]
	expired   atomic.Bool
	revoked   atomic.Bool

	timerMu  sync.Mutex
	timer    *time.Timer
	timerGen uint64 // bumped by setPrincipal, so a stale timer does nothing
	closed   bool

	// perMessage is set for PerMessage connections; pending holds the
	// first frame, read during authentication, for the first Read.
	perMessage bool
	pending    *Message
	memo       *frameMemo // read side only
}

const reasonExpired = "credential expired"

// Message is one frame read from a Conn.
type Message struct {
	Type websocket.MessageType
	// Data is the payload; in per-message mode, the envelope's data.
	Data []byte
	// Principal is who sent the frame: the connection's principal, or in
	// per-message mode the one its token names.
	Principal Principal
}

func newConn(ws *websocket.Conn, opts *Options, peer Peer, p Principal) *Conn {
	c := &Conn{ws: ws, opts: opts, peer: peer}
	ws.SetReadLimit(opts.readLimit())
	if opts.Registry != nil {
		// Before the timer is armed, so an expiry at once unregisters.
		c.principal.Store(&p)
		opts.Registry.add(c)
	}
	c.setPrincipal(p)
	return c
}

// Principal returns who the connection is authenticated as: in per-message
// mode, the principal of the newest token seen.
func (c *Conn) Principal() Principal { return *c.principal.Load() }

// Subprotocol returns the negotiated application subprotocol.
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// Websocket returns the underlying connection, for APIs that need it
// (wsjson, NetConn). Writes made on it bypass the expiry check of Write.
func (c *Conn) Websocket() *websocket.Conn { return c.ws }

// Read reads the next message. In per-message mode it returns the
// envelope's data; use ReadMessage to learn who sent it.
func (c *Conn) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	m, err := c.ReadMessage(ctx)
	return m.Type, m.Data, err
}

// ReadMessage reads the next message and the principal that sent it.
// On connections that refresh in band, refresh frames are handled here
// and not returned; see the package doc.
func (c *Conn) ReadMessage(ctx context.Context) (Message, error) {
	if c.perMessage {
		return c.readEnvelope(ctx)
	}
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return Message{}, c.readErr(err)
		}
		if c.opts.refreshFrames && typ == websocket.MessageText {
			if ctl, perr, ok := refreshFrame(b); ok {
				if err := c.refresh(ctx, ctl, perr); err != nil {
					return Message{}, err
				}
				continue
			}
		}
		return Message{Type: typ, Data: b, Principal: c.Principal()}, nil
	}
}

// Write writes a message. Once the principal has expired it writes nothing,
// closes the connection with 4401 and returns an error wrapping ErrExpired.
func (c *Conn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	if err := c.checkExpiry(); err != nil {
		return err
	}
	err := c.ws.Write(ctx, typ, p)
	if err != nil {
		c.unregister() // a failed write has closed the connection
	}
	return err
}

// Close closes the connection with a close handshake; see
// websocket.Conn.Close.
// Once the principal has expired, the close code is always 4401.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
	c.stopTimer()
	if c.expired.Load() {
		code, reason = CloseUnauthenticated, reasonExpired
	} else if c.revoked.Load() {
		code, reason = CloseUnauthenticated, reasonRevoked
	}
	return c.ws.Close(code, reason)
}

// CloseNow closes the connection without a close handshake.
func (c *Conn) CloseNow() error {
	c.stopTimer()
	return c.ws.CloseNow()
}

// readErr explains a read error caused by this package closing the
// connection.
func (c *Conn) readErr(err error) error {
	c.unregister() // a failed read has closed the connection
	if c.expired.Load() {
		return fmt.Errorf("%w: %w", ErrExpired, err)
	}
	if c.revoked.Load() {
		return fmt.Errorf("%w: %w", ErrRevoked, err)
	}
	return err
}

func (c *Conn) checkExpiry() error {
	if c.expired.Load() {
		return fmt.Errorf("wsauth: write: %w", ErrExpired)
	}
	if c.revoked.Load() {
		return fmt.Errorf("wsauth: write: %w", ErrRevoked)
	}
	p := c.principal.Load()
	if !p.ExpiresAt.IsZero() && !c.opts.now().Before(p.ExpiresAt) {
		c.expire()
		return fmt.Errorf("wsauth: write: %w", ErrExpired)
	}
	return nil
}

// expire closes the connection with 4401, once.
func (c *Conn) expire() {
	if c.expired.Swap(true) {
		return
	}
	// The flag is set before the close starts, so that a concurrent Close
	// sends 4401 too.
	go c.ws.Close(CloseUnauthenticated, reasonExpired)
	c.unregister()
	c.opts.emit(c.eventCtx(), Event{Kind: EventExpired, Subject: c.Principal().Subject, Addr: c.peer.Addr, Code: CloseUnauthenticated, Err: ErrExpired})
}

// eventCtx is the context of events that happen after Accept has
// returned: the request's values, without its cancellation.
func (c *Conn) eventCtx() context.Context {
	if c.peer.Request == nil {
		return context.Background()
	}
	return context.WithoutCancel(c.peer.Request.Context())
}

// setPrincipal makes p the connection's principal and re-arms the
// connection's one timer: first for the expiry notice, if any, then for
// the expiry itself.
func (c *Conn) setPrincipal(p Principal) {
	c.principal.Store(&p)
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	if c.closed {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.timerGen++
	if p.ExpiresAt.IsZero() {
		return
	}
	d := p.ExpiresAt.Sub(c.opts.now())
	if d <= 0 {
		c.expire()
		return
	}
	gen := c.timerGen
	if lead := c.opts.noticeLead(d); lead > 0 {
		c.timer = time.AfterFunc(d-lead, func() { c.notify(gen, p.ExpiresAt) })
		return
	}
	c.timer = time.AfterFunc(d, func() { c.fire(gen) })
}

// fire expires the connection unless a later setPrincipal has re-armed
// the timer meanwhile.
func (c *Conn) fire(gen uint64) {
	c.timerMu.Lock()
	stale := c.timerGen != gen
	c.timerMu.Unlock()
	if !stale {
		c.expire()
	}
}

// stopTimer runs whenever the connection is being closed.
func (c *Conn) stopTimer() {
	c.unregister()
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}
