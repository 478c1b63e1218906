package wsauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// eventLog records the events of a server for a test to wait on.
type eventLog struct {
	ch chan wsauth.Event
}

func newEventLog() *eventLog { return &eventLog{ch: make(chan wsauth.Event, 256)} }

func (l *eventLog) hook(_ context.Context, e wsauth.Event) { l.ch <- e }

// next waits for the next event of kind k, skipping others.
func (l *eventLog) next(t *testing.T, k wsauth.EventKind) wsauth.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-l.ch:
			if e.Kind == k {
				return e
			}
		case <-timeout:
			t.Fatalf("no %v event", k)
			return wsauth.Event{}
		}
	}
}

func TestEvents(t *testing.T) {
	ctx := testCtx(t)
	log := newEventLog()
	v := fakeVerifier()
	o := &wsauth.Options{Verifier: v, Events: log.hook}
	mux := http.NewServeMux()
	mux.Handle("/q", wsauth.Handler(wsauth.Query(o), echo))
	mux.Handle("/first", wsauth.Handler(wsauth.FirstMessage(o), echo))
	srv := wsauthtest.NewHandlerServer(t, mux)

	c, _, err := srv.DialQuery(ctx, "/q", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	e := log.next(t, wsauth.EventAuthenticated)
	if e.Strategy != "query" || e.Subject != "alice" || e.Addr.String() != "127.0.0.1" || e.Err != nil {
		t.Errorf("authenticated event %+v", e)
	}

	if _, _, err := srv.DialQuery(ctx, "/q", "forged-token", nil); err == nil {
		t.Fatal("forged token accepted")
	}
	e = log.next(t, wsauth.EventRefused)
	if e.Status != http.StatusUnauthorized || e.Subject != "" || !errors.Is(e.Err, wsauth.ErrInvalid) {
		t.Errorf("refused event %+v", e)
	}

	if _, _, err := srv.DialFirstMessage(ctx, "/first", "forged-token", nil); websocket.CloseStatus(err) != wsauth.CloseUnauthenticated {
		t.Fatalf("forged first message: %v", err)
	}
	e = log.next(t, wsauth.EventRefused)
	if e.Strategy != "first_message" || e.Status != 0 || e.Code != wsauth.CloseUnauthenticated {
		t.Errorf("in-band refused event %+v", e)
	}

	v.Set("short-lived", wsauth.Principal{Subject: "carol", ExpiresAt: time.Now().Add(time.Second)})
	c2, _, err := srv.DialFirstMessage(ctx, "/first", "short-lived", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	log.next(t, wsauth.EventAuthenticated)
	e = log.next(t, wsauth.EventExpired)
	if e.Subject != "carol" || e.Code != wsauth.CloseUnauthenticated || !errors.Is(e.Err, wsauth.ErrExpired) {
		t.Errorf("expired event %+v", e)
	}
}

func TestEventsPanickingHook(t *testing.T) {
	ctx := testCtx(t)
	o := &wsauth.Options{Verifier: fakeVerifier(), Events: func(context.Context, wsauth.Event) { panic("hook") }}
	srv := wsauthtest.NewServer(t, wsauth.Query(o), echo)
	c, _, err := srv.DialQuery(ctx, "/", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
		t.Fatalf("echo %q", got)
	}
}

func TestSlogEvents(t *testing.T) {
	var buf syncBuffer
	hook := wsauth.SlogEvents(slog.New(slog.NewTextHandler(&buf, nil)))
	ctx := context.Background()
	hook(ctx, wsauth.Event{Kind: wsauth.EventRefused, Strategy: "query", Status: 401, Err: fmt.Errorf("%w: exp", wsauth.ErrExpired)})
	hook(ctx, wsauth.Event{Kind: wsauth.EventAuthenticated, Strategy: "query", Subject: "alice"})
	out := buf.String()
	for _, want := range []string{
		`level=WARN msg="wsauth: refused" strategy=query status=401 err="wsauth: credential expired: exp"`,
		`level=INFO msg="wsauth: authenticated" strategy=query subject=alice`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestCounters(t *testing.T) {
	var c wsauth.Counters
	c.Observe(context.Background(), wsauth.Event{Kind: wsauth.EventRefused})
	c.Observe(context.Background(), wsauth.Event{Kind: wsauth.EventRefused})
	c.Observe(context.Background(), wsauth.Event{Kind: wsauth.EventRevoked})
	c.Observe(context.Background(), wsauth.Event{Kind: 99})
	if n := c.Count(wsauth.EventRefused); n != 2 {
		t.Fatalf("refused %d", n)
	}
	var m map[string]int64
	if err := json.Unmarshal([]byte(c.String()), &m); err != nil {
		t.Fatal(err)
	}
	if m["refused"] != 2 || m["revoked"] != 1 || m["authenticated"] != 0 || len(m) != 6 {
		t.Fatalf("expvar form %s", c.String())
	}
}

func TestEventKindString(t *testing.T) {
	if s := wsauth.EventRateLimited.String(); s != "rate_limited" {
		t.Fatal(s)
	}
	if s := wsauth.EventKind(42).String(); s != "EventKind(42)" {
		t.Fatal(s)
	}
}

// Frames after the first in per-message mode are attempts too: a forged
// one is reported and spends the address's failure budget, a newer token
// is reported as a refresh.
func TestPerMessageFrameEvents(t *testing.T) {
	ctx := testCtx(t)
	log := newEventLog()
	v := fakeVerifier()
	v.Set("alice-later", wsauth.Principal{Subject: "alice", ExpiresAt: time.Now().Add(time.Hour)})
	lim := wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 2, Every: time.Hour})
	o := &wsauth.Options{Verifier: v, Events: log.hook, Limiter: lim, DropInvalidFrames: true}
	srv := wsauthtest.NewServer(t, wsauth.PerMessage(o), func(ctx context.Context, c *wsauth.Conn) {
		for {
			_, _, err := c.Read(ctx)
			var dropped *wsauth.Error
			if err != nil && !errors.As(err, &dropped) {
				return
			}
		}
	})
	tc, _, err := srv.DialPerMessage(ctx, "/", "alice-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Conn().CloseNow()
	tc.Write(ctx, json.RawMessage(`0`))
	log.next(t, wsauth.EventAuthenticated)

	tc.SetToken("alice-later")
	tc.Write(ctx, json.RawMessage(`1`))
	if e := log.next(t, wsauth.EventRefreshed); e.Subject != "alice" {
		t.Fatalf("refresh event for %q", e.Subject)
	}
	for range 2 {
		tc.SetToken("forged")
		tc.Write(ctx, json.RawMessage(`2`))
		if e := log.next(t, wsauth.EventRefused); !errors.Is(e.Err, wsauth.ErrInvalid) || e.Code != wsauth.CloseUnauthenticated {
			t.Fatalf("refused frame event: %+v", e)
		}
	}
	// The two forged frames spent the budget: a new attempt from this
	// address is refused before its credential is looked at.
	_, _, err = srv.DialFirstMessage(ctx, "/", "alice-token", nil)
	if err == nil {
		t.Fatal("rate-limited address accepted")
	}
	if got := websocket.CloseStatus(err); got != wsauth.CloseTooManyAttempts {
		t.Fatalf("after forged frames: %v, want 4429", err)
	}
}
