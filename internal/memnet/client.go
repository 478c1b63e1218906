package memnet

import (
	"context"
	"net"
	"net/http"
)

// Client returns an *http.Client, with a Transport of its own, whose every
// connection is dialed to l from clientAddr (see [Listener.Dial]),
// whatever host the request URL names. Keep-alives work as with TCP:
// call CloseIdleConnections on the client to close the idle connections
// before a synctest bubble ends. It suits websocket.DialOptions.HTTPClient.
func (l *Listener) Client(clientAddr *net.TCPAddr) *http.Client {
	addr := copyAddr(clientAddr, 0)
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return l.Dial(ctx, addr)
		},
	}}
}
