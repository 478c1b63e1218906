package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// A ticket endpoint and a WebSocket that admits each ticket once.
func Example() {
	store := memstore.New(nil)
	mux := http.NewServeMux()
	mux.Handle("POST /tickets", &ticket.Issuer{Store: store, Identify: func(r *http.Request) (ticket.Ticket, error) {
		return ticket.Ticket{Subject: "alice"}, nil // your login decides
	}})
	auth := wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil)
	mux.Handle("/ws", wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		c.Write(ctx, websocket.MessageText, []byte("hello, "+c.Principal().Subject))
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A client asks for a ticket, then dials with it.
	resp, err := http.Post(srv.URL+"/tickets", "application/json", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var t struct{ Ticket string }
	decodeJSON(resp, &t)
	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	c, _, err := transport.DialQuery(ctx, url, t.Ticket, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, msg, _ := c.Read(ctx)
	fmt.Println(string(msg))
	c.CloseNow()

	// A ticket admits one connection.
	_, resp, _ = transport.DialQuery(ctx, url, t.Ticket, nil)
	fmt.Println(resp.StatusCode)
	// Output:
	// hello, alice
	// 401
}

// The Authorizer decides who may enter which room; it runs at connect
// and for every later credential of the connection.
func ExampleAuthorizer() {
	members := map[string][]string{"general": {"alice", "bob"}, "secret": {"alice"}}
	inRoom := func(_ context.Context, p wsauth.Principal, r *http.Request) error {
		for _, m := range members[r.PathValue("room")] {
			if m == p.Subject {
				return nil
			}
		}
		return errors.New("not a member") // 4403, or 403 before an upgrade
	}
	v := wsauth.VerifierFunc(func(_ context.Context, token string, _ wsauth.Peer) (wsauth.Principal, error) {
		return wsauth.Principal{Subject: strings.TrimSuffix(token, "-token")}, nil // a toy
	})
	auth := wsauth.New(v, wsauth.FirstMessage{}, &wsauth.Options{Authorizer: inRoom})
	mux := http.NewServeMux()
	mux.Handle("/rooms/{room}", wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		c.Write(ctx, websocket.MessageText, []byte(c.Principal().Subject+" in "+c.Request().PathValue("room")))
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/"

	ctx := context.Background()
	for _, try := range []struct{ token, room string }{{"bob-token", "general"}, {"bob-token", "secret"}} {
		c, _, err := transport.DialFirstMessage(ctx, url+try.room, try.token, nil)
		if err != nil {
			fmt.Println(websocket.CloseStatus(err))
			continue
		}
		_, msg, _ := c.Read(ctx)
		fmt.Println(string(msg))
		c.CloseNow()
	}
	// Output:
	// bob in general
	// StatusCode(4403)
}

// Revoke ends a subject's connections at once, with 4401 and the reason.
func ExampleRegistry_Revoke() {
	reg := wsauth.NewRegistry(memstore.New(nil), nil)
	ctx := context.Background()
	if err := reg.Listen(ctx); err != nil { // at startup
		fmt.Println(err)
		return
	}
	v := wsauth.VerifierFunc(func(context.Context, string, wsauth.Peer) (wsauth.Principal, error) {
		return wsauth.Principal{Subject: "alice", IssuedAt: time.Now()}, nil
	})
	auth := wsauth.New(v, wsauth.FirstMessage{}, &wsauth.Options{Registry: reg})
	srv := httptest.NewServer(wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		<-ctx.Done() // until the connection ends
	}))
	defer srv.Close()

	c, _, err := transport.DialFirstMessage(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), "any", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	reg.Revoke(ctx, "alice", "logged out")
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	errors.As(err, &ce)
	fmt.Println(ce.Code, ce.Reason)
	// Output:
	// StatusCode(4401) logged out
}

// Events carry a stable reason, fit for a metrics label.
func ExampleEvent() {
	count := map[string]int{}
	hook := func(_ context.Context, e wsauth.Event) { count[string(e.Kind)+"/"+e.Reason]++ }
	v := wsauth.VerifierFunc(func(context.Context, string, wsauth.Peer) (wsauth.Principal, error) {
		return wsauth.Principal{}, wsauth.ErrExpired
	})
	auth := wsauth.New(v, wsauth.Query{}, &wsauth.Options{Events: hook})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/ws?ticket=abc", nil)
	req.Header.Set("Connection", "Upgrade") // a WebSocket handshake
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	auth.Accept(rec, req)
	fmt.Println(rec.Code, count)
	// Output:
	// 401 map[refused/expired:1]
}

// PrincipalFrom reads the connection's current principal in code that has
// only the context.
func ExamplePrincipalFrom() {
	whoami := func(ctx context.Context) string {
		p, ok := wsauth.PrincipalFrom(ctx)
		if !ok {
			return "nobody"
		}
		return p.Subject
	}
	fmt.Println(whoami(context.Background()))
	// Output:
	// nobody
}

// The client address behind trusted proxies, for ticket binding and the
// failure budget.
func ExampleOptions_clientIP() {
	ip := &ticket.ClientIP{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	opts := &wsauth.Options{ClientIP: ip}
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.RemoteAddr = "10.1.2.3:4567"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	addr, _ := opts.ClientIP.Of(r)
	fmt.Println(addr)
	// Output:
	// 203.0.113.9
}
