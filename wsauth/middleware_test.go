package wsauth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// upgradeWithPlainWebsocket stands in for another WebSocket library behind
// the middleware: it upgrades on its own and reports what it was handed.
func upgradeWithPlainWebsocket(t *testing.T, seen chan<- *http.Request) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"chat.v1"}})
		if err != nil {
			return
		}
		p, _ := wsauth.PrincipalFrom(r.Context())
		c.Write(r.Context(), websocket.MessageText, []byte(p.Subject))
		c.Close(websocket.StatusNormalClosure, "")
	})
}

func TestMiddlewareQuery(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New(nil)
	seen := make(chan *http.Request, 1)
	mw := wsauth.Query(ticketOptions(store)).Middleware
	srv := wsauthtest.NewHandlerServer(t, mw(upgradeWithPlainWebsocket(t, seen)))
	id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})

	c, _, err := websocket.Dial(ctx, srv.URL+"/ws?room=general&ticket="+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, b, err := c.Read(ctx); err != nil || string(b) != "alice" {
		t.Fatalf("principal in context: %q, %v", b, err)
	}
	r := <-seen
	if strings.Contains(r.URL.String(), id) || strings.Contains(r.RequestURI, id) {
		t.Fatalf("next handler saw the ticket in %q", r.RequestURI)
	}
	if r.URL.Query().Get("room") != "general" {
		t.Fatalf("other parameters lost: %q", r.URL.RawQuery)
	}

	// Refusals are HTTP statuses; next never runs.
	_, resp, err := websocket.Dial(ctx, srv.URL+"/ws?ticket="+id, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replay through middleware: err %v, response %v", err, resp)
	}
	select {
	case <-seen:
		t.Fatal("next ran for a refused request")
	default:
	}
}

func TestMiddlewareSubprotocol(t *testing.T) {
	ctx := testCtx(t)
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"tok-alice": {Subject: "alice"}})
	seen := make(chan *http.Request, 1)
	mw := wsauth.Subprotocol(&wsauth.Options{
		Verifier: v,
		Accept:   &websocket.AcceptOptions{Subprotocols: []string{"chat.v1"}},
	}).Middleware
	srv := wsauthtest.NewHandlerServer(t, mw(upgradeWithPlainWebsocket(t, seen)))

	c, _, err := srv.DialSubprotocol(ctx, "/ws", "tok-alice", nil, "chat.v1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, b, err := c.Read(ctx); err != nil || string(b) != "alice" {
		t.Fatalf("principal in context: %q, %v", b, err)
	}
	r := <-seen
	if got := r.Header.Values("Sec-WebSocket-Protocol"); strings.Join(got, ",") != "chat.v1" {
		t.Fatalf("next handler saw Sec-WebSocket-Protocol %q, want only chat.v1", got)
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		if strings.Contains(v, transport.SubprotocolPrefix) {
			t.Fatal("credential entry handed on")
		}
	}
}
