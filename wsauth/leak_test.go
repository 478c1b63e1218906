package wsauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
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
// refused attempts with recognisable tickets and JWTs, over real loopback,
// and searches everything the library logs (log, slog, SlogEvents at debug
// level), returns as errors, answers in headers and bodies, and sends as
// close reasons. It also counts the server's events, so that an attempt
// that never reached the server cannot pass for one that was refused
// without a leak.
func TestCredentialsNeverLeak(t *testing.T) {
	var out syncBuffer
	log.SetOutput(&out)
	old := slog.Default()
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	slog.SetDefault(logger)
	t.Cleanup(func() { log.SetOutput(os.Stderr); slog.SetDefault(old) })

	store := memstore.New(nil)
	signer := wsauthtest.NewSigner()
	var secrets []string
	secret := func(s string) string { secrets = append(secrets, s); return s }
	ticketFor := func() string { return secret(wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})) }

	var ev events
	var errMu sync.Mutex
	var texts []string
	note := func(s string) {
		errMu.Lock()
		texts = append(texts, s)
		errMu.Unlock()
	}
	opts := &wsauth.Options{Events: func(ctx context.Context, e wsauth.Event) {
		ev.hook(ctx, e)
		wsauth.SlogEvents(logger)(ctx, e)
	}, Limiter: wsauth.NewLimiter(0, 0)}
	tickets := wsauth.Tickets(&ticket.Redeemer{Store: store}, nil)
	jwts := signer.Verifier(t, nil)

	mux := http.NewServeMux()
	handled := make(chan struct{}, 1000)
	mount := func(path string, v wsauth.Verifier, rt route) {
		a := wsauth.New(v, rt.strategy, opts)
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() { handled <- struct{}{} }()
			c, err := a.Accept(w, r)
			if err != nil {
				note(err.Error())
				return
			}
			// Close, not CloseNow: after a refusal of ours it sends that
			// refusal's close frame.
			defer c.Close(websocket.StatusNormalClosure, "")
			for {
				m, err := c.Read(r.Context())
				if err != nil {
					note(err.Error()) // a later credential's refusal, too
					return
				}
				if err := c.Write(r.Context(), websocket.MessageText, m.Data); err != nil {
					note(err.Error())
					return
				}
			}
		}))
	}
	for _, rt := range allRoutes {
		mount("/ticket/"+rt.name, tickets, rt)
		mount("/jwt/"+rt.name, jwts, rt)
	}
	base := loopback(t, mux)

	accepted, refused := 0, 0
	try := func(path string, rt route, cred string, want bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, o := rt.dial(ctx, base+path, cred, nil)
		if o.err != nil {
			note(o.err.Error())
		}
		if (c != nil) != want {
			t.Errorf("%s %s: accepted %v, want %v (%v)", path, rt.name, c != nil, want, o)
		}
		if c == nil {
			refused++
			return
		}
		accepted++
		if rt.name == "per_message" {
			c.Read(ctx) // the echo of the first frame
		}
		c.Close(websocket.StatusNormalClosure, "")
		_, _, err := c.Read(ctx)
		note(fmt.Sprint(err))
	}
	// Later credentials, on the routes that take them: a refresh frame
	// (and, per message, an envelope) with a forged token closes the
	// connection with a refusal that must not show it either.
	laterRefused := 0
	later := func(rt route) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, o := rt.dial(ctx, base+"/jwt/"+rt.name, secret(signer.Token(t, "alice", time.Minute, nil)), nil)
		if c == nil {
			t.Errorf("%s: the first token refused: %v", rt.name, o)
			return
		}
		accepted++
		defer c.CloseNow()
		if rt.name == perMessageRoute.name {
			c.Read(ctx) // the echo of the first frame
		}
		forged := secret(wsauthtest.NewSigner().Token(t, "alice", time.Hour, nil))
		frame, _ := transport.AppendControl(nil, transport.TypeRefresh, forged)
		if rt.name == perMessageRoute.name && laterRefused%2 == 1 {
			frame, _ = transport.AppendEnvelope(nil, forged, []byte(`"x"`))
		}
		if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
			t.Fatal(err)
		}
		code, reason := closeOf(ctx, c)
		note(reason)
		if code != transport.CloseUnauthenticated {
			t.Errorf("%s: a forged later token closed with %v %q, want 4401", rt.name, code, reason)
		}
		laterRefused++
	}
	for _, rt := range inBandRoutes {
		later(rt)
	}
	later(perMessageRoute) // the second time, in an envelope
	for _, rt := range allRoutes {
		tk := ticketFor()
		try("/ticket/"+rt.name, rt, tk, true)
		try("/ticket/"+rt.name, rt, tk, false) // replayed
		try("/ticket/"+rt.name, rt, secret(strings.Repeat("Q", ticket.IDLen)), false)
		try("/jwt/"+rt.name, rt, secret(signer.Token(t, "alice", time.Minute, nil)), true)
		try("/jwt/"+rt.name, rt, secret(signer.Token(t, "alice", -time.Minute, nil)), false)
		try("/jwt/"+rt.name, rt, secret(wsauthtest.NewSigner().Token(t, "alice", time.Minute, nil)), false)
	}
	// Raw answers of refused handshakes: status line, headers and body.
	for _, path := range []string{"/ticket/query", "/jwt/query"} {
		u := strings.Replace(base, "ws", "http", 1) + path + "?ticket=" + url.QueryEscape(secret("SECRET-in-a-raw-request"))
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		note(fmt.Sprint(resp.Header) + string(body))
		refused++
	}
	http.DefaultClient.CloseIdleConnections()

	// Every attempt reached the server and its handler is done.
	timeout := time.After(10 * time.Second)
	for range accepted + refused {
		select {
		case <-handled:
		case <-timeout:
			t.Fatal("not every attempt reached a handler")
		}
	}
	if got := len(ev.of(wsauth.EventAuthenticated)); got != accepted {
		t.Errorf("server authenticated %d connections, clients %d", got, accepted)
	}
	if got := len(ev.of(wsauth.EventRefused)); got != refused+laterRefused {
		t.Errorf("server refused %d attempts and later credentials, clients saw %d refusals", got, refused+laterRefused)
	}
	for _, e := range ev.of(wsauth.EventRefused) {
		if e.Err != nil {
			note(e.Err.Error())
		}
	}
	all := out.String() + strings.Join(texts, "\n")
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), base64.RawURLEncoding.EncodeToString([]byte(s))} {
			if len(form) >= 8 && strings.Contains(all, form) {
				t.Fatalf("a credential leaked (cut out below, as [credential]):\n%s", strings.ReplaceAll(all, form, "[credential]"))
			}
		}
	}
	if accepted < 2*len(allRoutes) {
		t.Fatalf("only %d attempts accepted", accepted)
	}
}
