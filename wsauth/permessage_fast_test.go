package wsauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestPerMessageRepeatedTokenFastPath checks the per-connection shortcut for
// a frame repeating the last verified token: a different token of the same
// length and subject is still verified (and refused if forged), and a
// repeated token past its exp closes the connection with 4401.
func TestPerMessageRepeatedTokenFastPath(t *testing.T) {
	secret := []byte("fast-path-test-secret-0123456789")
	start := time.Now().Truncate(time.Second)
	var now atomic.Int64
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	v, err := wsauth.NewJWT(&wsauth.JWTOptions{
		Algorithms: []string{"HS256"},
		Keys:       map[string]any{"": secret},
		Now:        clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(iat int64) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "alice", "iat": iat, "exp": start.Add(time.Hour).Unix(),
		}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tok := mint(start.Unix())
	// Same length and claims but for iat, so a valid distinct token.
	other := mint(start.Unix() - 1)
	if len(other) != len(tok) || other == tok {
		t.Fatalf("want two distinct tokens of one length, got %d and %d", len(tok), len(other))
	}
	// Forged: one signature byte changed (mid-signature, so it does not
	// land on base64 padding bits).
	b := []byte(tok)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	forged := string(b)

	// readErrs gets the error that ended a handler's ReadMessage, so the
	// expiry case shows that the read refused, not the write after it.
	readErrs := make(chan error, 4)
	srv := wsauthtest.NewServer(t, wsauth.PerMessage(&wsauth.Options{Verifier: v, Now: clock}), func(ctx context.Context, c *wsauth.Conn) {
		for {
			m, err := c.ReadMessage(ctx)
			if err != nil {
				readErrs <- err
				return
			}
			if err := c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)); err != nil {
				readErrs <- nil
				return
			}
		}
	})
	frame := func(tok, msg string) string {
		f, _ := json.Marshal(map[string]string{"token": tok, "data": msg})
		return string(f)
	}
	dial := func(t *testing.T) *websocket.Conn {
		ctx := testCtx(t)
		c, _, err := websocket.Dial(ctx, srv.URL+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		// First frame authenticates; the next two fill and use the fast path.
		for i := range 3 {
			if got := roundTrip(t, ctx, c, frame(tok, "hi")); got != `alice: "hi"` {
				t.Fatalf("frame %d: %q", i, got)
			}
		}
		return c
	}

	t.Run("forged token of the same length and subject", func(t *testing.T) {
		c := dial(t)
		ctx := testCtx(t)
		if got := roundTrip(t, ctx, c, frame(other, "x")); got != `alice: "x"` {
			t.Fatalf("valid other token: %q", got)
		}
		if got := roundTrip(t, ctx, c, frame(tok, "y")); got != `alice: "y"` {
			t.Fatalf("first token again: %q", got)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(frame(forged, "z"))); err != nil {
			t.Fatal(err)
		}
		if code, reason := closeCode(t, ctx, c); code != wsauth.CloseUnauthenticated {
			t.Fatalf("forged token: closed with %d %q, want 4401", code, reason)
		}
	})

	t.Run("expired repeated token", func(t *testing.T) {
		c := dial(t)
		ctx := testCtx(t)
		now.Store(start.Add(2 * time.Hour).UnixNano())
		defer now.Store(start.UnixNano())
		if err := c.Write(ctx, websocket.MessageText, []byte(frame(tok, "late"))); err != nil {
			t.Fatal(err)
		}
		code, reason := closeCode(t, ctx, c)
		if code != wsauth.CloseUnauthenticated {
			t.Fatalf("expired token: closed with %d %q, want 4401", code, reason)
		}
		if strings.Contains(reason, tok[:20]) {
			t.Fatalf("close reason %q repeats the token", reason)
		}
		for err := range readErrs {
			if errors.Is(err, wsauth.ErrExpired) {
				return
			}
			if err == nil {
				t.Fatal("the expired token was read as valid; only the write failed")
			}
		}
	})
}
