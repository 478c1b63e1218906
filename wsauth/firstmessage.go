package wsauth

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// Defaults of the in-band strategies.
const (
	defaultAuthTimeout    = 10 * time.Second
	defaultAuthReadLimit  = 4 << 10
	defaultFrameReadLimit = 16 << 10
)

// FirstMessage is the strategy that upgrades first and authenticates the
// first frame: a text frame {"type":"auth","token":T} that must arrive
// within Timeout (else close 4408) and fit in ReadLimit (else close 1009).
// T is whatever the Verifier takes: a ticket or a JWT. On success the
// server answers {"type":"auth_ok","subject":…,"expires_at":…}, and only
// then does the handler run; nothing is delivered before.
//
// A malformed frame closes with 4400, a bad credential with 4401, a
// refusal of the Authorizer with 4403. Later text frames
// {"type":"refresh","token":T} replace the credential in band; the type
// "refresh" is reserved on these connections.
type FirstMessage struct {
	// Timeout is how long the socket may wait for its auth frame.
	// Default 10 s.
	Timeout time.Duration
	// ReadLimit is the largest auth frame read, in bytes. Default 4 KiB;
	// raise it for tokens larger than about 4 KiB (a credential may be up
	// to transport.MaxCredentialLen, 8 KiB).
	ReadLimit int64
}

func (s FirstMessage) compile() strategy {
	if s.Timeout <= 0 {
		s.Timeout = defaultAuthTimeout
	}
	if s.ReadLimit <= 0 {
		s.ReadLimit = defaultAuthReadLimit
	}
	return s
}

func (FirstMessage) handshake() bool { return false }
func (FirstMessage) inBand() bool    { return true }

func (s FirstMessage) carry(at *attempt) (string, error) {
	typ, b, err := at.readFirst(s.Timeout, s.ReadLimit)
	if err != nil {
		return "", err
	}
	if typ != websocket.MessageText {
		return "", errNotText
	}
	ctl, err := transport.ParseControl(b)
	if err != nil {
		return "", carrierErr(err)
	}
	if ctl.Type != transport.TypeAuth {
		return "", fail(kindMalformed, fmt.Errorf("first frame is not an auth frame"))
	}
	return ctl.Token, nil
}

func (FirstMessage) receive(ctx context.Context, c *Conn, typ websocket.MessageType, b []byte) (Message, bool, error) {
	return c.receiveControl(ctx, true, typ, b)
}
