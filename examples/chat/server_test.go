package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

var testKey = []byte("test key: 32 bytes or more, demo only")

// node is one chat server on a loopback port.
type node struct {
	srv *server
	ts  *wsauthtest.Server
}

func newNode(t *testing.T, cfg config) *node {
	t.Helper()
	return startNode(t, cfg, wsauthtest.NewHandlerServer)
}

// newMemNode is newNode on an in-memory network, for a test in a
// synctest bubble (made inside it): its time is the bubble's.
func newMemNode(t *testing.T, cfg config) *node {
	t.Helper()
	return startNode(t, cfg, wsauthtest.NewMemServer)
}

func startNode(t *testing.T, cfg config, serve func(testing.TB, http.Handler) *wsauthtest.Server) *node {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = testKey
	}
	s, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, s.Handler())
	// Registered after the test server's cleanup, so it runs first: the
	// chat connections are closed before the listener.
	t.Cleanup(func() { s.Close() })
	return &node{srv: s, ts: ts}
}

// httpURL is the node's base URL with the http scheme.
func (n *node) httpURL() string { return "http" + strings.TrimPrefix(n.ts.URL, "ws") }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// post sends a JSON POST with an optional session cookie.
func (n *node) post(t *testing.T, path, cookie, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, n.httpURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", sessionCookie+"="+cookie)
	}
	resp, err := n.ts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// session is a logged-in user.
type session struct {
	user, cookie, token string
	exp                 time.Time // the token's
}

func (n *node) login(t *testing.T, user string) session {
	t.Helper()
	resp, body := n.post(t, "/api/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, user))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s", user, resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return session{user: user, cookie: c.Value, token: tr.AccessToken, exp: tr.ExpiresAt}
		}
	}
	t.Fatalf("login %s: no session cookie", user)
	return session{}
}

func (n *node) ticket(t *testing.T, s session, room string) string {
	t.Helper()
	resp, body := n.post(t, "/api/tickets", s.cookie, fmt.Sprintf(`{"room":%q}`, room))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ticket for %s in %s: %d %s", s.user, room, resp.StatusCode, body)
	}
	var tr struct {
		Ticket    string    `json:"ticket"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	return tr.Ticket
}

// freshToken asks /api/token for a new access token of s's session.
func (n *node) freshToken(t *testing.T, s session) session {
	t.Helper()
	resp, body := n.post(t, "/api/token", s.cookie, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token for %s: %d %s", s.user, resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	s.token, s.exp = tr.AccessToken, tr.ExpiresAt
	return s
}

// client is one chat connection, on any strategy.
type client struct {
	t        *testing.T
	ws       *websocket.Conn
	tc       *transport.TokenConn // /ws/jwt only
	controls []control            // control frames next skipped, oldest first
}

// control is a frame of wsauth's own that the server sends on a chat
// connection: {"type":"expiring","in":N}, or {"type":"auth_ok",…} after a
// refresh.
type control struct {
	Type      string    `json:"type"`
	In        int       `json:"in"`
	Subject   string    `json:"subject"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (c *client) say(text string) {
	c.t.Helper()
	data, _ := json.Marshal(map[string]string{"text": text})
	var err error
	if c.tc != nil {
		err = c.tc.Write(testCtx(c.t), data)
	} else {
		err = c.ws.Write(testCtx(c.t), websocket.MessageText, data)
	}
	if err != nil {
		c.t.Fatalf("say %q: %v", text, err)
	}
}

// next reads the next chat message. Control frames on the way are kept
// for nextControl.
func (c *client) next() chatMessage {
	c.t.Helper()
	for {
		m, ctl := c.read()
		if ctl == nil {
			return m
		}
		c.controls = append(c.controls, *ctl)
	}
}

// nextControl returns the next control frame, skipping chat messages.
func (c *client) nextControl() control {
	c.t.Helper()
	for len(c.controls) == 0 {
		if _, ctl := c.read(); ctl != nil {
			return *ctl
		}
	}
	ctl := c.controls[0]
	c.controls = c.controls[1:]
	return ctl
}

// read reads one frame: a chat message, or a control frame.
func (c *client) read() (chatMessage, *control) {
	c.t.Helper()
	_, b, err := c.ws.Read(testCtx(c.t))
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var ctl control
	if json.Unmarshal(b, &ctl) == nil && ctl.Type != "" {
		return chatMessage{}, &ctl
	}
	var m chatMessage
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("read: %v in %s", err, b)
	}
	return m, nil
}

// waitFor reads chat messages until one has text.
func (c *client) waitFor(text string) chatMessage {
	c.t.Helper()
	for {
		if m := c.next(); m.Text == text {
			return m
		}
	}
}

// joined says hello and waits for the echo, which proves the server has
// the connection in its room (on /ws/jwt, that the first frame passed).
func (c *client) joined() {
	c.t.Helper()
	hello := fmt.Sprintf("hello %p", c)
	c.say(hello)
	c.waitFor(hello)
}

// closeStatus reads until the connection ends and returns its close code.
func (c *client) closeStatus() websocket.StatusCode {
	c.t.Helper()
	return c.closeError().Code
}

// closeError reads until the connection ends and returns its close code
// and reason (code -1 if it ended without a close frame).
func (c *client) closeError() websocket.CloseError {
	c.t.Helper()
	return readClose(testCtx(c.t), c.ws)
}

// readClose reads ws until it ends, or ctx does, and returns the close code
// and reason (code -1 if it ended without a close frame).
func readClose(ctx context.Context, ws *websocket.Conn) websocket.CloseError {
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce
			}
			return websocket.CloseError{Code: -1, Reason: err.Error()}
		}
	}
}

// The ways of connecting the tests cover: the four strategies, and the
// endpoints that take an access token instead of a ticket.
var strategies = []string{"query", "subprotocol", "first-message", "jwt", "subprotocol+token", "first-message+token"}

// dial connects s to room. A refusal after the upgrade is not an error:
// closeStatus reports it. On first-message, a refusal comes back as the
// error of the auth exchange, whose close status is returned.
func (n *node) dial(t *testing.T, strategy string, s session, room string) (*client, websocket.StatusCode) {
	t.Helper()
	ctx := testCtx(t)
	kind, withToken := strings.CutSuffix(strategy, "+token")
	cred := s.token
	if !withToken && kind != "jwt" {
		cred = n.ticket(t, s, room)
	}
	path := "/ws/" + kind + "/" + room
	var (
		ws  *websocket.Conn
		tc  *transport.TokenConn
		err error
	)
	switch kind {
	case "query", "subprotocol":
		if kind == "query" {
			ws, _, err = n.ts.DialQuery(ctx, path, cred, nil)
		} else {
			ws, _, err = n.ts.DialSubprotocol(ctx, path, cred, nil, appProtocol)
			if err == nil && ws.Subprotocol() != appProtocol {
				t.Fatalf("subprotocol %q, want %q", ws.Subprotocol(), appProtocol)
			}
		}
		if err == nil {
			// In band: auth_ok, or the refusal's close.
			_, b, rerr := ws.Read(ctx)
			if code := websocket.CloseStatus(rerr); code != -1 {
				ws.CloseNow()
				return nil, code
			}
			var ok transport.AuthOK
			if rerr != nil || ok.UnmarshalJSON(b) != nil || ok.Subject != s.user {
				t.Fatalf("dial %s: first frame %q, %v", strategy, b, rerr)
			}
		}
	case "first-message":
		var ok transport.AuthOK
		ws, ok, err = n.ts.DialFirstMessage(ctx, path, cred, nil)
		if code := websocket.CloseStatus(err); code != -1 {
			return nil, code
		}
		if err == nil && ok.Subject != s.user {
			t.Fatalf("auth_ok for %q, want %q", ok.Subject, s.user)
		}
	case "jwt":
		tc, _, err = n.ts.DialPerMessage(ctx, path, cred, []byte(`{}`), nil)
		if code := websocket.CloseStatus(err); code != -1 {
			return nil, code
		}
		if err == nil {
			ws = tc.Conn()
		}
	}
	if err != nil {
		t.Fatalf("dial %s: %v", strategy, err)
	}
	c := &client{t: t, ws: ws, tc: tc}
	t.Cleanup(func() { ws.CloseNow() })
	return c, -1
}

// mustDial dials and fails the test on a refusal seen while dialing.
func (n *node) mustDial(t *testing.T, strategy string, s session, room string) *client {
	t.Helper()
	c, code := n.dial(t, strategy, s, room)
	if c == nil {
		t.Fatalf("dial %s as %s to %s: closed %d", strategy, s.user, room, code)
	}
	return c
}

// dialTicket connects to room on /ws/query with the ticket tk, which may
// be refused: closeStatus then reports the refusal.
func (n *node) dialTicket(t *testing.T, room, tk string, opts *websocket.DialOptions) *client {
	t.Helper()
	ws, _, err := n.ts.DialQuery(testCtx(t), "/ws/query/"+room, tk, opts)
	if err != nil {
		t.Fatalf("dial query to %s: %v", room, err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws}
}

func TestLogin(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{TokenTTL: time.Minute})
	resp, body := n.post(t, "/api/login", "", `{"username":"alice","password":"alice"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(tr.ExpiresAt); d <= 0 || d > time.Minute {
		t.Errorf("expires_at %v: %v from now, want within the 1m TTL", tr.ExpiresAt, d)
	}
	// The access token is a JWT anyone holding CHAT_JWT_KEY can check.
	v, err := newHS256(testKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(t.Context(), tr.AccessToken, wsauth.Peer{})
	if err != nil || p.Subject != "alice" {
		t.Fatalf("access token: %v, %q", err, p.Subject)
	}

	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Value == "" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict", cookie)
	}
	// The cookie is not an access token, nor the other way round.
	if _, err := v.Verify(t.Context(), cookie.Value, wsauth.Peer{}); err == nil {
		t.Error("the session cookie verifies as an access token")
	}
	if resp, _ := n.post(t, "/api/tickets", tr.AccessToken, `{"room":"general"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("access token as session cookie: %d, want 401", resp.StatusCode)
	}

	for _, body := range []string{
		`{"username":"alice","password":"bob"}`,
		`{"username":"mallory","password":"mallory"}`,
		`{"username":"alice"}`,
	} {
		if resp, b := n.post(t, "/api/login", "", body); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("login %s: %d %s, want 401", body, resp.StatusCode, b)
		} else if len(resp.Cookies()) != 0 {
			t.Errorf("login %s: cookie set", body)
		}
	}
	if resp, _ := n.post(t, "/api/login", "", `not json`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed login: %d, want 400", resp.StatusCode)
	}
}

func TestTickets(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	alice := n.login(t, "alice")
	for _, tc := range []struct {
		name, cookie, body string
		want               int
	}{
		{"no session", "", `{"room":"general"}`, http.StatusUnauthorized},
		{"bad session", "nonsense", `{"room":"general"}`, http.StatusUnauthorized},
		{"no room", alice.cookie, `{}`, http.StatusForbidden},
		{"ok", alice.cookie, `{"room":"general"}`, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := n.post(t, "/api/tickets", tc.cookie, tc.body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tc.want)
			}
			if tc.want != http.StatusOK {
				return
			}
			var tr struct{ Ticket string }
			if err := json.Unmarshal(body, &tr); err != nil {
				t.Fatal(err)
			}
			if _, err := ticket.KeyOf(tr.Ticket); err != nil {
				t.Errorf("ticket: %v", err)
			}
		})
	}

	t.Run("cross-site", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(testCtx(t), http.MethodPost, n.ts.HTTP.URL+"/api/tickets", strings.NewReader(`{"room":"general"}`))
		req.Header.Set("Cookie", sessionCookie+"="+alice.cookie)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})

	t.Run("logout", func(t *testing.T) {
		resp, _ := n.post(t, "/api/logout", alice.cookie, "")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if cs := resp.Cookies(); len(cs) != 1 || cs[0].Name != sessionCookie || cs[0].MaxAge >= 0 {
			t.Errorf("logout cookies %v, want %s cleared", cs, sessionCookie)
		}
	})
}

// exchange has alice and bob, on one strategy, say something to each
// other in general.
func exchange(t *testing.T, alice, bob *client) {
	t.Helper()
	bob.say("hi alice")
	if m := alice.waitFor("hi alice"); m.From != "bob" || m.Room != "general" || m.At.IsZero() {
		t.Errorf("alice got %+v", m)
	}
	alice.say("hi bob")
	if m := bob.waitFor("hi bob"); m.From != "alice" || m.Room != "general" {
		t.Errorf("bob got %+v", m)
	}
}

func TestStrategies(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	for _, strategy := range strategies {
		t.Run(strategy, func(t *testing.T) {
			alice := n.mustDial(t, strategy, n.login(t, "alice"), "general")
			alice.joined()
			bob := n.mustDial(t, strategy, n.login(t, "bob"), "general")
			if strategy == "jwt" {
				bob.joined() // joins with its first frame
			}
			// Elsewhere bob is in the room as soon as his dial returns,
			// without a hello: alice's next message reaches him.
			alice.say("are you there?")
			if m := bob.next(); m.Text != "are you there?" || m.From != "alice" {
				t.Errorf("bob's first message: %+v", m)
			}
			exchange(t, alice, bob)
		})
	}
}

func TestForbiddenRoom(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	carol := n.login(t, "carol")
	for _, strategy := range strategies {
		t.Run(strategy, func(t *testing.T) {
			c, code := n.dial(t, strategy, carol, "secret")
			if c != nil {
				if strategy == "jwt" {
					c.say("let me in")
				}
				code = c.closeStatus()
			}
			if code != transport.CloseForbidden {
				t.Errorf("close %d, want %d", code, transport.CloseForbidden)
			}
		})
	}
	t.Run("alice in secret", func(t *testing.T) {
		n.mustDial(t, "query", n.login(t, "alice"), "secret").joined()
	})
	t.Run("ticket for another room", func(t *testing.T) {
		alice := n.login(t, "alice")
		tk := n.ticket(t, alice, "general")
		if code := n.dialTicket(t, "secret", tk, nil).closeStatus(); code != transport.CloseForbidden {
			t.Errorf("close %d, want %d", code, transport.CloseForbidden)
		}
	})
	t.Run("unknown room", func(t *testing.T) {
		c, code := n.dial(t, "first-message+token", n.login(t, "alice"), "nowhere")
		if c != nil || code != transport.CloseForbidden {
			t.Errorf("close %d, want %d", code, transport.CloseForbidden)
		}
	})
}

func TestTicketRefused(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	alice := n.login(t, "alice")
	refused := func(t *testing.T, tk string, opts *websocket.DialOptions) {
		t.Helper()
		if code := n.dialTicket(t, "general", tk, opts).closeStatus(); code != transport.CloseUnauthenticated {
			t.Errorf("close %d, want %d", code, transport.CloseUnauthenticated)
		}
	}
	t.Run("replayed", func(t *testing.T) {
		tk := n.ticket(t, alice, "general")
		c := n.dialTicket(t, "general", tk, nil)
		c.joined()
		c.ws.Close(websocket.StatusNormalClosure, "")
		refused(t, tk, nil)
		// Nor on another strategy.
		if _, _, err := n.ts.DialFirstMessage(testCtx(t), "/ws/first-message/general", tk, nil); websocket.CloseStatus(err) != transport.CloseUnauthenticated {
			t.Errorf("replayed on first-message: %v", err)
		}
	})
	t.Run("other address", func(t *testing.T) {
		// Issued to 127.0.0.1, presented from 127.0.0.2.
		refused(t, n.ticket(t, alice, "general"), wsauthtest.From(t, "127.0.0.2"))
	})
	t.Run("made up", func(t *testing.T) {
		id, _ := ticket.NewID()
		refused(t, id, nil)
	})
}

func TestForeignOrigin(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	alice := n.login(t, "alice")
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}}
	_, resp, err := n.ts.DialQuery(testCtx(t), "/ws/query/general", n.ticket(t, alice, "general"), opts)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v, %v; want 403", err, resp)
	}
}

func TestAuthTimeout(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{AuthTimeout: 50 * time.Millisecond})
	for _, path := range []string{"/ws/first-message/general", "/ws/jwt/general"} {
		c, _, err := websocket.Dial(testCtx(t), n.ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code := (&client{t: t, ws: c}).closeStatus(); code != transport.CloseAuthTimeout {
			t.Errorf("%s: close %d, want %d", path, code, transport.CloseAuthTimeout)
		}
	}
}

func TestBadFrames(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	for _, tc := range []struct {
		name  string
		frame string
		want  websocket.StatusCode
	}{
		{"too long", fmt.Sprintf(`{"text":%q}`, strings.Repeat("x", maxText+1)), websocket.StatusMessageTooBig},
		{"over the read limit", fmt.Sprintf(`{"text":%q}`, strings.Repeat("x", maxFrame)), websocket.StatusMessageTooBig},
		{"not a chat frame", `"hello"`, websocket.StatusUnsupportedData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := n.mustDial(t, "first-message+token", n.login(t, "alice"), "general")
			if err := c.ws.Write(testCtx(t), websocket.MessageText, []byte(tc.frame)); err != nil {
				t.Fatal(err)
			}
			if code := c.closeStatus(); code != tc.want {
				t.Errorf("close %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("empty text is not posted", func(t *testing.T) {
		c := n.mustDial(t, "first-message+token", n.login(t, "alice"), "general")
		c.say("  ")
		c.say("after")
		if m := c.next(); m.Text != "after" {
			t.Errorf("got %+v, want only the message with text", m)
		}
	})
}

// TestTokenExpiry: on /ws/jwt a client that sends no fresh token is
// closed with 4401 when its token expires.
// TestTokenExpiry: a connection on an access token is closed with 4401
// when the token expires, in virtual time: the bubble's clock starts on a
// whole second, and exp is in whole seconds, so exactly at the TTL.
func TestTokenExpiry(t *testing.T) {
	t.Parallel() // a node of its own
	synctest.Test(t, func(t *testing.T) {
		n := newMemNode(t, config{TokenTTL: 5 * time.Second}) // within testCtx's 10 s
		start := time.Now()
		c := n.mustDial(t, "jwt", n.login(t, "alice"), "general")
		c.joined()
		if code := c.closeStatus(); code != transport.CloseUnauthenticated {
			t.Errorf("close %d, want %d", code, transport.CloseUnauthenticated)
		}
		if at := time.Since(start); at != 5*time.Second {
			t.Errorf("closed after %v, want the token's 5s", at)
		}
	})
}

func TestSlowMemberDropped(t *testing.T) {
	t.Parallel() // a hub of its own
	h := newHub()
	slow := h.join("general") // bob
	fast := h.join("general") // alice
	for i := range sendQueue + 1 {
		h.deliver("general", []byte("x"))
		<-fast.send // alice keeps up; bob reads nothing
		if i < sendQueue {
			select {
			case <-slow.kicked:
				t.Fatalf("bob dropped after %d messages, queue is %d", i+1, sendQueue)
			default:
			}
		}
	}
	select {
	case <-slow.kicked:
	default:
		t.Fatal("slow member not dropped")
	}
	if slow.code != websocket.StatusPolicyViolation {
		t.Errorf("close code %d", slow.code)
	}
	if got := h.count("general"); got != 1 {
		t.Errorf("%d members left, want 1", got)
	}
	h.deliver("general", []byte("y"))
	if got := string(<-fast.send); got != "y" {
		t.Errorf("alice got %q", got)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	c := n.mustDial(t, "query", n.login(t, "alice"), "general")
	c.joined()
	// Close waits for every handler, and each for its client's answer to
	// the close frame: read meanwhile, as a client does.
	code := make(chan websocket.StatusCode, 1)
	go func() { code <- readClose(context.Background(), c.ws).Code }()
	n.srv.Close()
	if got := <-code; got != websocket.StatusGoingAway {
		t.Errorf("close %d, want %d", got, websocket.StatusGoingAway)
	}
}

func TestPage(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	for path, want := range map[string][]string{
		"/":          {"text/html", `id="login-username"`, `id="strategy"`, `id="status"`, `id="messages"`, `src="app.js"`},
		"/wsauth.js": {"text/javascript", "export class WsauthClient"},
		"/app.js":    {"text/javascript", "from './wsauth.js'"},
	} {
		resp, err := http.Get(n.ts.HTTP.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), want[0]) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, s := range want[1:] {
			if !strings.Contains(string(b), s) {
				t.Errorf("%s lacks %s", path, s)
			}
		}
	}
}

// twoRedisNodes starts two nodes on one miniredis, each with its own
// client.
func twoRedisNodes(t *testing.T) (a, b *node) {
	t.Helper()
	mr := miniredis.RunT(t)
	newRedisNode := func() *node {
		client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { client.Close() })
		return newNode(t, config{Redis: client})
	}
	return newRedisNode(), newRedisNode()
}

// TestRedisNodes runs two nodes on one Redis (miniredis): tickets and
// sessions from one work on the other, and messages reach both.
func TestRedisNodes(t *testing.T) {
	t.Parallel() // nodes and a miniredis of their own
	a, b := twoRedisNodes(t)

	alice := a.login(t, "alice")
	bob := a.login(t, "bob")

	// A ticket from A opens B, once.
	tk := a.ticket(t, alice, "general")
	aliceOnB := b.dialTicket(t, "general", tk, nil)
	aliceOnB.joined()
	if code := a.dialTicket(t, "general", tk, nil).closeStatus(); code != transport.CloseUnauthenticated {
		t.Errorf("ticket replayed on the other node: close %d, want %d", code, transport.CloseUnauthenticated)
	}
	// The session from A is good on B.
	b.ticket(t, bob, "general")

	// A message said on A reaches B, and A's own sender exactly once.
	bobOnA := a.mustDial(t, "first-message", bob, "general")
	bobOnA.say("from A")
	if m := aliceOnB.waitFor("from A"); m.From != "bob" {
		t.Errorf("alice on B got %+v", m)
	}
	// waitFor: alice's hello may reach A's subscription only after bob
	// joined there.
	if m := bobOnA.waitFor("from A"); m.From != "bob" {
		t.Errorf("bob on A got %+v", m)
	}
	aliceOnB.say("from B")
	if m := bobOnA.next(); m.Text != "from B" || m.From != "alice" {
		t.Errorf("bob on A got %+v, want alice's message once", m)
	}
	if m := aliceOnB.next(); m.Text != "from B" {
		t.Errorf("alice on B got %+v", m)
	}
}

// TestRedisDown: with Redis gone, tickets are refused (fail closed), not
// handed out unchecked.
func TestRedisDown(t *testing.T) {
	t.Parallel() // a node of its own
	mr := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	n := newNode(t, config{Redis: client})
	alice := n.login(t, "alice")
	mr.Close()
	resp, body := n.post(t, "/api/tickets", alice.cookie, `{"room":"general"}`)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("ticket with Redis down: %d %s, want 503", resp.StatusCode, body)
	}
}

// TestLogoutRevokes: a logout closes every socket of the user, whatever
// the strategy and credential, with 4401 "logged out", and leaves other
// users' sockets alone.
func TestLogoutRevokes(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	alice := n.login(t, "alice")
	bob := n.login(t, "bob")
	var alices []*client
	for _, strategy := range strategies {
		c := n.mustDial(t, strategy, alice, "general")
		c.joined() // registered: on /ws/jwt, once the first frame passed
		alices = append(alices, c)
	}
	bobs := []*client{n.mustDial(t, "first-message", bob, "general"), n.mustDial(t, "jwt", bob, "general")}
	for _, c := range bobs {
		c.joined()
	}
	resp, body := n.post(t, "/api/logout", alice.cookie, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	for i, c := range alices {
		if ce := c.closeError(); ce.Code != transport.CloseUnauthenticated || ce.Reason != logoutReason {
			t.Errorf("alice via %s: closed %d %q, want %d %q", strategies[i], ce.Code, ce.Reason, transport.CloseUnauthenticated, logoutReason)
		}
	}
	// bob chats on, on both of his connections.
	bobs[0].say("still here")
	for _, c := range bobs {
		if m := c.waitFor("still here"); m.From != "bob" {
			t.Errorf("bob got %+v", m)
		}
	}
}

// TestLogoutRefusesOldCredentials: after a logout, the session cookie and
// every access token and ticket of that session are refused on every
// endpoint, while another session of the same user goes on.
func TestLogoutRefusesOldCredentials(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	alice := n.login(t, "alice")
	// A second access token of the session, not presented at logout (a
	// copy an attacker kept): refused through the session's ID ("sid").
	kept := n.freshToken(t, alice)
	other := n.login(t, "alice") // another browser
	n.mustDial(t, "first-message+token", other, "general").joined()

	// The page hands its current token over, which denies its jti too.
	resp, body := n.post(t, "/api/logout", alice.cookie, fmt.Sprintf(`{"access_token":%q}`, alice.token))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].Name != sessionCookie || cs[0].MaxAge >= 0 {
		t.Errorf("logout cookies %v, want %s cleared", cs, sessionCookie)
	}

	for _, path := range []string{"/api/tickets", "/api/token"} {
		if resp, body := n.post(t, path, alice.cookie, `{"room":"general"}`); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with the old cookie: %d %s, want 401", path, resp.StatusCode, body)
		}
	}
	for _, s := range []session{alice, kept} {
		for _, strategy := range []string{"first-message+token", "subprotocol+token", "jwt"} {
			c, code := n.dial(t, strategy, s, "general")
			if c != nil {
				if strategy == "jwt" {
					c.say("am I still in?")
				}
				code = c.closeStatus()
			}
			if code != transport.CloseUnauthenticated {
				t.Errorf("old token via %s: close %d, want %d", strategy, code, transport.CloseUnauthenticated)
			}
		}
	}

	// The other session is another login: it still works, and so does a
	// new one.
	n.mustDial(t, "query", other, "general").joined()
	n.mustDial(t, "jwt", n.freshToken(t, other), "general").joined()
	n.mustDial(t, "first-message+token", n.login(t, "alice"), "general").joined()

	// A logout without a session, or with one that ended, clears the
	// cookie and revokes nothing.
	for _, cookie := range []string{"", alice.cookie, "nonsense"} {
		if resp, _ := n.post(t, "/api/logout", cookie, ""); resp.StatusCode != http.StatusNoContent {
			t.Errorf("logout with cookie %.10q: %d, want 204", cookie, resp.StatusCode)
		}
	}
}

// TestLogoutOtherUsersToken: the access token in a logout's body is only
// revoked if it is the logged-out user's.
func TestLogoutOtherUsersToken(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{})
	alice, bob := n.login(t, "alice"), n.login(t, "bob")
	resp, _ := n.post(t, "/api/logout", alice.cookie, fmt.Sprintf(`{"access_token":%q}`, bob.token))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	n.mustDial(t, "first-message+token", bob, "general").joined()
}

// TestLogoutOutlivesTheSessionsTokens: an access token minted just before
// its session's end lives its TTL longer; the logout's revocation of the
// session's ID lasts as long, also once the Registry has forgotten it (a
// later logout, a minute on). It lasted only to the session's end.
func TestLogoutOutlivesTheSessionsTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newMemNode(t, config{})
		alice := n.login(t, "alice")
		time.Sleep(sessionTTL - 10*time.Second) // the session is near its end
		kept := n.freshToken(t, alice)          // lives 5 min: past the session
		if resp, body := n.post(t, "/api/logout", alice.cookie, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d %s", resp.StatusCode, body)
		}
		time.Sleep(2 * time.Minute)
		bob := n.login(t, "bob")
		if resp, body := n.post(t, "/api/logout", bob.cookie, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout bob: %d %s", resp.StatusCode, body)
		}
		if !time.Now().Before(kept.exp) {
			t.Fatal("the token expired already")
		}
		c, code := n.dial(t, "first-message+token", kept, "general")
		if c != nil {
			c.joined()
			t.Fatalf("an access token of a logged-out session was accepted 2 min after the logout, %v before its expiry", time.Until(kept.exp))
		}
		if code != transport.CloseUnauthenticated {
			t.Fatalf("closed %d, want %d", code, transport.CloseUnauthenticated)
		}
	})
}

// refusedWrites is a revocation store whose writes fail (a Redis primary
// refusing writes under min-replicas-to-write), its reads working.
type refusedWrites struct{ ticket.Revocations }

func (refusedWrites) RevokeID(context.Context, ticket.Key, time.Time) error {
	return ticket.ErrStoreUnavailable
}

// TestFailedLogoutKeepsTheCookie: a logout that cannot be recorded answers
// 503 and keeps the session cookie, so that the page can try again; it
// cleared the cookie, and the session it could not end went on.
func TestFailedLogoutKeepsTheCookie(t *testing.T) {
	t.Parallel()
	n := newNode(t, config{})
	n.srv.reg = wsauth.NewRegistry(refusedWrites{n.srv.revs}, nil)
	alice := n.login(t, "alice")
	resp, body := n.post(t, "/api/logout", alice.cookie, "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("logout: %d %s, want 503", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			t.Fatalf("a failed logout (503 %s) set the session cookie: %v", body, c)
		}
	}
}

// firstPublishFails fails its first Publish (a blip on the pub/sub
// connection), the store write before it having succeeded.
type firstPublishFails struct {
	ticket.Bus
	failed atomic.Bool
}

func (b *firstPublishFails) Publish(ctx context.Context, r ticket.Revocation) error {
	if b.failed.CompareAndSwap(false, true) {
		return ticket.ErrStoreUnavailable
	}
	return b.Bus.Publish(ctx, r)
}

// TestRetriedLogoutClosesOtherNodes: a logout whose deny-list write
// succeeded but whose announcement failed answers 503, and the page tries
// again: the retry ends the session's sockets on every node. It found the
// session revoked and announced nothing.
func TestRetriedLogoutClosesOtherNodes(t *testing.T) {
	mr := miniredis.RunT(t)
	newRedisNode := func() (*node, *redis.Client) {
		client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { client.Close() })
		return newNode(t, config{Redis: client}), client
	}
	a, clientA := newRedisNode()
	b, _ := newRedisNode()
	a.srv.reg = wsauth.NewRegistry(a.srv.revs, &firstPublishFails{Bus: redisstore.NewBus(clientA, nil)})
	// The store's revocation list starts before the logins, which are in
	// a later millisecond: it refuses what was issued up to its start, and
	// the nodes' Listens would start it on a goroutine of their own, at a
	// moment of its choosing.
	st, err := a.srv.revs.Check(testCtx(t), [2]ticket.Key{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for !time.Now().Truncate(time.Millisecond).After(st.Since) {
		runtime.Gosched()
	}

	alice, bob := a.login(t, "alice"), a.login(t, "bob")
	aliceOnB := b.mustDial(t, "query", alice, "general") // a ticket socket: no expiry
	aliceOnB.joined()
	bobOnB := b.mustDial(t, "query", bob, "general")
	bobOnB.joined()

	if resp, body := a.post(t, "/api/logout", alice.cookie, ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first logout: %d %s, want 503 (publish failed)", resp.StatusCode, body)
	}
	// The page's retry.
	if resp, body := a.post(t, "/api/logout", alice.cookie, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("retried logout: %d %s", resp.StatusCode, body)
	}
	// bob's logout goes through the same channel after alice's retry: once
	// B has closed bob's socket, it has heard whatever the retry published.
	if resp, body := a.post(t, "/api/logout", bob.cookie, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("bob's logout: %d %s", resp.StatusCode, body)
	}
	if code := bobOnB.closeStatus(); code != transport.CloseUnauthenticated {
		t.Fatalf("bob on B: closed %d", code)
	}
	if code := aliceOnB.closeStatus(); code != transport.CloseUnauthenticated {
		t.Fatalf("alice on B after her retried logout answered 204: closed %d, want 4401", code)
	}
}

// TestRefreshInPlace: a connection authenticated by an access token with a
// lifetime of 3 s is told {"type":"expiring"} ahead of expiry (1.5 s: half
// the lifetime left); the client fetches a new token from /api/token and
// hands it over (a refresh frame, or on /ws/jwt its next envelope), and
// the connection outlives the first token. Each case runs in a
// testing/synctest bubble on a node of its own: the bubble's clock starts
// on a whole second, as exp is, and the expiries pass in its time.
func TestRefreshInPlace(t *testing.T) {
	t.Parallel()
	// memNode is a node inside the calling bubble.
	memNode := func(t *testing.T) *node { return newMemNode(t, config{TokenTTL: 3 * time.Second}) }
	for _, strategy := range []string{"first-message+token", "subprotocol+token", "jwt"} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				n := memNode(t)
				ctx := testCtx(t)
				alice := n.login(t, "alice")
				first := alice.exp
				c := n.mustDial(t, strategy, alice, "general")
				c.joined()
				refreshes := 0
				for refreshes == 0 || !time.Now().After(first) {
					ctl := c.nextControl()
					switch ctl.Type {
					case "expiring":
						if ctl.In < 1 || ctl.In > 3 {
							t.Errorf("expiring in %d s, want 1 to 3", ctl.In)
						}
						alice = n.freshToken(t, alice)
						if c.tc != nil {
							// Per-message: the new token rides on the next
							// frame; an idle client sends an empty one.
							c.tc.SetToken(alice.token)
							if err := c.tc.Write(ctx, json.RawMessage(`{}`)); err != nil {
								t.Fatal(err)
							}
							refreshes++
						} else if err := transport.Refresh(ctx, c.ws, alice.token); err != nil {
							t.Fatal(err)
						}
					case "auth_ok":
						if ctl.Subject != "alice" || !ctl.ExpiresAt.After(first) {
							t.Errorf("auth_ok %+v, want alice, expiring after %v", ctl, first)
						}
						refreshes++
					default:
						t.Fatalf("unexpected control frame %+v", ctl)
					}
				}
				c.say("after the first token's expiry")
				if m := c.waitFor("after the first token's expiry"); m.From != "alice" {
					t.Errorf("got %+v", m)
				}
				t.Logf("%d refreshes", refreshes)
			})
		})
	}

	t.Run("another subject", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := memNode(t)
			c := n.mustDial(t, "first-message+token", n.login(t, "alice"), "general")
			c.joined()
			if err := transport.Refresh(testCtx(t), c.ws, n.login(t, "bob").token); err != nil {
				t.Fatal(err)
			}
			if code := c.closeStatus(); code != transport.CloseForbidden {
				t.Errorf("refresh as bob: close %d, want %d", code, transport.CloseForbidden)
			}
		})
	})

	t.Run("after logout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := memNode(t)
			// A refresh with a token of a session that has logged out is
			// refused, even on a connection the logout did not reach.
			alice := n.login(t, "alice")
			c := n.mustDial(t, "first-message+token", alice, "general")
			c.joined()
			fresh := n.freshToken(t, alice)
			if err := n.srv.reg.RevokeToken(t.Context(), sidOf(t, fresh.token), time.Now().Add(time.Hour), ""); err != nil {
				t.Fatal(err)
			}
			if err := transport.Refresh(testCtx(t), c.ws, fresh.token); err != nil {
				t.Fatal(err)
			}
			if code := c.closeStatus(); code != transport.CloseUnauthenticated {
				t.Errorf("refresh with a logged-out session's token: close %d, want %d", code, transport.CloseUnauthenticated)
			}
		})
	})
}

// sidOf returns the session ID an access token carries.
func sidOf(t *testing.T, token string) string {
	t.Helper()
	v, err := newHS256(testKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(t.Context(), token, wsauth.Peer{})
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := p.Claims["sid"].(string)
	if sid == "" {
		t.Fatal("access token without sid")
	}
	return sid
}

// TestRateLimit: failed authentications from one address are limited over
// all four endpoints together; another address is not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel() // a node of its own
	n := newNode(t, config{AuthFailBurst: 2})
	alice := n.login(t, "alice")
	forged := alice
	for i, want := range []websocket.StatusCode{transport.CloseUnauthenticated, transport.CloseUnauthenticated, transport.CloseTooManyAttempts} {
		// Distinct forgeries: a repeated one is refused as before,
		// without spending more of the budget.
		forged.token = fmt.Sprintf("not.a.token%d", i)
		if _, code := n.dial(t, "first-message+token", forged, "general"); code != want {
			t.Errorf("forged token #%d: close %d, want %d", i+1, code, want)
		}
	}
	// Limited: even a good credential is not looked at, on any endpoint.
	if _, code := n.dial(t, "first-message+token", alice, "general"); code != transport.CloseTooManyAttempts {
		t.Errorf("good token from the limited address: close %d, want %d", code, transport.CloseTooManyAttempts)
	}
	if _, code := n.dial(t, "query", alice, "general"); code != transport.CloseTooManyAttempts {
		t.Errorf("ticket from the limited address: close %d, want %d", code, transport.CloseTooManyAttempts)
	}
	// Another address is not.
	ws, ok, err := n.ts.DialFirstMessage(testCtx(t), "/ws/first-message/general", alice.token, wsauthtest.From(t, "127.0.0.2"))
	if err != nil || ok.Subject != "alice" {
		t.Fatalf("from 127.0.0.2: %v, %+v", err, ok)
	}
	ws.CloseNow()

	t.Run("off", func(t *testing.T) {
		n := newNode(t, config{AuthFailBurst: -1})
		forged := n.login(t, "alice")
		for i := range 20 + 5 {
			forged.token = fmt.Sprintf("not.a.token%d", i)
			if _, code := n.dial(t, "first-message+token", forged, "general"); code != transport.CloseUnauthenticated {
				t.Fatalf("forged token #%d: close %d, want %d", i+1, code, transport.CloseUnauthenticated)
			}
		}
	})
}

// syncBuffer is a bytes.Buffer for a logger written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// readVars returns /debug/vars.
func (n *node) readVars(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(n.ts.HTTP.URL + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/debug/vars: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var vars map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatalf("/debug/vars: %v", err)
	}
	return vars
}

func (n *node) authCounts(t *testing.T) map[string]int64 {
	t.Helper()
	var counts map[string]int64
	if err := json.Unmarshal(n.readVars(t)["wsauth"], &counts); err != nil {
		t.Fatalf("/debug/vars wsauth: %v", err)
	}
	return counts
}

// TestEvents: the wsauth events are counted at /debug/vars, with the
// number of live connections, and logged without any credential.
func TestEvents(t *testing.T) {
	t.Parallel() // a node of its own
	var logs syncBuffer
	n := newNode(t, config{Logger: log.New(&logs, "chat: ", 0)})
	alice, carol := n.login(t, "alice"), n.login(t, "carol")
	before := n.authCounts(t)

	tk := n.ticket(t, alice, "general")
	n.dialTicket(t, "general", tk, nil).joined()
	if _, code := n.dial(t, "first-message+token", carol, "secret"); code != transport.CloseForbidden {
		t.Fatalf("carol in secret: close %d", code)
	}
	alive := n.mustDial(t, "jwt", alice, "general")
	alive.joined()
	n.post(t, "/api/logout", alice.cookie, "")
	alive.closeStatus()

	vars := n.readVars(t)
	if _, ok := vars["cmdline"]; ok {
		t.Error("/debug/vars shows cmdline (a -redis URL may hold a password)")
	}
	if _, ok := vars["chat_connections"]; !ok {
		t.Error("/debug/vars lacks chat_connections")
	}
	after := n.authCounts(t)
	for kind, min := range map[string]int64{"authenticated": 2, "refused/forbidden": 1, "closed/revoked": 2} {
		if d := after[kind] - before[kind]; d < min {
			t.Errorf("%s: counted %d more, want at least %d (%v → %v)", kind, d, min, before, after)
		}
	}

	// The registry's size: one live connection more, then one less.
	var conns int
	live := n.mustDial(t, "first-message+token", carol, "general")
	live.joined()
	json.Unmarshal(n.readVars(t)["chat_connections"], &conns)
	if conns < 1 {
		t.Errorf("chat_connections %d with a live connection", conns)
	}

	out := logs.String()
	secrets := map[string]string{"ticket": tk, "alice's token": alice.token, "carol's token": carol.token, "alice's cookie": alice.cookie}
	// The log is shown only with the secrets cut out of it.
	var cut []string
	for name, secret := range secrets {
		cut = append(cut, secret, "["+name+"]")
	}
	shown := strings.NewReplacer(cut...).Replace(out)
	for _, want := range []string{"authenticated", "refused", "revoked", "subject=alice", "subject=carol"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, shown)
		}
	}
	for name, secret := range secrets {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %s (cut out below, as [%s]):\n%s", name, name, shown)
		}
	}
}

// TestRedisLogout: a logout on node A closes alice's sockets on node B,
// and B refuses her old token through the shared deny list (miniredis).
func TestRedisLogout(t *testing.T) {
	t.Parallel() // nodes and a miniredis of their own
	a, b := twoRedisNodes(t)
	alice, bob := a.login(t, "alice"), a.login(t, "bob")
	aliceOnB := b.mustDial(t, "jwt", alice, "general")
	aliceOnB.joined()
	bobOnB := b.mustDial(t, "first-message+token", bob, "general")
	bobOnB.joined()

	if resp, _ := a.post(t, "/api/logout", alice.cookie, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout on A: %d", resp.StatusCode)
	}
	if ce := aliceOnB.closeError(); ce.Code != transport.CloseUnauthenticated || ce.Reason != logoutReason {
		t.Errorf("alice on B: closed %d %q, want %d %q", ce.Code, ce.Reason, transport.CloseUnauthenticated, logoutReason)
	}
	if _, code := b.dial(t, "first-message+token", alice, "general"); code != transport.CloseUnauthenticated {
		t.Errorf("alice's old token on B: close %d, want %d", code, transport.CloseUnauthenticated)
	}
	if resp, _ := b.post(t, "/api/tickets", alice.cookie, `{"room":"general"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("alice's old cookie on B: %d, want 401", resp.StatusCode)
	}
	bobOnB.joined()
}
