// Package memnet is an in-memory stand-in for TCP, so that tests of
// expiry, deadlines and timeouts can run a real net/http server and
// client, and coder/websocket over them, inside a testing/synctest bubble
// and so in virtual time. A goroutine blocked on a real socket is not
// durably blocked, so a bubble cannot use loopback connections.
//
// [Pipe] makes a connected pair of net.Conn that behaves like TCP rather
// than like net.Pipe: each direction is buffered (a Write blocks only
// once the peer has stopped reading and the buffer is full), deadlines
// are timers, and the addresses are the *net.TCPAddr values the test
// chooses. [Listen] makes a net.Listener for an http.Server, reached with
// [Listener.Dial] or with the *http.Client of [Listener.Client]. While
// blocked, every operation waits on a channel or a sync.Cond, which
// synctest counts as durably blocked.
//
// Create the listener and connections inside the bubble that uses them.
// When the test function returns, synctest.Test waits for every goroutine
// of the bubble to exit, and reports a deadlock if one stays blocked; so
// a test must close whatever keeps one waiting:
//
//	synctest.Test(t, func(t *testing.T) {
//		l := memnet.Listen(nil, nil) // 127.0.0.1:80
//		srv := &http.Server{Handler: handler}
//		go srv.Serve(l)
//		defer srv.Close() // or Shutdown: the listener and the HTTP conns
//
//		client := l.Client(&net.TCPAddr{IP: net.ParseIP("127.0.0.2")})
//		defer client.CloseIdleConnections() // the Transport's kept-alive conns
//
//		c, _, err := websocket.Dial(t.Context(), "ws://example.com/",
//			&websocket.DialOptions{HTTPClient: client})
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer c.CloseNow() // hijacked: neither srv nor client closes it
//		// The handler sees r.RemoteAddr "127.0.0.2:49152".
//	})
//
// Handlers must return too: one holding a websocket.Conn must close it,
// or be reading when the client closes its end. Functions passed to
// t.Cleanup run inside the bubble, with the clock still running, so they
// may do this closing instead of defer.
package memnet
