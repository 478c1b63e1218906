package wsauthtest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/memnet"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// Server is a WebSocket server on a loopback port (NewServer,
// NewHandlerServer) or on an in-memory network (NewMemServer), closed
// when the test ends, with its WebSockets, which httptest.Server.Close
// leaves open.
type Server struct {
	// URL is the server's base URL with the ws scheme, such as
	// "ws://127.0.0.1:43121".
	URL string
	// HTTP is the underlying test server, on a loopback port; its URL has
	// the http scheme. Nil for NewMemServer's.
	HTTP *httptest.Server
	// Client makes HTTP requests to the server (for "http" plus URL
	// without its "ws"), and the Dial methods' connections when their
	// options name no HTTPClient.
	Client *http.Client
}

// NewServer serves wsauth.Handler(a, fn) on every path.
func NewServer(t testing.TB, a *wsauth.Authenticator, fn func(ctx context.Context, c *wsauth.Conn)) *Server {
	t.Helper()
	return NewHandlerServer(t, wsauth.Handler(a, fn))
}

// NewHandlerServer serves h, for tests with their own routing.
func NewHandlerServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	tr := &tracked{conns: map[net.Conn]struct{}{}}
	hs := httptest.NewUnstartedServer(h)
	hs.Config.ConnState = tr.connState
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		tr.close()
	})
	return &Server{URL: "ws" + strings.TrimPrefix(hs.URL, "http"), HTTP: hs, Client: hs.Client()}
}

// tracked keeps the connections a server's handler hijacked, to close
// them when the test ends, as httptest.Server.Close and http.Server.Close
// do not: a WebSocket left open by the test would keep its handler
// serving after it, and in a synctest bubble a handler blocked reading it
// would make the bubble deadlock. A handler that never reads learns of
// the close at its next write.
type tracked struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (tr *tracked) connState(c net.Conn, s http.ConnState) {
	if s == http.StateHijacked {
		tr.mu.Lock()
		tr.conns[c] = struct{}{}
		tr.mu.Unlock()
	}
}

// close runs after the server's Close: nothing is hijacked any more.
func (tr *tracked) close() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for c := range tr.conns {
		c.Close()
	}
}

// NewMemServer serves h on an in-memory network, for a test that runs in
// a testing/synctest bubble: make it inside the bubble, and expiries,
// notices and timeouts take the bubble's time, not the wall clock's.
// Every connection comes from 127.0.0.1; its URL is "ws://wsauth.test".
// Connections of clients other than s.Client cannot reach it.
func NewMemServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	l := memnet.Listen(nil, nil)
	tr := &tracked{conns: map[net.Conn]struct{}{}}
	hs := &http.Server{Handler: h, ConnState: tr.connState}
	go hs.Serve(l)
	c := l.Client(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	t.Cleanup(func() {
		hs.Close()
		c.CloseIdleConnections()
		tr.close()
	})
	return &Server{URL: "ws://wsauth.test", Client: c}
}

// opts returns o with s.Client as its HTTPClient if it has none.
func (s *Server) opts(o *websocket.DialOptions) *websocket.DialOptions {
	if o == nil {
		return &websocket.DialOptions{HTTPClient: s.Client}
	}
	if o.HTTPClient == nil {
		c := *o
		c.HTTPClient = s.Client
		return &c
	}
	return o
}

// DialQuery dials path with ticket in the query string.
func (s *Server) DialQuery(ctx context.Context, path, ticket string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	return transport.DialQuery(ctx, s.URL+path, ticket, s.opts(opts))
}

// DialSubprotocol dials path offering the application protocols app (or
// "wsauth") and cred in Sec-WebSocket-Protocol.
func (s *Server) DialSubprotocol(ctx context.Context, path, cred string, opts *websocket.DialOptions, app ...string) (*websocket.Conn, *http.Response, error) {
	return transport.DialSubprotocol(ctx, s.URL+path, cred, app, s.opts(opts))
}

// DialFirstMessage dials path and authenticates with token in the first
// frame.
func (s *Server) DialFirstMessage(ctx context.Context, path, token string, opts *websocket.DialOptions) (*websocket.Conn, transport.AuthOK, error) {
	return transport.DialFirstMessage(ctx, s.URL+path, token, s.opts(opts))
}

// DialPerMessage dials path for per-message mode, sends data in a first
// envelope carrying token and waits for auth_ok; every Write on the
// returned connection carries token (SetToken changes it).
func (s *Server) DialPerMessage(ctx context.Context, path, token string, data json.RawMessage, opts *websocket.DialOptions) (*transport.TokenConn, transport.AuthOK, error) {
	return transport.DialPerMessage(ctx, s.URL+path, token, data, s.opts(opts))
}

// From returns dial options whose connections leave from the local
// address ip, such as "127.0.0.2", to test address-bound tickets. Any
// 127.0.0.0/8 address works on Linux without setup.
func From(t testing.TB, ip string) *websocket.DialOptions {
	t.Helper()
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("wsauthtest: From(%q): %v", ip, err)
	}
	d := &net.Dialer{LocalAddr: addr}
	return &websocket.DialOptions{HTTPClient: &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext},
	}}
}
