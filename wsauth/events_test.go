package wsauth_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// TestEventsHookPanicIsReportedOnce: a panicking hook takes no connection
// down, and its first panic is logged through log/slog.
func TestEventsHookPanicIsReportedOnce(t *testing.T) {
	var logs syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.FirstMessage{}, &wsauth.Options{Events: func(context.Context, wsauth.Event) {
			panic("metrics exploded")
		}})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for range 3 {
			c, _, err := transport.DialFirstMessage(ctx, vURL, "alice-token", n.opts())
			if err != nil {
				t.Fatal(err)
			}
			if got := roundTrip(t, ctx, c, "x"); got != "alice: x" {
				t.Fatalf("echo %q", got)
			}
			c.Close(websocket.StatusNormalClosure, "")
			dialFirst(ctx, vURL, "mallory", n.opts())
		}
		synctest.Wait()
	})
	if n := strings.Count(logs.String(), "metrics exploded"); n != 1 {
		t.Fatalf("the panic was logged %d times:\n%s", n, logs.String())
	}
}

func TestSlogEvents(t *testing.T) {
	var buf bytes.Buffer
	hook := wsauth.SlogEvents(slog.New(slog.NewTextHandler(&buf, nil)))
	hook(context.Background(), wsauth.Event{Kind: wsauth.EventRefused, Reason: "expired", Subject: "alice", Code: 4401, Err: wsauth.ErrExpired})
	hook(context.Background(), wsauth.Event{Kind: wsauth.EventClosed, Reason: "gone", Subject: "bob", Code: 1000})
	got := buf.String()
	for _, want := range []string{"level=WARN msg=\"wsauth: refused\" reason=expired subject=alice code=4401", "level=INFO msg=\"wsauth: closed\" reason=gone subject=bob code=1000"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}
