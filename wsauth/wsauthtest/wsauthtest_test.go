package wsauthtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// echo answers each message with "<subject>: <data>".
func echo(ctx context.Context, c *wsauth.Conn) {
	for {
		m, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)) != nil {
			return
		}
	}
}

func read(t *testing.T, ctx context.Context, c *websocket.Conn) string {
	t.Helper()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func TestVerifier(t *testing.T) {
	ctx := testCtx(t)
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"a": {Subject: "alice"}})
	peer := wsauth.Peer{Scope: "room"}
	if p, err := v.Verify(ctx, "a", peer); err != nil || p.Subject != "alice" {
		t.Fatalf("Verify(a) = %+v, %v", p, err)
	}
	if _, err := v.Verify(ctx, "b", peer); !errors.Is(err, wsauth.ErrInvalid) {
		t.Fatalf("unknown credential: %v, want ErrInvalid", err)
	}
	if _, err := v.Verify(ctx, "", peer); !errors.Is(err, wsauth.ErrNoCredential) {
		t.Fatalf("empty credential: %v, want ErrNoCredential", err)
	}
	v.Set("b", wsauth.Principal{Subject: "bob"})
	v.Delete("a")
	if _, err := v.Verify(ctx, "a", peer); !errors.Is(err, wsauth.ErrInvalid) {
		t.Fatalf("deleted credential: %v", err)
	}
	v.SetError(wsauth.ErrUnavailable)
	if _, err := v.Verify(ctx, "b", peer); !errors.Is(err, wsauth.ErrUnavailable) {
		t.Fatalf("SetError: %v", err)
	}
	v.SetError(nil)
	if p, err := v.Verify(ctx, "b", peer); err != nil || p.Subject != "bob" {
		t.Fatalf("after SetError(nil): %+v, %v", p, err)
	}
	if n, peers := v.Calls(), v.Peers(); n != 6 || len(peers) != 6 || peers[0].Scope != "room" {
		t.Fatalf("Calls = %d, Peers = %v", n, peers)
	}
	var zero wsauthtest.Verifier
	if _, err := zero.Verify(ctx, "a", peer); !errors.Is(err, wsauth.ErrInvalid) {
		t.Fatalf("zero Verifier: %v", err)
	}
}

func TestServerDialHelpers(t *testing.T) {
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"tok": {Subject: "alice"}})
	o := &wsauth.Options{Verifier: v}
	t.Run("query", func(t *testing.T) {
		ctx := testCtx(t)
		srv := wsauthtest.NewServer(t, wsauth.Query(o), echo)
		c, _, err := srv.DialQuery(ctx, "/ws", "tok", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.Write(ctx, websocket.MessageText, []byte("hi"))
		if got := read(t, ctx, c); got != "alice: hi" {
			t.Fatalf("echo %q", got)
		}
		if _, resp, err := srv.DialQuery(ctx, "/ws", "nope", nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad credential: %v, %v", err, resp)
		}
	})
	t.Run("subprotocol", func(t *testing.T) {
		ctx := testCtx(t)
		srv := wsauthtest.NewServer(t, wsauth.Subprotocol(o), echo)
		c, _, err := srv.DialSubprotocol(ctx, "/ws", "tok", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if c.Subprotocol() != "wsauth" {
			t.Fatalf("subprotocol %q", c.Subprotocol())
		}
	})
	t.Run("first message", func(t *testing.T) {
		ctx := testCtx(t)
		srv := wsauthtest.NewServer(t, wsauth.FirstMessage(o), echo)
		c, ok, err := srv.DialFirstMessage(ctx, "/ws", "tok", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if ok.Subject != "alice" {
			t.Fatalf("auth_ok %+v", ok)
		}
	})
	t.Run("per message", func(t *testing.T) {
		ctx := testCtx(t)
		srv := wsauthtest.NewServer(t, wsauth.PerMessage(o), echo)
		tc, _, err := srv.DialPerMessage(ctx, "/ws", "tok", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Conn().CloseNow()
		if err := tc.Write(ctx, []byte(`"hi"`)); err != nil {
			t.Fatal(err)
		}
		if got := read(t, ctx, tc.Conn()); got != `alice: "hi"` {
			t.Fatalf("echo %q", got)
		}
	})
}

// A ticket from wsauthtest.Ticket is bound to 127.0.0.1: redeemed from
// there, refused from 127.0.0.2 (dialled with From).
func TestTicketAndFrom(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	srv := wsauthtest.NewServer(t, wsauth.Query(&wsauth.Options{
		Verifier: wsauth.Tickets(&ticket.Redeemer{Store: store}),
	}), echo)
	away := wsauthtest.From(t, "127.0.0.2")
	defer away.HTTPClient.CloseIdleConnections()
	_, resp, err := srv.DialQuery(ctx, "/ws", wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "bob"}), away)
	if err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ticket redeemed from another address: %v, %v", err, resp)
	}
	c, _, err := srv.DialQuery(ctx, "/ws", wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "bob"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
}
