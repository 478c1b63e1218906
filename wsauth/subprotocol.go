package wsauth

import (
	"context"
	"slices"
	"strings"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// Subprotocol is the strategy that reads the credential from the
// Sec-WebSocket-Protocol header, where the client offers its application
// protocol and "wsauth.bearer." + base64url(credential).
//
// The server echoes the first of Protocols, in their order, that the client
// offered, never the credential entry. A client that offers none of them
// is refused with 400 (after a missing or malformed credential, which is
// 401 or 4401): a browser would fail a connection whose answer echoes
// nothing it offered. The credential entry is removed from the request's
// header before anything else sees it.
type Subprotocol struct {
	// Protocols lists the application protocols the server speaks, in
	// order of preference. Default: transport.DefaultSubprotocol
	// ("wsauth"), which clients without a protocol of their own offer.
	Protocols []string
	// InBand: as Query.InBand.
	InBand bool
}

func (s Subprotocol) compile() strategy {
	if len(s.Protocols) == 0 {
		s.Protocols = []string{transport.DefaultSubprotocol}
	} else {
		s.Protocols = slices.Clone(s.Protocols)
	}
	return s
}

func (Subprotocol) handshake() bool { return true }
func (s Subprotocol) inBand() bool  { return s.InBand }

func (s Subprotocol) carry(at *attempt) (string, error) {
	cred, offered, err := transport.FromSubprotocol(at.r.Header)
	at.protocol = selectProtocol(s.Protocols, offered)
	// Only the offered application protocols stay in the request.
	if len(offered) == 0 {
		delete(at.r.Header, "Sec-Websocket-Protocol")
	} else {
		at.r.Header["Sec-Websocket-Protocol"] = []string{strings.Join(offered, ", ")}
	}
	switch {
	case err != nil:
		return "", carrierErr(err)
	case at.protocol == "":
		return "", fail(kindSubprotocol, nil)
	}
	return cred, nil
}

func (s Subprotocol) receive(ctx context.Context, c *Conn, typ websocket.MessageType, b []byte) (Message, bool, error) {
	return c.receiveControl(ctx, s.InBand, typ, b)
}

// selectProtocol picks, in server order, the first allowed protocol the
// client offered, as the client spelled it.
func selectProtocol(allowed, offered []string) string {
	for _, a := range allowed {
		for _, o := range offered {
			if strings.EqualFold(a, o) {
				return o
			}
		}
	}
	return ""
}
