package wsauth

import (
	"context"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// Header is the strategy that reads the credential from the upgrade's
// "Authorization: Bearer T" header: the carrier of clients that can set
// headers on a WebSocket (Go services, mobile apps, CLIs), which browsers
// cannot. transport.DialHeader dials with it. The header is removed from
// the request before anything else sees it, and never appears in a log
// line, an error or an event.
type Header struct {
	// InBand: as Query.InBand. Clients that set headers can read an HTTP
	// status, so it is useful here for refresh in place.
	InBand bool
}

func (h Header) compile() strategy { return h }

func (Header) handshake() bool { return true }
func (h Header) inBand() bool  { return h.InBand }

func (Header) carry(at *attempt) (string, error) {
	cred, err := transport.FromAuthorization(at.r.Header)
	delete(at.r.Header, "Authorization")
	if err != nil {
		return "", carrierErr(err)
	}
	return cred, nil
}

func (h Header) receive(ctx context.Context, c *Conn, typ websocket.MessageType, b []byte) (Message, bool, error) {
	return c.receiveControl(ctx, h.InBand, typ, b)
}
