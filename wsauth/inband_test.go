package wsauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func fakeVerifier() *wsauthtest.Verifier {
	return wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"alice-token": {Subject: "alice", Scope: []string{"general"}},
		"alice-2":     {Subject: "alice", Scope: []string{"general"}},
		"bob-token":   {Subject: "bob"},
	})
}

func TestFirstMessage(t *testing.T) {
	ctx := testCtx(t)
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier()}), echo)
	c, ok, err := srv.DialFirstMessage(ctx, "/ws", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if ok.Subject != "alice" {
		t.Fatalf("auth_ok subject %q", ok.Subject)
	}
	if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
		t.Fatalf("echo %q", got)
	}
}

func TestFirstMessageWithTicket(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(ticketOptions(store)), echo)
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "bob"})
	c, ok, err := srv.DialFirstMessage(ctx, "/ws", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	if ok.Subject != "bob" {
		t.Fatalf("subject %q", ok.Subject)
	}
	if _, _, err := srv.DialFirstMessage(ctx, "/ws", id, nil); websocket.CloseStatus(err) != wsauth.CloseUnauthenticated {
		t.Fatalf("replayed ticket: %v, want 4401", err)
	}
}

// rawFirstFrame dials and sends b as the first frame (text unless binary),
// and returns the close code the server answers with.
func rawFirstFrame(t *testing.T, srv *wsauthtest.Server, typ websocket.MessageType, b []byte) websocket.StatusCode {
	t.Helper()
	ctx := testCtx(t)
	c, _, err := websocket.Dial(ctx, srv.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	if err := c.Write(ctx, typ, b); err != nil {
		// The server may close before a large frame is written whole.
		return websocket.CloseStatus(err)
	}
	code, _ := closeCode(t, ctx, c)
	return code
}

func TestFirstMessageRefusals(t *testing.T) {
	a := record(wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier()}))
	srv := wsauthtest.NewServer(t, a, echo)
	for _, tc := range []struct {
		name string
		typ  websocket.MessageType
		b    string
		code websocket.StatusCode
		err  error
	}{
		{"unknown token", websocket.MessageText, `{"type":"auth","token":"mallory"}`, wsauth.CloseUnauthenticated, wsauth.ErrInvalid},
		{"empty token", websocket.MessageText, `{"type":"auth","token":""}`, wsauth.CloseUnauthenticated, wsauth.ErrNoCredential},
		{"not JSON", websocket.MessageText, `auth alice-token`, wsauth.CloseMalformed, wsauth.ErrMalformed},
		{"wrong type", websocket.MessageText, `{"type":"hello","token":"alice-token"}`, wsauth.CloseMalformed, wsauth.ErrMalformed},
		{"binary", websocket.MessageBinary, `{"type":"auth","token":"alice-token"}`, wsauth.CloseMalformed, wsauth.ErrMalformed},
		{"token not a string", websocket.MessageText, `{"type":"auth","token":42}`, wsauth.CloseMalformed, wsauth.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := rawFirstFrame(t, srv, tc.typ, []byte(tc.b)); code != tc.code {
				t.Fatalf("closed with %d, want %d", code, tc.code)
			}
			if err := a.next(t); !errors.Is(err, tc.err) {
				t.Fatalf("refused with %v, want %v", err, tc.err)
			}
		})
	}
}

func TestFirstMessageOversizedFrame(t *testing.T) {
	a := record(wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier()}))
	srv := wsauthtest.NewServer(t, a, echo)
	big := `{"type":"auth","token":"` + strings.Repeat("A", 1<<20) + `"}`
	// The client sees 1009, or a failed write if the server hangs up first.
	if code := rawFirstFrame(t, srv, websocket.MessageText, []byte(big)); code != websocket.StatusMessageTooBig && code != -1 {
		t.Fatalf("1 MiB auth frame: closed with %d, want 1009", code)
	}
	err := a.next(t)
	var e *wsauth.Error
	if !errors.As(err, &e) || e.Code != websocket.StatusMessageTooBig || !errors.Is(err, websocket.ErrMessageTooBig) {
		t.Fatalf("refused with %v, want 1009 from the read limit", err)
	}
}

func TestFirstMessageTimeout(t *testing.T) {
	ctx := testCtx(t)
	a := record(wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier(), AuthTimeout: 100 * time.Millisecond}))
	srv := wsauthtest.NewServer(t, a, echo)
	c, _, err := websocket.Dial(ctx, srv.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	start := time.Now()
	code, reason := closeCode(t, ctx, c)
	if code != wsauth.CloseAuthTimeout {
		t.Fatalf("silent client closed with %d %q, want 4408", code, reason)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("closed after %v; deadline was 100ms", waited)
	}
	if err := a.next(t); !errors.Is(err, wsauth.ErrTimeout) {
		t.Fatalf("refused with %v, want ErrTimeout", err)
	}
}

func TestFirstMessageAuthorizer(t *testing.T) {
	o := &wsauth.Options{
		Verifier: fakeVerifier(),
		Authorizer: func(ctx context.Context, p wsauth.Principal, r *http.Request) error {
			if p.Subject != "alice" {
				return wsauth.ErrForbidden
			}
			return nil
		},
	}
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(o), echo)
	_, _, err := srv.DialFirstMessage(testCtx(t), "/ws", "bob-token", nil)
	if websocket.CloseStatus(err) != wsauth.CloseForbidden {
		t.Fatalf("bob: %v, want 4403", err)
	}
}

func TestPerMessage(t *testing.T) {
	ctx := testCtx(t)
	v := fakeVerifier()
	far := time.Now().Add(time.Hour)
	v.Set("alice-later", wsauth.Principal{Subject: "alice", ExpiresAt: far})
	srv := wsauthtest.NewServer(t, wsauth.PerMessage(&wsauth.Options{Verifier: v}), echo)
	tc, _, err := srv.DialPerMessage(ctx, "/ws", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := tc.Conn()
	defer c.CloseNow()
	read := func() string {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	if err := tc.Write(ctx, json.RawMessage(`{"text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != `alice: {"text":"hi"}` {
		t.Fatalf("first frame echo %q", got)
	}
	tc.SetToken("alice-later")
	if err := tc.WriteBinary(ctx, []byte("bin")); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "alice: bin" {
		t.Fatalf("binary frame echo %q", got)
	}
	// The subject may not change within a connection.
	tc.SetToken("bob-token")
	if err := tc.Write(ctx, json.RawMessage(`1`)); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeCode(t, ctx, c); code != wsauth.CloseForbidden {
		t.Fatalf("subject change closed with %d, want 4403", code)
	}
}

func TestPerMessageInvalidFrame(t *testing.T) {
	for _, drop := range []bool{false, true} {
		name := map[bool]string{false: "close", true: "drop"}[drop]
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			readErr := make(chan error, 1)
			o := &wsauth.Options{Verifier: fakeVerifier(), DropInvalidFrames: drop}
			srv := wsauthtest.NewServer(t, wsauth.PerMessage(o), func(ctx context.Context, c *wsauth.Conn) {
				c.Read(ctx) // the first, valid frame
				_, _, err := c.Read(ctx)
				readErr <- err
				if drop {
					echo(ctx, c)
				}
			})
			tc, _, err := srv.DialPerMessage(ctx, "/ws", "alice-token", nil)
			if err != nil {
				t.Fatal(err)
			}
			c := tc.Conn()
			defer c.CloseNow()
			tc.Write(ctx, json.RawMessage(`1`))
			tc.SetToken("forged")
			tc.Write(ctx, json.RawMessage(`2`))
			err = <-readErr
			var e *wsauth.Error
			if !errors.As(err, &e) || e.Code != wsauth.CloseUnauthenticated || !errors.Is(err, wsauth.ErrInvalid) {
				t.Fatalf("Read of a forged frame: %v", err)
			}
			if !drop {
				if code, _ := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated {
					t.Fatalf("closed with %d, want 4401", code)
				}
				return
			}
			tc.SetToken("alice-token")
			tc.Write(ctx, json.RawMessage(`3`))
			if _, b, err := c.Read(ctx); err != nil || string(b) != "alice: 3" {
				t.Fatalf("after a dropped frame: %q, %v", b, err)
			}
		})
	}
}

func TestPerMessageMalformedFirstFrame(t *testing.T) {
	srv := wsauthtest.NewServer(t, wsauth.PerMessage(&wsauth.Options{Verifier: fakeVerifier()}), echo)
	for name, b := range map[string]string{
		"no data":    `{"token":"alice-token"}`,
		"not JSON":   `alice-token`,
		"no token":   `{"data":1}`,
		"bad binary": "\x00",
	} {
		t.Run(name, func(t *testing.T) {
			typ := websocket.MessageText
			if name == "bad binary" {
				typ = websocket.MessageBinary
			}
			want := wsauth.CloseMalformed
			if name == "no token" {
				want = wsauth.CloseUnauthenticated
			}
			if code := rawFirstFrame(t, srv, typ, []byte(b)); code != want {
				t.Fatalf("closed with %d, want %d", code, want)
			}
		})
	}
}

func TestPerMessageExpiryStopsServerWrites(t *testing.T) {
	ctx := testCtx(t)
	v := fakeVerifier()
	v.Set("short", wsauth.Principal{Subject: "alice", ExpiresAt: time.Now().Add(300 * time.Millisecond)})
	writeErr := make(chan error, 1)
	srv := wsauthtest.NewServer(t, wsauth.PerMessage(&wsauth.Options{Verifier: v}), func(ctx context.Context, c *wsauth.Conn) {
		c.Read(ctx)
		// A pushing server: it writes until the principal expires.
		for {
			if err := c.Write(ctx, websocket.MessageText, []byte("tick")); err != nil {
				writeErr <- err
				return
			}
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				writeErr <- ctx.Err()
				return
			}
		}
	})
	tc, _, err := srv.DialPerMessage(ctx, "/ws", "short", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Conn().CloseNow()
	tc.Write(ctx, json.RawMessage(`0`))
	if code, _ := closeCode(t, ctx, tc.Conn()); code != wsauth.CloseUnauthenticated {
		t.Fatalf("closed with %d, want 4401", code)
	}
	if err := <-writeErr; !errors.Is(err, wsauth.ErrExpired) {
		t.Fatalf("server write after expiry: %v, want ErrExpired", err)
	}
}
