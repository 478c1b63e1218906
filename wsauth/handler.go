package wsauth

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

// Handler returns an http.Handler that accepts connections with a and runs
// fn for each authenticated one. fn's context carries the Principal
// (PrincipalFrom). When fn returns the connection is closed with 1000, if fn
// has not closed it already.
func Handler(a Authenticator, fn func(ctx context.Context, c *Conn)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Accept(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		fn(NewContext(r.Context(), c.Principal()), c)
		c.Close(websocket.StatusNormalClosure, "")
	})
}
