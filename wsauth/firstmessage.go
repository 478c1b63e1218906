package wsauth

import (
	"context"
	"fmt"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

// FirstMessage returns the strategy that upgrades first and authenticates
// the first frame: a text frame {"type":"auth","token":T} that must arrive
// within Options.AuthTimeout (default 10 s, else close 4408) and fit in
// Options.AuthReadLimit (default 4 KiB, else close 1009). T is whatever the
// Verifier takes: a ticket or a JWT. On success the server answers
// {"type":"auth_ok","subject":…,"expires_at":…} and only then hands the
// connection to the handler; nothing is delivered to it before.
//
// A malformed frame closes with 4400, a bad credential with 4401, a refusal
// of the Authorizer with 4403.
//
// Later text frames {"type":"refresh","token":T} replace the credential in
// band and are consumed by Conn.Read; the type "refresh" is reserved on
// these connections. See the package doc.
func FirstMessage(opts *Options) Authenticator {
	o := copyOptions(opts, "FirstMessage", "first_message")
	o.refreshFrames, o.notices = true, true
	limit := o.AuthReadLimit
	if limit <= 0 {
		limit = DefaultAuthReadLimit
	}
	return &inBand{
		opts:      o,
		readLimit: limit,
		auth: func(ctx context.Context, typ websocket.MessageType, b []byte, peer Peer) (Principal, *Message, error) {
			if typ != websocket.MessageText {
				return Principal{}, nil, fmt.Errorf("%w: auth frame is not text", ErrMalformed)
			}
			ctl, err := transport.ParseControl(b)
			if err != nil {
				return Principal{}, nil, transportErr(err)
			}
			if ctl.Type != transport.TypeAuth {
				return Principal{}, nil, fmt.Errorf("%w: first frame is not an auth frame", ErrMalformed)
			}
			p, err := o.authenticate(ctx, ctl.Token, peer)
			return p, nil, err
		},
		ok: func(ctx context.Context, ws *websocket.Conn, p Principal) error {
			b, err := transport.AuthOK{Subject: p.Subject, ExpiresAt: p.ExpiresAt}.MarshalJSON()
			if err != nil {
				return fmt.Errorf("%w: auth_ok: %w", ErrInternal, err)
			}
			return ws.Write(ctx, websocket.MessageText, b)
		},
	}
}
