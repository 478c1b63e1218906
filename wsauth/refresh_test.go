package wsauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// nextFrame reads the next frame from c, skipping expiring notices unless
// they are wanted, and returns its type field and the frame.
func nextFrame(t *testing.T, ctx context.Context, c *websocket.Conn, notices bool) (string, []byte) {
	t.Helper()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var f struct {
			Type string `json:"type"`
		}
		json.Unmarshal(b, &f)
		if f.Type == transport.TypeExpiring && !notices {
			continue
		}
		return f.Type, b
	}
}

// A refresh extends the connection past the first credential's expiry.
func TestRefreshExtendsConnection(t *testing.T) {
	ctx := testCtx(t)
	v := fakeVerifier()
	log := newEventLog()
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: v, Events: log.hook}), echo)

	first := time.Now().Add(time.Second)
	v.Set("a1", wsauth.Principal{Subject: "alice", ExpiresAt: first})
	v.Set("a2", wsauth.Principal{Subject: "alice", ExpiresAt: time.Now().Add(time.Minute)})
	c, _, err := srv.DialFirstMessage(ctx, "/", "a1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := transport.Refresh(ctx, c, "a2"); err != nil {
		t.Fatal(err)
	}
	typ, b := nextFrame(t, ctx, c, false)
	var ok transport.AuthOK
	if err := ok.UnmarshalJSON(b); err != nil || typ != transport.TypeAuthOK {
		t.Fatalf("answer to refresh: %s (%v)", b, err)
	}
	if ok.Subject != "alice" || ok.ExpiresAt.Before(first.Add(time.Second)) {
		t.Fatalf("auth_ok %+v", ok)
	}
	if e := log.next(t, wsauth.EventRefreshed); e.Subject != "alice" || e.Strategy != "first_message" {
		t.Errorf("refreshed event %+v", e)
	}
	// Keep talking until well past the first credential's expiry.
	for n := 0; time.Now().Before(first.Add(300*time.Millisecond)) || n < 3; n++ {
		if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatalf("write after %d round trips: %v", n, err)
		}
		if _, got := nextFrame(t, ctx, c, false); string(got) != "alice: hi" {
			t.Fatalf("echo %q", got)
		}
	}
}

func TestRefreshRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame string
		want  websocket.StatusCode
	}{
		{"another subject", `{"type":"refresh","token":"bob-token"}`, wsauth.CloseForbidden},
		{"invalid", `{"type":"refresh","token":"forged"}`, wsauth.CloseUnauthenticated},
		{"no token", `{"type":"refresh"}`, wsauth.CloseUnauthenticated},
		{"token not a string", `{"type":"refresh","token":5}`, wsauth.CloseMalformed},
		{"duplicate token", `{"type":"refresh","token":"alice-2","token":"alice-2"}`, wsauth.CloseMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			log := newEventLog()
			srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier(), Events: log.hook}), echo)
			c, _, err := srv.DialFirstMessage(ctx, "/", "alice-token", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := c.Write(ctx, websocket.MessageText, []byte(tc.frame)); err != nil {
				t.Fatal(err)
			}
			if code, _ := closeCode(t, ctx, c); code != tc.want {
				t.Fatalf("close %v, want %v", code, tc.want)
			}
			if e := log.next(t, wsauth.EventRefused); e.Subject != "alice" || e.Code != tc.want {
				t.Errorf("refused event %+v", e)
			}
		})
	}
}

// A subject change is refused even when the new credential is valid, and
// the handler's Read says why.
func TestRefreshSubjectChangedError(t *testing.T) {
	ctx := testCtx(t)
	errs := make(chan error, 1)
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier()}), func(ctx context.Context, c *wsauth.Conn) {
		_, _, err := c.Read(ctx)
		errs <- err
	})
	c, _, err := srv.DialFirstMessage(ctx, "/", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	transport.Refresh(ctx, c, "bob-token")
	closeCode(t, ctx, c)
	if err := <-errs; !errors.Is(err, wsauth.ErrSubjectChanged) {
		t.Fatalf("Read: %v, want ErrSubjectChanged", err)
	}
}

// Frames that only look like refreshes reach the handler.
func TestRefreshLookalikesDelivered(t *testing.T) {
	ctx := testCtx(t)
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: fakeVerifier()}), echo)
	c, _, err := srv.DialFirstMessage(ctx, "/", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, msg := range []string{
		`{"text":"refresh"}`,
		`{"type":"message","text":"refresh"}`,
		`"refresh"`,
		`{"type":"refresh"` + strings.Repeat(" ", transport.MaxFrameLen) + `}`,
	} {
		if got := roundTrip(t, ctx, c, msg); got != "alice: "+msg {
			t.Fatalf("echo of %.40q: %.40q", msg, got)
		}
	}
}

// Query and Subprotocol leave frames to the application unless
// Options.Refresh is set.
func TestRefreshHandshakeOptIn(t *testing.T) {
	ctx := testCtx(t)
	frame := `{"type":"refresh","token":"alice-2"}`

	off := wsauthtest.NewServer(t, wsauth.Query(&wsauth.Options{Verifier: fakeVerifier()}), echo)
	c, _, err := off.DialQuery(ctx, "/", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := roundTrip(t, ctx, c, frame); got != "alice: "+frame {
		t.Fatalf("without Refresh: %q", got)
	}

	on := wsauthtest.NewServer(t, wsauth.Subprotocol(&wsauth.Options{Verifier: fakeVerifier(), Refresh: true}), echo)
	c2, _, err := on.DialSubprotocol(ctx, "/", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	if err := c2.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	if typ, b := nextFrame(t, ctx, c2, false); typ != transport.TypeAuthOK {
		t.Fatalf("with Refresh: %s", b)
	}
	if got := roundTrip(t, ctx, c2, "after"); got != "alice: after" {
		t.Fatalf("echo after refresh %q", got)
	}
}

// The expiring notice arrives ahead of the expiry, then the close.
func TestExpiringNotice(t *testing.T) {
	for _, tc := range []struct {
		name   string
		notice time.Duration
		life   time.Duration
	}{
		{"half the lifetime", 0, 2 * time.Second},
		{"configured", 500 * time.Millisecond, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			v := fakeVerifier()
			srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: v, ExpiryNotice: tc.notice}), echo)
			exp := time.Now().Add(tc.life)
			v.Set("short", wsauth.Principal{Subject: "alice", ExpiresAt: exp})
			c, _, err := srv.DialFirstMessage(ctx, "/", "short", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			typ, b := nextFrame(t, ctx, c, true)
			got := time.Now()
			var e transport.Expiring
			if err := e.UnmarshalJSON(b); err != nil || typ != transport.TypeExpiring {
				t.Fatalf("first frame %s (%v), want an expiring notice", b, err)
			}
			if !got.Before(exp) {
				t.Fatalf("notice arrived %v after the expiry", got.Sub(exp))
			}
			if e.In <= 0 || e.In > tc.life {
				t.Fatalf("notice says %v", e.In)
			}
			if tc.notice > 0 && exp.Sub(got) > tc.notice+200*time.Millisecond {
				t.Fatalf("notice %v early", exp.Sub(got))
			}
			if code, _ := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated {
				t.Fatalf("close %v, want 4401", code)
			}
		})
	}
}

func TestExpiringNoticeOff(t *testing.T) {
	ctx := testCtx(t)
	v := fakeVerifier()
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(&wsauth.Options{Verifier: v, ExpiryNotice: -1}), echo)
	v.Set("short", wsauth.Principal{Subject: "alice", ExpiresAt: time.Now().Add(time.Second)})
	c, _, err := srv.DialFirstMessage(ctx, "/", "short", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	if err == nil {
		t.Fatalf("got %s, want only the close", b)
	}
	if code := websocket.CloseStatus(err); code != wsauth.CloseUnauthenticated {
		t.Fatalf("close %v", code)
	}
}

// Per-message connections are warned too, and refresh with a fresher
// token on their next frame.
func TestPerMessageNoticeAndRefresh(t *testing.T) {
	ctx := testCtx(t)
	v := fakeVerifier()
	srv := wsauthtest.NewServer(t, wsauth.PerMessage(&wsauth.Options{Verifier: v}), echo)
	first := time.Now().Add(1500 * time.Millisecond)
	v.Set("p1", wsauth.Principal{Subject: "alice", ExpiresAt: first})
	v.Set("p2", wsauth.Principal{Subject: "alice", ExpiresAt: time.Now().Add(time.Minute)})
	tc, _, err := srv.DialPerMessage(ctx, "/", "p1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Conn().CloseNow()
	if err := tc.Write(ctx, json.RawMessage(`1`)); err != nil {
		t.Fatal(err)
	}
	if _, b := nextFrame(t, ctx, tc.Conn(), false); string(b) != "alice: 1" {
		t.Fatalf("echo %s", b)
	}
	if typ, b := nextFrame(t, ctx, tc.Conn(), true); typ != transport.TypeExpiring {
		t.Fatalf("%s, want an expiring notice", b)
	}
	tc.SetToken("p2")
	for n := 0; time.Now().Before(first.Add(200*time.Millisecond)) || n < 3; n++ {
		if err := tc.Write(ctx, json.RawMessage(`2`)); err != nil {
			t.Fatal(err)
		}
		if _, b := nextFrame(t, ctx, tc.Conn(), false); string(b) != "alice: 2" {
			t.Fatalf("echo %s", b)
		}
	}
}

func TestExpiringFrameRoundTrip(t *testing.T) {
	b, _ := transport.Expiring{In: 1500 * time.Millisecond}.MarshalJSON()
	if string(b) != `{"type":"expiring","in":2}` {
		t.Fatalf("%s", b)
	}
	var e transport.Expiring
	if err := e.UnmarshalJSON(b); err != nil || e.In != 2*time.Second {
		t.Fatalf("%v %v", e, err)
	}
	for _, bad := range []string{`{"type":"expiring"}`, `{"type":"expiring","in":-1}`, `{"type":"auth_ok","in":1}`, `x`} {
		if err := e.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// Refused refreshes put their credential in no event, log line, error or
// close reason.
func TestRefreshNeverLeaks(t *testing.T) {
	ctx := testCtx(t)
	var logs syncBuffer
	slogHook := wsauth.SlogEvents(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var events syncBuffer
	errs := make(chan error, 8)
	o := &wsauth.Options{Verifier: fakeVerifier(), Events: func(ctx context.Context, e wsauth.Event) {
		slogHook(ctx, e)
		fmt.Fprintf(&events, "%+v\n", e)
	}}
	srv := wsauthtest.NewServer(t, wsauth.FirstMessage(o), func(ctx context.Context, c *wsauth.Conn) {
		_, _, err := c.Read(ctx)
		errs <- err
	})
	secrets := []string{"SECRET-refresh-1", "SECRET-refresh-2"}
	frames := []string{
		`{"type":"refresh","token":"` + secrets[0] + `"}`,
		`{"type":"refresh","token":"` + secrets[1] + `","token":"x"}`,
	}
	var seen []string
	for _, f := range frames {
		c, _, err := srv.DialFirstMessage(ctx, "/", "alice-token", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(ctx, websocket.MessageText, []byte(f))
		code, reason := closeCode(t, ctx, c)
		seen = append(seen, fmt.Sprint(code, reason), (<-errs).Error())
		c.CloseNow()
	}
	all := strings.Join(append(seen, logs.String(), events.String()), "\n")
	if !strings.Contains(logs.String(), "refused") {
		t.Fatalf("nothing logged:\n%s", all)
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Fatalf("a refresh credential leaked:\n%s", all)
		}
	}
}
