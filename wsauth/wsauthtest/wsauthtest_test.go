package wsauthtest_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func TestVerifier(t *testing.T) {
	ctx := context.Background()
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"a": {Subject: "alice"}})
	if p, err := v.Verify(ctx, "a", wsauth.Peer{}); err != nil || p.Subject != "alice" {
		t.Fatalf("known credential: %v, %v", p, err)
	}
	if _, err := v.Verify(ctx, "b", wsauth.Peer{}); !errors.Is(err, wsauth.ErrInvalid) {
		t.Fatalf("unknown credential: %v", err)
	}
	v.SetError(wsauth.ErrUnavailable)
	if _, err := v.Verify(ctx, "a", wsauth.Peer{}); !errors.Is(err, wsauth.ErrUnavailable) {
		t.Fatalf("SetError: %v", err)
	}
	v.SetError(nil)
	v.Delete("a")
	if _, err := v.Verify(ctx, "a", wsauth.Peer{}); !errors.Is(err, wsauth.ErrInvalid) {
		t.Fatalf("deleted credential: %v", err)
	}
	if v.Calls() != 4 || len(v.Peers()) != 4 {
		t.Fatalf("Calls %d, Peers %d; want 4", v.Calls(), len(v.Peers()))
	}
}

func TestFromBindsTheSourceAddress(t *testing.T) {
	ctx := context.Background()
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"a": {Subject: "alice"}})
	srv := wsauthtest.NewServer(t, wsauth.New(v, wsauth.Query{}, nil), func(context.Context, *wsauth.Conn) {})
	c, _, err := srv.DialQuery(ctx, "/", "a", wsauthtest.From(t, "127.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	if got := v.Peers()[0].Addr; got != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("server saw %v, want 127.0.0.2", got)
	}
}

func TestTicketBindsLoopback(t *testing.T) {
	store := memstore.New(nil)
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})
	r := &ticket.Redeemer{Store: store}
	if _, err := r.Redeem(context.Background(), id, netip.MustParseAddr("127.0.0.2"), ""); !errors.Is(err, ticket.ErrClientIP) {
		t.Fatalf("redeemed from 127.0.0.2: %v", err)
	}
}

func TestSigner(t *testing.T) {
	s := wsauthtest.NewSigner()
	v := s.Verifier(t, nil)
	ctx := context.Background()
	p, err := v.Verify(ctx, s.Token(t, "alice", time.Minute, map[string]any{"scope": "general"}), wsauth.Peer{})
	if err != nil || p.Subject != "alice" || !slices.Equal(p.Scope, []string{"general"}) || p.IssuedAt.IsZero() {
		t.Fatalf("fresh token: %+v, %v", p, err)
	}
	if _, err := v.Verify(ctx, s.Token(t, "alice", -time.Minute, nil), wsauth.Peer{}); !errors.Is(err, wsauth.ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
	other := wsauthtest.NewSigner()
	if _, err := v.Verify(ctx, other.Token(t, "alice", time.Minute, nil), wsauth.Peer{}); !errors.Is(err, wsauth.ErrInvalid) {
		t.Fatalf("foreign key: %v", err)
	}
}
