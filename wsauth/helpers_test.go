package wsauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/memnet"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// vnet serves a handler on an in-memory network, for tests that run
// inside a synctest bubble and so in virtual time. Make it inside the
// bubble; it is closed when the test ends.
type vnet struct {
	l      *memnet.Listener
	srv    *http.Server
	mu     sync.Mutex
	client map[string]*http.Client
}

// vURL is the base URL of a vnet: every connection reaches its listener.
const vURL = "ws://wsauth.test"

func newVNet(t *testing.T, h http.Handler) *vnet {
	t.Helper()
	return newVNetServer(t, &http.Server{Handler: h})
}

// newVNetServer is newVNet with a server of the test's own (timeouts).
func newVNetServer(t *testing.T, srv *http.Server) *vnet {
	t.Helper()
	srv.ErrorLog = log.New(testWriter{t}, "", 0)
	n := &vnet{l: memnet.Listen(nil, nil), srv: srv, client: map[string]*http.Client{}}
	go n.srv.Serve(n.l)
	t.Cleanup(func() {
		n.srv.Close()
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, c := range n.client {
			c.CloseIdleConnections()
		}
	})
	return n
}

// testWriter sends a server's error log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// from returns dial options whose connections come from ip.
func (n *vnet) from(ip string) *websocket.DialOptions {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.client[ip]
	if c == nil {
		c = n.l.Client(&net.TCPAddr{IP: net.ParseIP(ip)})
		n.client[ip] = c
	}
	return &websocket.DialOptions{HTTPClient: c}
}

// opts is from("127.0.0.1").
func (n *vnet) opts() *websocket.DialOptions { return n.from("127.0.0.1") }

// loopback serves h on a real loopback port for the test.
func loopback(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// testCtx bounds a loopback test's network calls so that a bug fails
// fast instead of hanging.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// vctx is testCtx for tests in a synctest bubble, whose time is virtual:
// long enough for any expiry they wait for.
func vctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	t.Cleanup(cancel)
	return ctx
}

// verifier returns a fake verifier that knows alice, bob and an expiring
// carol.
func verifier() *wsauthtest.Verifier {
	return wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"alice-token": {Subject: "alice", IssuedAt: time.Now()},
		"bob-token":   {Subject: "bob", IssuedAt: time.Now()},
	})
}

// echo answers each message with "<subject>: <data>" until the peer goes.
func echo(ctx context.Context, c *wsauth.Conn) {
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)); err != nil {
			return
		}
	}
}

// roundTrip sends msg on c and returns the answer.
func roundTrip(t *testing.T, ctx context.Context, c *websocket.Conn, msg string) string {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// closeOf reads from c until it fails and returns the close code and
// reason (-1 if the connection ended without a close frame).
func closeOf(ctx context.Context, c *websocket.Conn) (websocket.StatusCode, string) {
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, ""
		}
	}
}

// wantClose checks that c is closed with code.
func wantClose(t *testing.T, ctx context.Context, c *websocket.Conn, code websocket.StatusCode) {
	t.Helper()
	if got, reason := closeOf(ctx, c); got != code {
		t.Fatalf("closed with %v %q, want %v", got, reason, code)
	}
}

// dialFirst dials with an auth frame carrying token and returns the
// connection, or the close code the server answered with.
func dialFirst(ctx context.Context, url, token string, o *websocket.DialOptions) (*websocket.Conn, websocket.StatusCode, error) {
	c, _, err := transport.DialFirstMessage(ctx, url, token, o)
	if err != nil {
		return nil, websocket.CloseStatus(err), err
	}
	return c, 0, nil
}

// envelope is a per-message text frame with token and data.
func envelope(t *testing.T, token, data string) []byte {
	t.Helper()
	b, err := transport.AppendEnvelope(nil, token, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// events collects the events of an Authenticator.
type events struct {
	mu  sync.Mutex
	all []wsauth.Event
	n   atomic.Int64
	// ch, if set, receives every event too.
	ch chan wsauth.Event
}

func (e *events) hook(_ context.Context, ev wsauth.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	e.n.Add(1)
	if e.ch != nil {
		e.ch <- ev
	}
}

// of returns the events of kind k so far.
func (e *events) of(k wsauth.EventKind) []wsauth.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []wsauth.Event
	for _, ev := range e.all {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// countingStore counts the calls that reach a ticket store.
type countingStore struct {
	ticket.Store
	takes atomic.Int64
}

func (s *countingStore) Take(ctx context.Context, k ticket.Key) (ticket.Ticket, bool, error) {
	s.takes.Add(1)
	return s.Store.Take(ctx, k)
}

func newCountingStore() *countingStore { return &countingStore{Store: memstore.New(nil)} }

// failingStore fails every operation, as a store whose backend is down.
type failingStore struct{}

func (failingStore) Put(context.Context, ticket.Key, ticket.Ticket, time.Duration) error {
	return ticket.ErrStoreUnavailable
}

func (failingStore) Take(context.Context, ticket.Key) (ticket.Ticket, bool, error) {
	return ticket.Ticket{}, false, ticket.ErrStoreUnavailable
}

// revocations is an in-memory ticket.Revocations for tests that need one
// before any store.
type revocations struct {
	mu       sync.Mutex
	ids      map[ticket.Key]time.Time
	subjects map[string]time.Time
	since    time.Time
	err      error
	checks   atomic.Int64
}

func newRevocations() *revocations {
	return &revocations{ids: map[ticket.Key]time.Time{}, subjects: map[string]time.Time{}, since: time.Now().Add(-time.Hour)}
}

func (r *revocations) RevokeID(_ context.Context, k ticket.Key, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[k] = until
	return r.err
}

func (r *revocations) RevokeSubject(_ context.Context, s string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subjects[s] = at
	return r.err
}

func (r *revocations) Check(_ context.Context, keys [2]ticket.Key, s string) (ticket.Status, error) {
	r.checks.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return ticket.Status{}, r.err
	}
	st := ticket.Status{SubjectRevoked: r.subjects[s], Since: r.since}
	for _, k := range keys {
		if until, ok := r.ids[k]; ok && time.Now().Before(until) {
			st.Denied = true
		}
	}
	return st, nil
}

// setErr makes every call fail with err, or none if nil.
func (r *revocations) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// lose forgets every revocation, as a store that restarted empty.
func (r *revocations) lose() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids, r.subjects, r.since = map[ticket.Key]time.Time{}, map[string]time.Time{}, time.Now()
}

// decodeJSON decodes resp's body into v and closes it.
func decodeJSON(resp *http.Response, v any) {
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
}
