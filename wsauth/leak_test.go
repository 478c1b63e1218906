package wsauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writers of a server.
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

// TestCredentialsNeverLeak drives every strategy through accepted and
// refused handshakes with recognisable credentials, and searches all that
// the library logs, returns as errors, answers in headers and bodies, and
// sends as close reasons.
func TestCredentialsNeverLeak(t *testing.T) {
	var out syncBuffer
	log.SetOutput(&out)
	oldSlog := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&out, nil)))
	t.Cleanup(func() { log.SetOutput(os.Stderr); slog.SetDefault(oldSlog) })

	store := memstore.New(nil)
	iss := &ticket.Issuer{Store: store}
	valid := func() string {
		id, _, err := iss.Issue(context.Background(), ticket.Ticket{Subject: "alice", Scope: []string{"general"}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var secrets []string
	secret := func(s string) string { secrets = append(secrets, s); return s }

	var errsMu sync.Mutex
	var errs []string
	o := &wsauth.Options{
		Verifier: wsauth.Tickets(&ticket.Redeemer{Store: store}),
		Scope:    func(r *http.Request) string { return r.PathValue("room") },
		Events:   wsauth.SlogEvents(nil), // into the captured slog.Default
	}
	browser := *o
	browser.RejectAfterUpgrade = true
	mux := http.NewServeMux()
	handle := func(path string, a wsauth.Authenticator) {
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := a.Accept(w, r)
			if err != nil {
				errsMu.Lock()
				errs = append(errs, err.Error())
				errsMu.Unlock()
				return
			}
			defer c.CloseNow()
			echo(r.Context(), c)
		}))
	}
	handle("/query/{room}", wsauth.Query(o))
	handle("/query-b/{room}", wsauth.Query(&browser))
	handle("/sub/{room}", wsauth.Subprotocol(o))
	handle("/sub-b/{room}", wsauth.Subprotocol(&browser))
	handle("/first/{room}", wsauth.FirstMessage(o))
	handle("/per/{room}", wsauth.PerMessage(o))
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.ErrorLog = log.New(&out, "", 0)
	hs.Start()
	t.Cleanup(hs.Close)
	base := "ws" + strings.TrimPrefix(hs.URL, "http")

	var seen syncBuffer // everything the client side received
	note := func(resp *http.Response, err error) {
		if err != nil {
			seen.Write([]byte(err.Error() + "\n"))
		}
		if resp != nil {
			for k, vs := range resp.Header {
				seen.Write([]byte(k + ": " + strings.Join(vs, ",") + "\n"))
			}
			if resp.Body != nil {
				b, _ := io.ReadAll(resp.Body)
				seen.Write(b)
			}
		}
	}
	drain := func(ctx context.Context, c *websocket.Conn) {
		for {
			_, b, err := c.Read(ctx)
			seen.Write(b)
			if err != nil {
				seen.Write([]byte(err.Error() + "\n"))
				return
			}
		}
	}
	ctx := testCtx(t)
	for _, path := range []string{"/query/general", "/query-b/general", "/query/secret"} {
		for _, cred := range []string{valid(), secret(valid()), secret("Zm9vYmFyYmF6" + strings.Repeat("Q", 31)), secret("not-a-ticket-SECRET1")} {
			c, resp, err := websocket.Dial(ctx, base+path+"?ticket="+url.QueryEscape(cred), nil)
			note(resp, err)
			if c != nil {
				c.Write(ctx, websocket.MessageText, []byte("x"))
				c.Close(websocket.StatusNormalClosure, "")
				drain(ctx, c)
			}
		}
	}
	for _, path := range []string{"/sub/general", "/sub-b/general"} {
		for _, cred := range []string{secret("SECRET2-subprotocol"), secret(valid())} {
			opts := &websocket.DialOptions{Subprotocols: []string{"wsauth", transport.SubprotocolPrefix + base64.RawURLEncoding.EncodeToString([]byte(cred))}}
			c, resp, err := websocket.Dial(ctx, base+path, opts)
			note(resp, err)
			if c != nil {
				drain(ctx, c)
			}
		}
	}
	for _, path := range []string{"/first/general", "/per/general"} {
		for _, cred := range []string{secret("SECRET3-first-frame"), secret(valid())} {
			c, resp, err := websocket.Dial(ctx, base+path, nil)
			note(resp, err)
			if c == nil {
				continue
			}
			frame, _ := json.Marshal(map[string]any{"type": "auth", "token": cred, "data": 1})
			c.Write(ctx, websocket.MessageText, frame)
			drain(ctx, c)
		}
	}

	errsMu.Lock()
	all := strings.Join(errs, "\n")
	errsMu.Unlock()
	if len(errs) == 0 {
		t.Fatal("no refusals recorded; the test exercised nothing")
	}
	for _, s := range secrets {
		for where, text := range map[string]string{"log": out.String(), "errors": all, "client side": seen.String()} {
			for _, form := range []string{s, url.QueryEscape(s), base64.RawURLEncoding.EncodeToString([]byte(s))} {
				if strings.Contains(text, form) {
					t.Errorf("a credential appears in the %s:\n%s", where, text)
				}
			}
		}
	}
}
