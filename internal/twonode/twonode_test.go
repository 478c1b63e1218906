package twonode_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/internal/testmain"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

func TestMain(m *testing.M) {
	testmain.Run(m)
}

var clientIP = netip.MustParseAddr("127.0.0.1")

// shortClient returns a client that gives up quickly: no retries, 200 ms
// timeouts. The caller closes it.
func shortClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:          addr,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   200 * time.Millisecond,
		WriteTimeout:  200 * time.Millisecond,
		PoolTimeout:   200 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
}

// appNode is a whole application server: a ticket endpoint and a WebSocket
// endpoint (query strategy) over its own Redis client.
type appNode struct {
	srv *httptest.Server
}

func newAppNode(t *testing.T, st *redisstore.Store) appNode {
	iss := &ticket.Issuer{
		Store:    st,
		Identify: func(*http.Request) (ticket.Ticket, error) { return ticket.Ticket{Subject: "alice"}, nil },
	}
	ws := wsauth.Handler(
		wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: st}, nil), wsauth.Query{}, nil),
		func(ctx context.Context, c *wsauth.Conn) {
			c.Write(ctx, websocket.MessageText, []byte(c.Principal().Subject))
		})
	mux := http.NewServeMux()
	mux.Handle("POST /ticket", iss)
	mux.Handle("/ws", ws)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return appNode{srv: srv}
}

// ticket asks the node for a ticket and returns it, or the HTTP status.
func (n appNode) ticket(t *testing.T) (string, int) {
	t.Helper()
	resp, err := n.srv.Client().Post(n.srv.URL+"/ticket", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Ticket string }
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
	}
	return body.Ticket, resp.StatusCode
}

// dial opens the node's WebSocket with id and returns the subject it
// greets with, or the HTTP status of the refusal.
func (n appNode) dial(t *testing.T, id string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/ws"
	c, resp, err := transport.DialQuery(ctx, url, id, &websocket.DialOptions{HTTPClient: n.srv.Client()})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return "", resp.StatusCode
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read greeting: %v", err)
	}
	return string(msg), http.StatusSwitchingProtocols
}

// Two application servers, each with its own client of one Redis, through
// HTTP and WebSocket: a ticket from A opens a socket on B once; with Redis
// down both answer 503; once it is back they work again.
func TestTwoAppServers(t *testing.T) {
	srv := redistest.Start(t)
	clientA, clientB := shortClient(srv.Addr), shortClient(srv.Addr)
	t.Cleanup(func() { clientA.Close(); clientB.Close() })
	a := newAppNode(t, redisstore.New(clientA, nil))
	b := newAppNode(t, redisstore.New(clientB, nil))

	id, status := a.ticket(t)
	if status != http.StatusOK {
		t.Fatalf("ticket from A: status %d", status)
	}
	if sub, status := b.dial(t, id); sub != "alice" {
		t.Fatalf("dial B with A's ticket: status %d, subject %q", status, sub)
	}
	if _, status := a.dial(t, id); status != http.StatusUnauthorized {
		t.Fatalf("reuse on A: status %d, want 401", status)
	}

	pending, _ := a.ticket(t)
	srv.Stop()
	if _, status := a.ticket(t); status != http.StatusServiceUnavailable {
		t.Fatalf("ticket with Redis down: status %d, want 503", status)
	}
	if _, status := b.dial(t, pending); status != http.StatusServiceUnavailable {
		t.Fatalf("dial with Redis down: status %d, want 503", status)
	}

	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		if id, status = a.ticket(t); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket endpoint still answers %d 10s after Redis came back", status)
		}
	}
	for ; ; <-tick.C {
		// B's client may still be failing fast; a 503 does not burn
		// the ticket, as the GETDEL never left.
		sub, status := b.dial(t, id)
		if sub == "alice" {
			break
		}
		if status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("dial B after Redis came back: status %d", status)
		}
	}
	if _, err := (&ticket.Redeemer{Store: redisstore.New(clientA, nil)}).Redeem(t.Context(), id, clientIP, ""); !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("ticket redeemed on B still in Redis: err = %v", err)
	}
}
