package wsauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// Strategy says where the credential rides: Query, Subprotocol, Header,
// Cookie (in the upgrade request), FirstMessage or PerMessage (in frames). Each is a struct whose zero value works and
// whose fields hold the settings that belong to that strategy alone.
type Strategy interface {
	// compile returns the strategy with its defaults filled in.
	compile() strategy
}

// strategy is a Strategy ready for use. Its methods are the steps of the
// pipeline that differ between strategies.
type strategy interface {
	// handshake reports whether the credential rides in the upgrade
	// request rather than in the first frame.
	handshake() bool
	// inBand reports whether the connection speaks wsauth's control
	// frames: refusals are close codes sent after an upgrade, success is
	// an auth_ok frame, and the credential can be refreshed in band.
	inBand() bool
	// carry returns the credential of at. Handshake strategies read it
	// from the request and remove it from there; in-band ones upgrade
	// and read the first frame.
	carry(at *attempt) (string, error)
	// receive handles one frame read from an authenticated connection:
	// what to deliver to the handler, or false to read on.
	receive(ctx context.Context, c *Conn, typ websocket.MessageType, b []byte) (Message, bool, error)
}

// carrierErr maps a carrier's parse error onto this package's kinds.
func carrierErr(err error) error {
	if errors.Is(err, transport.ErrNoCredential) {
		return fail(kindNoCredential, err)
	}
	return fail(kindMalformed, err)
}

// errNotText refuses a binary frame where a JSON control frame belongs.
var errNotText = fail(kindMalformed, fmt.Errorf("frame is not text"))
