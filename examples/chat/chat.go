package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/wsauth/wsauth/wsauth"
)

const (
	// maxText is the longest chat text accepted, in bytes; longer closes
	// the connection with 1009.
	maxText = 2000
	// maxFrame is the read limit of an authenticated connection: a chat
	// frame, plus the token of the per-message envelope.
	maxFrame = 16 << 10
	// writeTimeout bounds one write to a client.
	writeTimeout = 10 * time.Second
)

// chatMessage is what the server sends to everyone in a room.
type chatMessage struct {
	Room string    `json:"room"`
	From string    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// joining carries, through the request context, the room membership that
// the Authorizer creates.
//
// The member joins the room in the Authorizer, before the client learns it
// is connected (the 101, or auth_ok): a message sent to the room right
// after that reaches it. Messages that arrive before the handler runs wait
// in the member's queue.
type joining struct{ m *member }

type joinKey struct{}

// chatHandler serves one strategy's endpoint.
func (s *server) chatHandler(strategy string, a *wsauth.Authenticator) http.Handler {
	ws := wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
		j := ctx.Value(joinKey{}).(*joining)
		if j.m == nil { // cannot happen while the Authorizer joins; be safe
			j.m = s.hub.join(c.Request().PathValue("room"))
		}
		p := c.Principal()
		s.log.Printf("%s joined %s via %s", p.Subject, j.m.room, strategy)
		s.serveChat(ctx, c, j.m)
		s.log.Printf("%s left %s", p.Subject, j.m.room)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.track() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		defer s.handlers.Done()
		j := new(joining)
		defer func() {
			if j.m != nil {
				s.hub.leave(j.m)
			}
		}()
		// Refusals are logged by the wsauth events (SlogEvents).
		ws.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), joinKey{}, j)))
	})
}

// serveChat reads the client's frames and publishes them, while writing
// what the room says to it.
func (s *server) serveChat(ctx context.Context, c *wsauth.Conn, m *member) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.readLoop(ctx, c, m)
	}()
	defer func() { <-done }() // the reader ends once the connection is closed
	for {
		select {
		case <-done:
			c.Close(websocket.StatusNormalClosure, "")
			return
		case <-ctx.Done():
			return // ended by wsauth (expired, revoked) or gone
		case <-m.kicked:
			c.Close(m.code, m.reason)
			return
		case msg := <-m.send:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				// Timed out or gone; or expired, and then Close sends 4401
				// whatever code it is given.
				c.Close(websocket.StatusInternalError, "write failed")
				return
			}
		}
	}
}

// readLoop publishes each chat frame; it returns when the connection ends
// or the client breaks the protocol.
func (s *server) readLoop(ctx context.Context, c *wsauth.Conn, m *member) {
	for {
		msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if msg.Type != websocket.MessageText {
			c.Close(websocket.StatusUnsupportedData, "expected a JSON text frame")
			return
		}
		var in struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(msg.Data, &in); err != nil {
			c.Close(websocket.StatusUnsupportedData, `expected {"text":…}`)
			return
		}
		if len(in.Text) > maxText {
			c.Close(websocket.StatusMessageTooBig, "message too long")
			return
		}
		// A frame without text is not an error: on /ws/jwt the first
		// frame may just authenticate and join, later ones just carry a
		// fresh token.
		if strings.TrimSpace(in.Text) == "" {
			continue
		}
		out := chatMessage{Room: m.room, From: msg.Principal.Subject, Text: in.Text, At: time.Now().UTC()}
		if err := s.broker.publish(ctx, out); err != nil {
			s.log.Printf("publish to %s: %v", m.room, err)
			c.Close(websocket.StatusTryAgainLater, "chat unavailable")
			return
		}
	}
}
