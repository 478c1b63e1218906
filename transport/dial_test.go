package transport

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") }

// closedURL is the address of a listener that no longer accepts, so a dial
// fails with net/http's *url.Error, which quotes the whole URL.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "ws://" + addr + "/ws"
}

func TestDialQuery(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tk, err := FromQuery(r, "")
		if err != nil {
			http.Error(w, "no ticket", http.StatusUnauthorized)
			return
		}
		got <- tk + " " + r.URL.Query().Get("room")
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()

	c, _, err := DialQuery(testCtx(t), wsURL(srv)+"/ws?room=lobby&ticket=stale", secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if g := <-got; g != secret+" lobby" {
		t.Errorf("server saw %q", g)
	}

	_, _, err = DialQuery(testCtx(t), wsURL(srv), "", nil)
	wantErr(t, err, ErrNoCredential)
}

// subprotocolServer accepts with the protocols pick chooses from what the
// client offered, and reports how the client's side ended.
func subprotocolServer(t *testing.T, pick func(offered []string, entry string) []string) (*httptest.Server, chan error) {
	closed := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, offered, err := FromSubprotocol(r.Header)
		if err != nil || cred != secret {
			http.Error(w, "bad credential", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("X-Test") != "1" {
			http.Error(w, "options header not sent", http.StatusBadRequest)
			return
		}
		all := strings.Split(r.Header.Get("Sec-WebSocket-Protocol"), ",")
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: pick(offered, all[len(all)-1])})
		if err != nil {
			return
		}
		_, _, err = c.Read(r.Context())
		closed <- err
		c.CloseNow()
	}))
	t.Cleanup(srv.Close)
	return srv, closed
}

func TestDialSubprotocol(t *testing.T) {
	srv, closed := subprotocolServer(t, func(offered []string, _ string) []string {
		return offered[len(offered)-1:]
	})
	sub := make([]string, 1, 4)
	sub[0] = "chat.v0"
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"X-Test": {"1"}}, Subprotocols: sub}
	before := *opts

	c, _, err := DialSubprotocol(testCtx(t), wsURL(srv), secret, []string{"chat.v2"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != "chat.v0" {
		t.Errorf("Subprotocol() = %q, want chat.v0", c.Subprotocol())
	}
	c.Close(websocket.StatusNormalClosure, "")
	if websocket.CloseStatus(<-closed) != websocket.StatusNormalClosure {
		t.Error("server did not see a normal close")
	}
	// The caller's options, and the arrays behind them, are untouched.
	if opts.HTTPClient != before.HTTPClient || len(opts.HTTPHeader) != 1 || len(opts.Subprotocols) != 1 ||
		&opts.Subprotocols[0] != &before.Subprotocols[0] || slices.ContainsFunc(sub[:4], func(s string) bool { return s != "" && s != "chat.v0" }) {
		t.Errorf("options changed: %+v", opts)
	}

	// Default application protocol when none is given.
	srv2, closed2 := subprotocolServer(t, func(offered []string, _ string) []string { return offered })
	c, _, err = DialSubprotocol(testCtx(t), wsURL(srv2), secret, nil, &websocket.DialOptions{HTTPHeader: http.Header{"X-Test": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != DefaultSubprotocol {
		t.Errorf("Subprotocol() = %q, want %q", c.Subprotocol(), DefaultSubprotocol)
	}
	c.Close(websocket.StatusNormalClosure, "")
	<-closed2
}

func TestDialSubprotocolNotNegotiated(t *testing.T) {
	tests := []struct {
		name string
		pick func(offered []string, entry string) []string
	}{
		{"echoes nothing", func([]string, string) []string { return nil }},
		{"echoes credential", func(_ []string, entry string) []string { return []string{entry} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, closed := subprotocolServer(t, tt.pick)
			opts := &websocket.DialOptions{HTTPHeader: http.Header{"X-Test": {"1"}}}
			c, _, err := DialSubprotocol(testCtx(t), wsURL(srv), secret, []string{"chat"}, opts)
			wantErr(t, err, ErrProtocolNotNegotiated)
			if c != nil {
				t.Error("returned a connection")
			}
			// The client closed the connection it would not use.
			if code := websocket.CloseStatus(<-closed); code != websocket.StatusProtocolError {
				t.Errorf("server saw close code %v, want %v", code, websocket.StatusProtocolError)
			}
		})
	}
}

func TestDialSubprotocolBadInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		cred string
		app  []string
		err  error
	}{
		{"empty credential", "", nil, ErrNoCredential},
		{"bad credential", secret + " ", nil, ErrMalformed},
		{"app not a token", secret, []string{"a b"}, nil},
		{"app is a credential entry", secret, []string{SubprotocolPrefix + secret}, nil},
		{"app empty", secret, []string{""}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DialSubprotocol(testCtx(t), "ws://127.0.0.1:1/", tt.cred, tt.app, nil)
			if err == nil {
				t.Fatal("no error")
			}
			want := tt.err
			if want == nil {
				want = err // any error, as long as it does not leak
			}
			wantErr(t, err, want)
		})
	}
}

// firstMessageServer answers the auth frame: auth_ok for secret, close 4401
// for anything else, or whatever reply returns.
func firstMessageServer(t *testing.T, reply func(c *websocket.Conn, ctl Control) bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(16 << 10)
		_, b, err := c.Read(r.Context())
		if err != nil {
			return
		}
		ctl, err := ParseControl(b)
		if err != nil || ctl.Type != TypeAuth {
			c.Close(4400, "malformed auth message")
			return
		}
		if !reply(c, ctl) {
			return
		}
		c.Read(r.Context()) // until the client closes
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDialFirstMessage(t *testing.T) {
	exp := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	srv := firstMessageServer(t, func(c *websocket.Conn, ctl Control) bool {
		if ctl.Token != secret {
			c.Close(4401, "invalid credential")
			return false
		}
		b, _ := json.Marshal(AuthOK{Subject: "alice", ExpiresAt: exp})
		return c.Write(context.Background(), websocket.MessageText, b) == nil
	})

	c, ok, err := DialFirstMessage(testCtx(t), wsURL(srv), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Subject != "alice" || !ok.ExpiresAt.Equal(exp) {
		t.Errorf("AuthOK = %+v", ok)
	}
	c.Close(websocket.StatusNormalClosure, "")

	_, _, err = DialFirstMessage(testCtx(t), wsURL(srv), secret+"x", nil)
	if code := websocket.CloseStatus(err); code != 4401 {
		t.Fatalf("CloseStatus(%v) = %v, want 4401", err, code)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Reason != "invalid credential" {
		t.Errorf("errors.As CloseError = %+v", ce)
	}
	leakFree(t, err)

	_, _, err = DialFirstMessage(testCtx(t), wsURL(srv), "", nil)
	wantErr(t, err, ErrNoCredential)
}

func TestDialFirstMessageUnexpectedReply(t *testing.T) {
	for _, tt := range []struct {
		name  string
		typ   websocket.MessageType
		reply string
		err   error
	}{
		{"other type", websocket.MessageText, `{"type":"hello"}`, ErrUnexpectedReply},
		{"not JSON", websocket.MessageText, `auth_ok`, ErrMalformed},
		{"binary", websocket.MessageBinary, `{"type":"auth_ok","subject":"a"}`, ErrUnexpectedReply},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := firstMessageServer(t, func(c *websocket.Conn, _ Control) bool {
				return c.Write(context.Background(), tt.typ, []byte(tt.reply)) == nil
			})
			c, _, err := DialFirstMessage(testCtx(t), wsURL(srv), secret, nil)
			wantErr(t, err, tt.err)
			if c != nil {
				t.Error("returned a connection")
			}
		})
	}
}

func TestDialErrorsRedactCredential(t *testing.T) {
	u := closedURL(t)
	_, _, err := DialQuery(testCtx(t), u, secret, nil)
	if err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	leakFree(t, err)
	// The redacted error still unwraps to the network error.
	var ne net.Error
	if !errors.As(err, &ne) {
		t.Errorf("error chain lost: %v", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("expected the URL's ticket to be redacted: %v", err)
	}

	_, _, err = DialSubprotocol(testCtx(t), u, secret, nil, nil)
	leakFree(t, err)
	_, _, err = DialFirstMessage(testCtx(t), u, secret, nil)
	leakFree(t, err)
	_, _, err = DialHeader(testCtx(t), u, secret, nil)
	leakFree(t, err)
	_, _, err = DialPerMessage(testCtx(t), u, secret, []byte(`1`), nil)
	leakFree(t, err)

	// A server that echoes the token in its close reason: the credential
	// is in the lower layer's error text here, unlike for a closed port.
	echo := firstMessageServer(t, func(c *websocket.Conn, ctl Control) bool {
		c.Close(4401, "bad token "+ctl.Token)
		return false
	})
	_, _, err = DialFirstMessage(testCtx(t), wsURL(echo), secret, nil)
	leakFree(t, err)
	if websocket.CloseStatus(err) != 4401 || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("close echoing the token: %v, want close 4401 with the token redacted", err)
	}

	// An HTTP rejection of the handshake.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusForbidden)
	}))
	defer srv.Close()
	_, resp, err := DialQuery(testCtx(t), wsURL(srv), secret, nil)
	leakFree(t, err)
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("response = %v, want 403", resp)
	}
	_, _, err = DialSubprotocol(testCtx(t), wsURL(srv), secret, nil, nil)
	leakFree(t, err)
	_, _, err = DialHeader(testCtx(t), wsURL(srv), secret, nil)
	leakFree(t, err)

	// A server answering with a protocol that was not offered but holds
	// the credential entry: coder/websocket quotes it in its error.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		offered := strings.Split(r.Header.Get("Sec-WebSocket-Protocol"), ",")
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(bw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %sx\r\n\r\n",
			base64.StdEncoding.EncodeToString(sum[:]), strings.TrimSpace(offered[len(offered)-1]))
		bw.Flush()
	}))
	defer bad.Close()
	_, _, err = DialSubprotocol(testCtx(t), wsURL(bad), secret, nil, nil)
	leakFree(t, err)
	if enc := b64.EncodeToString([]byte(secret)); strings.Contains(err.Error(), enc) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("unexpected protocol echoing the credential entry: %v, want it redacted", err)
	}
}

func TestTokenConnAndRefresh(t *testing.T) {
	type frame struct {
		token, data string
		err         error
	}
	frames := make(chan frame, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				close(frames)
				return
			}
			var f frame
			switch {
			case typ == websocket.MessageBinary:
				var p []byte
				f.token, p, f.err = ParseBinaryEnvelope(b)
				f.data = "bin:" + string(p)
			case strings.Contains(string(b), `"type"`):
				var ctl Control
				ctl, f.err = ParseControl(b)
				f.token, f.data = ctl.Token, "ctl:"+ctl.Type
			default:
				var d json.RawMessage
				f.token, d, f.err = ParseEnvelope(b)
				f.data = string(d)
			}
			frames <- f
		}
	}))
	defer srv.Close()
	ctx := testCtx(t)
	c, _, err := websocket.Dial(ctx, wsURL(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := NewTokenConn(c, "tok1")
	if tc.Conn() != c {
		t.Error("Conn() is not the wrapped connection")
	}
	if err := tc.Write(ctx, json.RawMessage(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := tc.WriteBinary(ctx, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := Refresh(ctx, c, "tok2"); err != nil {
		t.Fatal(err)
	}
	tc.SetToken("tok2")
	if err := tc.Write(ctx, json.RawMessage(`"x"`)); err != nil {
		t.Fatal(err)
	}
	want := []frame{{"tok1", `{"n":1}`, nil}, {"tok1", "bin:\x01\x02", nil}, {"tok2", "ctl:refresh", nil}, {"tok2", `"x"`, nil}}
	for _, w := range want {
		if f := <-frames; f != w {
			t.Errorf("server got %+v, want %+v", f, w)
		}
	}

	// Bad input fails before anything is written.
	wantErr(t, tc.Write(ctx, json.RawMessage(`{`)), ErrMalformed)
	wantErr(t, Refresh(ctx, c, ""), ErrNoCredential)
	tc.SetToken(secret + " ")
	wantErr(t, tc.Write(ctx, json.RawMessage(`1`)), ErrMalformed)
	wantErr(t, tc.WriteBinary(ctx, nil), ErrMalformed)

	// SetToken races with writes; every frame carries one whole token.
	tc.SetToken("tokA")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 5 {
				if i == 0 {
					tc.SetToken("tokB")
				}
				if err := tc.Write(ctx, json.RawMessage(`0`)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for range 20 {
		if f := <-frames; f.err != nil || (f.token != "tokA" && f.token != "tokB") {
			t.Errorf("concurrent frame = %+v", f)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
	if _, ok := <-frames; ok {
		t.Error("server got an unexpected frame")
	}
}

func TestDialHeader(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, err := FromAuthorization(r.Header)
		if err != nil {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		got <- cred + " " + r.Header.Get("X-App")
		c, err := websocket.Accept(w, r, nil)
		if err == nil {
			c.CloseNow()
		}
	}))
	defer srv.Close()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"X-App": {"v1"}, "Authorization": {"Basic x"}}}
	c, _, err := DialHeader(testCtx(t), wsURL(srv), jwt, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	if g := <-got; g != jwt+" v1" {
		t.Fatalf("server read %q", g)
	}
	if opts.HTTPHeader.Get("Authorization") != "Basic x" {
		t.Fatal("DialHeader changed the caller's options")
	}
	if _, _, err := DialHeader(testCtx(t), wsURL(srv), "bad token", nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad token: %v", err)
	}
}

// TestDialPerMessageChecksBeforeDialling: a bad token or bad data is an
// error before any connection is made.
func TestDialPerMessageChecksBeforeDialling(t *testing.T) {
	var dialled atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { dialled.Add(1) }))
	defer srv.Close()
	u := "ws" + strings.TrimPrefix(srv.URL, "http")
	for _, tt := range []struct {
		token, data string
	}{
		{"tok", `{"unterminated`},
		{"tok", ``},
		{secret + " ", `1`},
	} {
		if _, _, err := DialPerMessage(testCtx(t), u, tt.token, []byte(tt.data), nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("token %q, data %q: %v, want ErrMalformed", tt.token, tt.data, err)
		}
	}
	if n := dialled.Load(); n != 0 {
		t.Fatalf("%d connections made for frames that could not be sent", n)
	}
}

// TestDialFollowsNoRedirect: a server that answers the handshake with a
// redirect, to another host name or from wss to plain ws, gets no
// credential sent on: no Dial helper follows it (browsers do not either),
// and the dial fails with the 3xx answer. A helper that followed it would
// send the credential in the request (query, subprotocol, header) or in
// its first frame (first-message, per-message) to wherever it pointed.
func TestDialFollowsNoRedirect(t *testing.T) {
	const secret = "alice-secret-token"
	dials := []struct {
		name string
		dial func(ctx context.Context, url string, o *websocket.DialOptions) (*http.Response, error)
	}{
		{"query", func(ctx context.Context, url string, o *websocket.DialOptions) (*http.Response, error) {
			_, resp, err := DialQuery(ctx, url, secret, o)
			return resp, err
		}},
		{"subprotocol", func(ctx context.Context, url string, o *websocket.DialOptions) (*http.Response, error) {
			_, resp, err := DialSubprotocol(ctx, url, secret, nil, o)
			return resp, err
		}},
		{"header", func(ctx context.Context, url string, o *websocket.DialOptions) (*http.Response, error) {
			_, resp, err := DialHeader(ctx, url, secret, o)
			return resp, err
		}},
		{"first-message", func(ctx context.Context, url string, o *websocket.DialOptions) (*http.Response, error) {
			_, _, err := DialFirstMessage(ctx, url, secret, o)
			return nil, err
		}},
		{"per-message", func(ctx context.Context, url string, o *websocket.DialOptions) (*http.Response, error) {
			_, _, err := DialPerMessage(ctx, url, secret, json.RawMessage(`1`), o)
			return nil, err
		}},
	}
	// target would accept the handshake and read one frame: it must see
	// nothing at all.
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{DefaultSubprotocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Read(r.Context())
	}))
	defer target.Close()
	redirectTo := func(to string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to+"/", http.StatusFound)
		})
	}
	otherHost := httptest.NewServer(redirectTo(strings.Replace(target.URL, "127.0.0.1", "localhost", 1)))
	defer otherHost.Close()
	downgrade := httptest.NewTLSServer(redirectTo(target.URL))
	defer downgrade.Close()
	servers := []struct {
		name, url string
		opts      *websocket.DialOptions
	}{
		{"another host", wsURL(otherHost), nil},
		{"wss to ws", "wss" + strings.TrimPrefix(downgrade.URL, "https"), &websocket.DialOptions{HTTPClient: downgrade.Client()}},
	}
	for _, srv := range servers {
		for _, d := range dials {
			t.Run(srv.name+"/"+d.name, func(t *testing.T) {
				resp, err := d.dial(testCtx(t), srv.url, srv.opts)
				if err == nil {
					t.Fatal("the dial succeeded")
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error holds the credential: %v", err)
				}
				if resp != nil && resp.StatusCode != http.StatusFound {
					t.Fatalf("answered %d, want the redirect's 302", resp.StatusCode)
				}
				if n := reached.Load(); n != 0 {
					t.Fatalf("the redirect was followed: its target got %d requests", n)
				}
			})
		}
	}
}
