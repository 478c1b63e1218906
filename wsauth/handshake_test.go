package wsauth_test

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func ticketOptions(store ticket.Store) *wsauth.Options {
	return &wsauth.Options{Verifier: wsauth.Tickets(&ticket.Redeemer{Store: store})}
}

func TestQueryTicketIsSingleUse(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	a := record(wsauth.Query(ticketOptions(store)))
	srv := wsauthtest.NewServer(t, a, echo)
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})

	c, _, err := srv.DialQuery(ctx, "/ws", id, nil)
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	defer c.CloseNow()
	if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
		t.Fatalf("echo = %q, want %q", got, "alice: hi")
	}

	_, resp, err := srv.DialQuery(ctx, "/ws", id, nil)
	if err == nil {
		t.Fatal("second use of a ticket was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second use: response %v, want 401", resp)
	}
	if err := a.next(t); !errors.Is(err, wsauth.ErrInvalid) || !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("second use refused with %v, want ErrInvalid wrapping ticket.ErrNotFound", err)
	}
}

func TestQueryTicketBoundToClientAddress(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	a := record(wsauth.Query(ticketOptions(store)))
	srv := wsauthtest.NewServer(t, a, echo)
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice", ClientIP: netip.MustParseAddr("127.0.0.1")})

	_, resp, err := srv.DialQuery(ctx, "/ws", id, wsauthtest.From(t, "127.0.0.2"))
	if err == nil {
		t.Fatal("ticket issued to 127.0.0.1 accepted from 127.0.0.2")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("response %v, want 401", resp)
	}
	if err := a.next(t); !errors.Is(err, ticket.ErrClientIP) {
		t.Fatalf("refused with %v, want ticket.ErrClientIP", err)
	}
	// The ticket was burnt by the attempt: the rightful client must ask again.
	if _, _, err := srv.DialQuery(ctx, "/ws", id, wsauthtest.From(t, "127.0.0.1")); err == nil {
		t.Fatal("a ticket presented from a wrong address stayed redeemable")
	}
}

func TestQueryExpiredTicket(t *testing.T) {
	ctx := testCtx(t)
	clock := tickettest.NewClock(time.Now())
	store := memstore.New(nil)
	a := record(wsauth.Query(&wsauth.Options{
		Verifier: wsauth.Tickets(&ticket.Redeemer{Store: store, Now: clock.Now}),
	}))
	srv := wsauthtest.NewServer(t, a, echo)
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})

	clock.Advance(ticket.DefaultTTL + time.Second)
	_, resp, err := srv.DialQuery(ctx, "/ws", id, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired ticket: err %v, response %v; want 401", err, resp)
	}
	if err := a.next(t); !errors.Is(err, wsauth.ErrExpired) {
		t.Fatalf("refused with %v, want ErrExpired", err)
	}
}

func TestCrossOriginUpgradeRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		mk   func(*wsauth.Options) wsauth.Authenticator
	}{
		{"query", func(o *wsauth.Options) wsauth.Authenticator { return wsauth.Query(o) }},
		{"subprotocol", func(o *wsauth.Options) wsauth.Authenticator { return wsauth.Subprotocol(o) }},
		{"first-message", wsauth.FirstMessage},
		{"per-message", wsauth.PerMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := newCountingStore()
			o := ticketOptions(store)
			o.RejectAfterUpgrade = true // even so, a foreign origin gets HTTP 403
			srv := wsauthtest.NewServer(t, tc.mk(o), echo)
			id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})

			h := http.Header{"Origin": {"https://evil.example"}}
			opts := &websocket.DialOptions{HTTPHeader: h}
			var resp *http.Response
			var err error
			switch tc.name {
			case "subprotocol":
				_, resp, err = srv.DialSubprotocol(ctx, "/ws", id, opts)
			default:
				_, resp, err = srv.DialQuery(ctx, "/ws", id, opts)
			}
			if err == nil {
				t.Fatal("cross-origin upgrade accepted")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("response %v, want 403", resp)
			}
			if n := store.takes.Load(); n != 0 {
				t.Fatalf("store consulted %d times for a cross-origin request", n)
			}
		})
	}
}

func TestAllowedOrigin(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	o := ticketOptions(store)
	o.Accept = &websocket.AcceptOptions{OriginPatterns: []string{"app.example"}}
	srv := wsauthtest.NewServer(t, wsauth.Query(o), echo)
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://app.example"}}}
	c, _, err := srv.DialQuery(ctx, "/ws", id, opts)
	if err != nil {
		t.Fatalf("configured origin refused: %v", err)
	}
	c.CloseNow()
}

func TestSubprotocol(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	o := ticketOptions(store)
	o.Accept = &websocket.AcceptOptions{Subprotocols: []string{"chat.v1"}}
	var echoed []string
	a := wsauth.Subprotocol(o)
	srv := wsauthtest.NewHandlerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Accept(&headerSpy{ResponseWriter: w, seen: &echoed}, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		echo(r.Context(), c)
	}))

	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})
	c, resp, err := srv.DialSubprotocol(ctx, "/ws", id, nil, "chat.v1")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if got := c.Subprotocol(); got != "chat.v1" {
		t.Fatalf("negotiated %q, want chat.v1", got)
	}
	if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
		t.Fatalf("echo = %q", got)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			if strings.Contains(v, id) || strings.Contains(v, transport.SubprotocolPrefix) {
				t.Fatalf("response header %s carries the credential: %q", k, v)
			}
		}
	}
	if strings.Join(echoed, ",") != "chat.v1" {
		t.Fatalf("server echoed %q, want only chat.v1", echoed)
	}
}

// headerSpy records the Sec-WebSocket-Protocol the server answers with.
type headerSpy struct {
	http.ResponseWriter
	seen *[]string
}

func (h *headerSpy) WriteHeader(code int) {
	*h.seen = append(*h.seen, h.Header().Values("Sec-WebSocket-Protocol")...)
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerSpy) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestSubprotocolCredentialOnlyOffer(t *testing.T) {
	ctx := testCtx(t)
	store := newCountingStore()
	o := ticketOptions(store)
	o.RejectAfterUpgrade = true
	srv := wsauthtest.NewServer(t, wsauth.Subprotocol(o), echo)
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})

	// A raw client offering nothing but the credential entry.
	opts := &websocket.DialOptions{Subprotocols: []string{transport.SubprotocolPrefix + b64(id)}}
	c, resp, err := websocket.Dial(ctx, srv.URL+"/ws", opts)
	if err == nil {
		c.CloseNow()
		t.Fatal("credential-only offer was upgraded")
	}
	if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("response %v, want 400", resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "subprotocol") {
		t.Fatalf("body %q does not say what is wrong", body)
	}
	if store.takes.Load() != 0 {
		t.Fatal("ticket consumed by a request that cannot be upgraded")
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			if strings.Contains(v, b64(id)) {
				t.Fatalf("header %s echoes the credential", k)
			}
		}
	}
}
