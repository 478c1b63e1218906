package harness

// This file is examples/gorilla/socket.go, from its imports on, as it is
// (TestGorillaAdapterIsTheExample holds it to that): wsauth on
// gorilla/websocket, the other WebSocket library of the harness's server
// side (Options.Upgrade and the wsauth.Socket it returns). The example is
// package main, to be copied, so it cannot be imported.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"github.com/wsauth/wsauth/wsauth"
)

// closeTimeout bounds Close: writing the close frame, then waiting for the
// peer's, as coder/websocket's Close does.
const closeTimeout = 5 * time.Second

// Upgrade upgrades an authenticated request with gorilla/websocket, for
// wsauth.Options.Upgrade: every strategy, expiry, refresh and revocation
// then runs over gorilla.
func Upgrade(w http.ResponseWriter, r *http.Request, subprotocol string) (wsauth.Socket, error) {
	u := websocket.Upgrader{
		// gorilla hijacks before it writes the 101, so it must bound that
		// write itself.
		HandshakeTimeout: 10 * time.Second,
		// wsauth has checked the origin already (Options.OriginPatterns),
		// before it read any credential.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	if subprotocol != "" {
		u.Subprotocols = []string{subprotocol} // the one wsauth selected, never the credential
	}
	ws, err := u.Upgrade(w, r, nil)
	if err != nil {
		return nil, err // gorilla has answered with an HTTP error
	}
	return NewSocket(ws), nil
}

// Socket is a wsauth.Socket over a gorilla connection. gorilla allows one
// reader and one writer at a time; wsauth calls Write and Close from any
// goroutine, so Socket serialises them. Its locks are channels, as
// gorilla's own write lock is: a wait on one can end with ctx, and counts
// as durably blocked in a testing/synctest bubble.
type Socket struct {
	ws       *websocket.Conn
	rmu, wmu chan struct{} // held by Read (and Close), by Write
	closing  atomic.Bool
	closed   chan struct{} // closed when Close is done
}

// NewSocket returns the Socket of ws, which the caller no longer uses.
func NewSocket(ws *websocket.Conn) *Socket {
	return &Socket{ws: ws, rmu: make(chan struct{}, 1), wmu: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Read reads the next data message. gorilla's close frames become
// coder.CloseError (so coder.CloseStatus works) and a message over the
// read limit coder.ErrMessageTooBig (gorilla has sent 1009). When ctx
// ends, the read is interrupted and the connection reads no more, as with
// coder/websocket, which closes it.
func (s *Socket) Read(ctx context.Context) (coder.MessageType, []byte, error) {
	if err := lock(ctx, s.rmu); err != nil {
		return 0, nil, err
	}
	defer func() { <-s.rmu }()
	stop := context.AfterFunc(ctx, func() { s.ws.NetConn().SetReadDeadline(time.Now()) })
	defer stop()
	typ, b, err := s.ws.ReadMessage()
	var ce *websocket.CloseError
	switch {
	case err == nil:
		return coder.MessageType(typ), b, nil // both are the RFC 6455 opcodes
	case errors.As(err, &ce):
		return 0, nil, coder.CloseError{Code: coder.StatusCode(ce.Code), Reason: ce.Text}
	case errors.Is(err, websocket.ErrReadLimit):
		return 0, nil, fmt.Errorf("%w: %w", coder.ErrMessageTooBig, err)
	case ctx.Err() != nil:
		return 0, nil, fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return 0, nil, err
}

// Write writes one message within ctx's deadline, waiting for another
// Write under way no longer. If ctx ends mid-write, the message is cut
// short and the connection is closed, as coder/websocket does.
func (s *Socket) Write(ctx context.Context, typ coder.MessageType, p []byte) error {
	if err := lock(ctx, s.wmu); err != nil {
		return err
	}
	defer func() { <-s.wmu }()
	deadline, _ := ctx.Deadline() // zero: none
	s.ws.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.ws.NetConn().Close() })
	defer stop()
	return s.ws.WriteMessage(int(typ), p)
}

// Close sends a close frame with code and reason, waits for the peer's
// close frame (discarding data before it) and closes the connection, all
// within closeTimeout. A Read under way ends with the peer's close frame.
func (s *Socket) Close(code coder.StatusCode, reason string) error {
	if s.closing.Swap(true) {
		<-s.closed // another Close is under way
		return net.ErrClosed
	}
	defer close(s.closed)
	deadline := time.Now().Add(closeTimeout)
	err := s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(code), reason), deadline)
	s.ws.NetConn().SetReadDeadline(deadline)
	s.rmu <- struct{}{} // after a Read under way, if any
	var rerr error
	for rerr == nil {
		_, _, rerr = s.ws.NextReader() // data is discarded; errors are sticky
	}
	if errors.Is(rerr, websocket.ErrReadLimit) {
		// The rest of an oversized message: closing with it unread would
		// reset the connection before the peer reads the 1009.
		io.Copy(io.Discard, s.ws.NetConn())
	}
	<-s.rmu
	if cerr := s.ws.Close(); err == nil {
		err = cerr
	}
	return err
}

// Conn returns the gorilla connection, for what Socket lacks, such as a
// ping (WriteControl may be called at any time). Read and write messages
// only through Socket, which serialises them.
func (s *Socket) Conn() *websocket.Conn { return s.ws }

// CloseNow closes the connection without a close handshake; wsauth calls
// it, where a Socket has it, for Conn.CloseNow and after an auth timeout.
func (s *Socket) CloseNow() error { return s.ws.Close() }

// SetReadLimit sets the largest message Read accepts.
func (s *Socket) SetReadLimit(n int64) {
	s.rmu <- struct{}{}
	defer func() { <-s.rmu }()
	s.ws.SetReadLimit(n)
}

// lock takes the lock mu, unless ctx ends first.
func lock(ctx context.Context, mu chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case mu <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
