package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsauth/wsauth/internal/testmain"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestMain fails the run if any goroutine outlives the tests: servers,
// connections, timers.
func TestMain(m *testing.M) {
	testmain.Run(m)
}

// testCtx bounds a test's network waits.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serve serves h on a loopback port for the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}

// wsURL is the ws:// URL of path on the server at base (http://host:port).
func wsURL(base, path string) string {
	return "ws" + strings.TrimPrefix(base, "http") + path
}

// client is a test client leaving from the local address from (such as
// "127.0.0.2"), sending X-Forwarded-For: xff on every request if not empty.
type client struct {
	opts *websocket.DialOptions
}

func newClient(t *testing.T, from, xff string) *client {
	opts := wsauthtest.From(t, from)
	if xff != "" {
		opts.HTTPHeader = http.Header{"X-Forwarded-For": {xff}}
	}
	t.Cleanup(opts.HTTPClient.CloseIdleConnections)
	return &client{opts: opts}
}

// ticket asks POST /tickets of the server at base for a ticket as user.
func (c *client) ticket(t *testing.T, base string, user string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/tickets", nil)
	req.SetBasicAuth(user, user)
	for k, v := range c.opts.HTTPHeader {
		req.Header[k] = v
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tk struct{ Ticket string }
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || resp.StatusCode != http.StatusOK || tk.Ticket == "" {
		t.Fatalf("POST /tickets: %s, %v", resp.Status, err)
	}
	return tk.Ticket
}

// dial opens path on the server at base with tk in ?ticket=; the HTTP status of a refusal
// is returned with the error.
func (c *client) dial(ctx context.Context, base string, path, tk string) (*websocket.Conn, int, error) {
	conn, resp, err := transport.DialQuery(ctx, wsURL(base, path), tk, c.opts)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return conn, status, err
}

// mustDial is dial for a ticket that must be accepted.
func (c *client) mustDial(t *testing.T, ctx context.Context, base string, path, tk string) *websocket.Conn {
	t.Helper()
	conn, status, err := c.dial(ctx, base, path, tk)
	if err != nil {
		t.Fatalf("%s refused: %d, %v", path, status, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// echoes checks that conn echoes msg as "<subject>: <msg>".
func echoes(t *testing.T, ctx context.Context, conn *websocket.Conn, subject, msg string) {
	t.Helper()
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	_, b, err := conn.Read(ctx)
	if want := subject + ": " + msg; err != nil || string(b) != want {
		t.Fatalf("echo of %q: %q, %v; want %q", msg, b, err, want)
	}
}

// logBuffer collects a log written by the server's goroutines, and lets a
// test wait for a line.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log contains s.
func (l *logBuffer) waitFor(ctx context.Context, t *testing.T, s string) {
	t.Helper()
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("the log never said %q:\n%s", s, l.String())
		}
	}
}
