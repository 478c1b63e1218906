package wsauth

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

// Handler returns an http.Handler that accepts connections with a and runs
// fn for each authenticated one. fn's context carries the connection's
// live principal (PrincipalFrom) and the upgrade request's values, and is
// done when the connection ends (expired, revoked, closed, or its peer
// gone) and only then: a request timeout set by a router's middleware does
// not cut the connection. That the peer is gone is learnt by a read or a
// write, as with any coder/websocket connection: a handler that only
// pushes learns it at its next write, or reads in a goroutine of its own
// to learn it at once. The request itself, without the credential, is
// c.Request(). When fn returns the connection is closed with 1000, if fn
// has not closed it already.
func Handler(a *Authenticator, fn func(ctx context.Context, c *Conn)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Accept(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		defer c.cancelHandler()
		fn(c.handlerContext(), c)
		c.Close(websocket.StatusNormalClosure, "")
	})
}
