package wsauth

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

// Socket is what wsauth needs of a WebSocket connection, whatever library
// made it. A *websocket.Conn of coder/websocket is one as it is; for
// another library (gorilla/websocket, say) a Socket is a small adapter, and
// Options.Upgrade returns it: every strategy, expiry, refresh, revocation
// and event then works over that library. examples/gorilla has one.
//
// As with coder/websocket, Read is never called concurrently with itself,
// but Write and Close may be called concurrently with each other and with
// Read: an adapter over a library that allows one writer at a time must
// serialise them.
type Socket interface {
	// Read reads the next data message. A message over the read limit
	// must fail with an error wrapping websocket.ErrMessageTooBig, after
	// the library has sent 1009. When ctx ends, Read may return or not;
	// Close must unblock it.
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
	// Write writes one message, giving up when ctx is done.
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	// Close sends a close frame with code and reason and closes the
	// connection, bounding its own wait for the peer. After a Read failed
	// over the read limit, Close must read on (discarding) until the
	// peer's close frame, or the peer may never see the 1009.
	Close(code websocket.StatusCode, reason string) error
	// SetReadLimit sets the largest message Read accepts.
	SetReadLimit(n int64)
}

// closeNower is the optional capability of a Socket to close without a
// close handshake (coder/websocket's CloseNow).
type closeNower interface{ CloseNow() error }

// closeNow closes s without a close handshake if it can, else with 1001.
func closeNow(s Socket) error {
	if cn, ok := s.(closeNower); ok {
		return cn.CloseNow()
	}
	return s.Close(websocket.StatusGoingAway, "")
}

// coderOptions are acceptCoder's options when no subprotocol is echoed;
// coder/websocket copies them before use. Shared, they keep them off the
// stack under which net/http writes the 101.
var coderOptions = &websocket.AcceptOptions{InsecureSkipVerify: true}

// acceptCoder is the default Options.Upgrade: coder/websocket, echoing
// subprotocol. The origin was checked already, with the same rules.
func acceptCoder(w http.ResponseWriter, r *http.Request, subprotocol string) (Socket, error) {
	o := coderOptions
	if subprotocol != "" {
		o = &websocket.AcceptOptions{InsecureSkipVerify: true, Subprotocols: []string{subprotocol}}
	}
	c, err := websocket.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	return c, nil
}
