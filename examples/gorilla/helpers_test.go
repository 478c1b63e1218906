package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"github.com/wsauth/wsauth/internal/memnet"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// lifetime is how long the tests' credentials live: tickets (through
// config.TicketLifetime) and JWTs alike.
const lifetime = time.Minute

// route is one of the example's WebSocket routes.
type route struct {
	name       string // the path without the room: "/" + name + "/" + room
	middleware bool   // behind Middleware, with a plain gorilla handler; else Handler over Socket, in band
	tickets    bool   // takes tickets; else JWTs
}

var (
	mwQuery       = route{"mw/query", true, true}
	mwSubprotocol = route{"mw/subprotocol", true, false}
	wsQuery       = route{"ws/query", false, true}
	wsSubprotocol = route{"ws/subprotocol", false, false}
	wsFirst       = route{"ws/first-message", false, true}
	wsPer         = route{"ws/per-message", false, false}

	allRoutes    = []route{mwQuery, mwSubprotocol, wsQuery, wsSubprotocol, wsFirst, wsPer}
	inBandRoutes = []route{wsQuery, wsSubprotocol, wsFirst, wsPer}
)

// env is a server under test and the way its clients reach it: a
// loopback port (newEnv) or an in-memory network inside a synctest bubble
// (newVirtualEnv).
type env struct {
	t      *testing.T
	srv    *server
	base   string                    // ws://host
	opts   func() *coder.DialOptions // for coder's dials; may return nil
	dialer *websocket.Dialer         // for gorilla's
	events *events
}

// testConfig is the config of a test's server: fresh key and store,
// lifetime-long credentials, events recorded, the log kept for a failure.
func testConfig(t *testing.T, ev *events) config {
	var log syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	return config{
		JWTKey:         []byte(rand.Text() + rand.Text()),
		Store:          newStore(),
		TicketLifetime: lifetime,
		TokenTTL:       lifetime,
		Logger:         slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Events:         ev.hook,
	}
}

// newStore returns a memstore for a test. A memstore refuses every
// credential issued before it was made (it may have lost revocations from
// before), and a JWT minted in the store's first millisecond has an iat,
// rounded down, before it: the store's clock runs a second behind, as if
// made at startup, long before the test.
func newStore() *memstore.Store {
	return memstore.New(&memstore.Options{Now: func() time.Time { return time.Now().Add(-time.Second) }})
}

// newEnv serves the example with cfg (nil fields from testConfig) on a
// real loopback port.
func newEnv(t *testing.T, modify func(*config)) *env {
	t.Helper()
	ev := &events{}
	cfg := testConfig(t, ev)
	if modify != nil {
		modify(&cfg)
	}
	srv, err := newServer(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &env{
		t: t, srv: srv, events: ev,
		base:   "ws" + strings.TrimPrefix(hs.URL, "http"),
		opts:   func() *coder.DialOptions { return nil },
		dialer: &websocket.Dialer{HandshakeTimeout: 10 * time.Second},
	}
}

// newVirtualEnv serves the example on an in-memory network, for a test
// inside a synctest bubble: gorilla's Upgrader hijacks memnet connections
// as it does TCP ones, and every wait is in virtual time. Call it inside
// the bubble.
func newVirtualEnv(t *testing.T) *env {
	t.Helper()
	ev := &events{}
	srv, err := newServer(t.Context(), testConfig(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	l := memnet.Listen(nil, nil)
	hs := &http.Server{Handler: srv}
	go hs.Serve(l)
	client := l.Client(nil) // from 127.0.0.1, where the tests' tickets are bound
	t.Cleanup(func() {
		hs.Close()
		client.CloseIdleConnections()
	})
	return &env{
		t: t, srv: srv, events: ev,
		base: "ws://example.test",
		opts: func() *coder.DialOptions { return &coder.DialOptions{HTTPClient: client} },
		dialer: &websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return l.Dial(ctx, nil)
		}},
	}
}

// ticket returns a new ticket for subject, bound to 127.0.0.1.
func (e *env) ticket(subject string) string {
	return wsauthtest.Ticket(e.t, e.srv.cfg.Store, ticket.Ticket{Subject: subject})
}

// jwt returns a token for subject expiring after ttl.
func (e *env) jwt(subject string, ttl time.Duration) string {
	tok, _, err := mintJWT(e.srv.cfg.JWTKey, subject, ttl)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// cred returns a credential of subject for rt, valid for lifetime.
func (e *env) cred(rt route, subject string) string {
	if rt.tickets {
		return e.ticket(subject)
	}
	return e.jwt(subject, lifetime)
}

// forged returns a well-formed credential for rt that the server never
// issued: an unknown ticket, or a JWT signed with another key.
func (e *env) forged(rt route) string {
	if rt.tickets {
		id, _ := ticket.NewID()
		return id
	}
	tok, _, err := mintJWT([]byte(rand.Text()+rand.Text()), "alice", lifetime)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// outcome is how the server answered an attempt that it refused.
type outcome struct {
	status int // HTTP status, for a refusal before the upgrade
	code   int // close code, for one after
	err    error
}

func (o outcome) String() string {
	return fmt.Sprintf("status %d, code %d: %v", o.status, o.code, o.err)
}

// refusedWith reports whether o is the refusal rt answers with: status on
// the Middleware routes, code on the in-band ones.
func (rt route) refusedWith(o outcome, status, code int) bool {
	if rt.middleware {
		return o.status == status
	}
	return o.code == code
}

// client is one connection of a test: gorilla's on the Middleware routes,
// coder's (through the transport helpers) on the in-band ones.
type client interface {
	// send sends data, a JSON value (per-message carries JSON).
	send(ctx context.Context, data string) error
	// recv returns the next message.
	recv(ctx context.Context) (string, error)
	// end reads until the connection ends and returns its close code and
	// reason: 1006 if it ended without a close frame.
	end(ctx context.Context) (int, string)
	close()
}

// dial connects to rt's room with cred. For the in-band routes it returns
// once auth_ok has arrived (and, on per-message, the echo of the first
// frame), with auth_ok; a refusal is the outcome.
func (e *env) dial(ctx context.Context, rt route, room, cred string) (client, transport.AuthOK, outcome) {
	url := e.base + "/" + rt.name + "/" + room
	switch rt {
	case mwQuery, mwSubprotocol:
		d := *e.dialer
		if rt == mwSubprotocol {
			d.Subprotocols = transport.SubprotocolOffer(cred, appProtocol)
		} else {
			u, err := transport.WithQuery(url, "", cred)
			if err != nil {
				return nil, transport.AuthOK{}, outcome{err: err}
			}
			url = u
		}
		ws, resp, err := d.DialContext(ctx, url, nil)
		if err != nil {
			o := outcome{err: err}
			if resp != nil {
				o.status = resp.StatusCode
			}
			return nil, transport.AuthOK{}, o
		}
		if rt == mwSubprotocol && ws.Subprotocol() != appProtocol {
			ws.Close()
			return nil, transport.AuthOK{}, outcome{err: fmt.Errorf("subprotocol %q echoed", ws.Subprotocol())}
		}
		return &gorillaClient{ws}, transport.AuthOK{}, outcome{}
	case wsQuery, wsSubprotocol:
		var c *coder.Conn
		var err error
		if rt == wsQuery {
			c, _, err = transport.DialQuery(ctx, url, cred, e.opts())
		} else {
			c, _, err = transport.DialSubprotocol(ctx, url, cred, []string{appProtocol}, e.opts())
		}
		if err != nil {
			return nil, transport.AuthOK{}, outcome{err: err}
		}
		cc := &coderClient{c: c}
		ok, o := cc.authOK(ctx)
		if o.err != nil {
			return nil, ok, o
		}
		return cc, ok, o
	case wsFirst:
		c, ok, err := transport.DialFirstMessage(ctx, url, cred, e.opts())
		if err != nil {
			return nil, ok, outcome{code: int(coder.CloseStatus(err)), err: err}
		}
		return &coderClient{c: c}, ok, outcome{}
	case wsPer:
		tc, ok, err := transport.DialPerMessage(ctx, url, cred, []byte(`"hello"`), e.opts())
		if err != nil {
			return nil, ok, outcome{code: int(coder.CloseStatus(err)), err: err}
		}
		cc := &coderClient{c: tc.Conn(), tc: tc}
		if got, err := cc.recv(ctx); err != nil || !strings.HasSuffix(got, `: "hello"`) {
			cc.close()
			return nil, ok, outcome{err: fmt.Errorf("first frame echoed as %q, %v", got, err)}
		}
		return cc, ok, outcome{}
	}
	panic("unknown route " + rt.name)
}

// mustDial is dial for a credential that must be accepted.
func (e *env) mustDial(ctx context.Context, rt route, room, cred string) (client, transport.AuthOK) {
	e.t.Helper()
	c, ok, o := e.dial(ctx, rt, room, cred)
	if c == nil {
		e.t.Fatalf("%s/%s: refused: %v", rt.name, room, o)
	}
	e.t.Cleanup(c.close)
	return c, ok
}

// gorillaClient is a gorilla client connection.
type gorillaClient struct{ ws *websocket.Conn }

func (g *gorillaClient) send(ctx context.Context, data string) error {
	deadline, _ := ctx.Deadline()
	g.ws.SetWriteDeadline(deadline)
	return g.ws.WriteMessage(websocket.TextMessage, []byte(data))
}

func (g *gorillaClient) recv(ctx context.Context) (string, error) {
	deadline, _ := ctx.Deadline()
	g.ws.SetReadDeadline(deadline)
	_, b, err := g.ws.ReadMessage()
	return string(b), err
}

func (g *gorillaClient) end(ctx context.Context) (int, string) {
	for {
		if _, err := g.recv(ctx); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text // gorilla reports a connection cut as 1006
			}
			return -1, err.Error()
		}
	}
}

func (g *gorillaClient) close() { g.ws.Close() }

// coderClient is a coder/websocket client connection; tc is set on the
// per-message route.
type coderClient struct {
	c  *coder.Conn
	tc *transport.TokenConn
}

func (k *coderClient) send(ctx context.Context, data string) error {
	if k.tc != nil {
		return k.tc.Write(ctx, json.RawMessage(data))
	}
	return k.c.Write(ctx, coder.MessageText, []byte(data))
}

func (k *coderClient) recv(ctx context.Context) (string, error) {
	_, b, err := k.c.Read(ctx)
	return string(b), err
}

func (k *coderClient) end(ctx context.Context) (int, string) {
	for {
		if _, err := k.recv(ctx); err != nil {
			var ce coder.CloseError
			if errors.As(err, &ce) {
				return int(ce.Code), ce.Reason
			}
			return 1006, err.Error() // ended without a close frame
		}
	}
}

func (k *coderClient) close() { k.c.CloseNow() }

// refresh sends a refresh frame with cred; on per-message later frames
// carry it too.
func (k *coderClient) refresh(ctx context.Context, cred string) error {
	if k.tc != nil {
		k.tc.SetToken(cred)
	}
	return transport.Refresh(ctx, k.c, cred)
}

// authOK reads the server's answer to an in-band handshake: auth_ok, or
// a close.
func (k *coderClient) authOK(ctx context.Context) (transport.AuthOK, outcome) {
	var ok transport.AuthOK
	b, err := k.recv(ctx)
	if err == nil {
		err = ok.UnmarshalJSON([]byte(b))
	}
	if err != nil {
		k.close()
		return ok, outcome{code: int(coder.CloseStatus(err)), err: err}
	}
	return ok, outcome{}
}

// testCtx bounds a test's network waits: real time on loopback, virtual
// time in a bubble.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// events records a server's events, for tests to wait on.
type events struct {
	mu      sync.Mutex
	all     []wsauth.Event
	changed chan struct{} // closed at the next event
}

func (e *events) hook(_ context.Context, ev wsauth.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	if e.changed != nil {
		close(e.changed)
		e.changed = nil
	}
}

// wait waits until n events satisfy match, and returns them.
func (e *events) wait(ctx context.Context, n int, match func(wsauth.Event) bool) ([]wsauth.Event, error) {
	for {
		e.mu.Lock()
		var got []wsauth.Event
		for _, ev := range e.all {
			if match(ev) {
				got = append(got, ev)
			}
		}
		if len(got) >= n {
			e.mu.Unlock()
			return got, nil
		}
		if e.changed == nil {
			e.changed = make(chan struct{})
		}
		changed := e.changed
		e.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("%d of %d events: %w", len(got), n, ctx.Err())
		}
	}
}

// closedFor matches the EventClosed events of subject with reason.
func closedFor(subject, reason string) func(wsauth.Event) bool {
	return func(ev wsauth.Event) bool {
		return ev.Kind == wsauth.EventClosed && ev.Subject == subject && ev.Reason == reason
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
