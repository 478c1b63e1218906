package wsauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// hello greets the authenticated subject and ends the connection.
func hello(ctx context.Context, c *wsauth.Conn) {
	p, _ := wsauth.PrincipalFrom(ctx)
	c.Write(ctx, websocket.MessageText, []byte("hello, "+p.Subject))
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") }

// A server that admits WebSockets with single-use tickets in the query
// string. In a real server the tickets come from a ticket.Issuer mounted
// behind your login.
func Example() {
	store := memstore.New(nil)
	auth := wsauth.Query(&wsauth.Options{
		Verifier: wsauth.Tickets(&ticket.Redeemer{Store: store}),
	})
	srv := httptest.NewServer(wsauth.Handler(auth, hello))
	defer srv.Close()

	iss := &ticket.Issuer{Store: store}
	id, _, _ := iss.Issue(context.Background(), ticket.Ticket{
		Subject:  "alice",
		ClientIP: netip.MustParseAddr("127.0.0.1"),
	})

	ctx := context.Background()
	c, _, err := transport.DialQuery(ctx, wsURL(srv)+"/ws", id, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx)
	fmt.Println(string(msg))

	// The ticket was used: a second connection is refused.
	_, resp, _ := transport.DialQuery(ctx, wsURL(srv)+"/ws", id, nil)
	fmt.Println(resp.StatusCode)
	// Output:
	// hello, alice
	// 401
}

// The credential rides in Sec-WebSocket-Protocol; the server echoes the
// application protocol, never the credential.
func ExampleSubprotocol() {
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	auth := wsauth.Subprotocol(&wsauth.Options{
		Verifier: jv,
		Accept:   &websocket.AcceptOptions{Subprotocols: []string{"chat.v1"}},
	})
	srv := httptest.NewServer(wsauth.Handler(auth, hello))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := transport.DialSubprotocol(ctx, wsURL(srv), exampleToken("bob"), []string{"chat.v1"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx)
	fmt.Println(c.Subprotocol(), string(msg))
	// Output: chat.v1 hello, bob
}

// The socket opens unauthenticated; the first frame carries the token.
func ExampleFirstMessage() {
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	auth := wsauth.FirstMessage(&wsauth.Options{Verifier: jv, AuthTimeout: 5 * time.Second})
	srv := httptest.NewServer(wsauth.Handler(auth, hello))
	defer srv.Close()

	ctx := context.Background()
	c, ok, err := transport.DialFirstMessage(ctx, wsURL(srv), exampleToken("carol"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx)
	fmt.Println(ok.Subject, string(msg))

	// A client that sends a bad token is closed with 4401.
	_, _, err = transport.DialFirstMessage(ctx, wsURL(srv), "not-a-jwt", nil)
	fmt.Println(websocket.CloseStatus(err))
	// Output:
	// carol hello, carol
	// StatusCode(4401)
}

// Every frame carries a token; the handler learns who sent each one.
func ExamplePerMessage() {
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	auth := wsauth.PerMessage(&wsauth.Options{Verifier: jv})
	srv := httptest.NewServer(wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		m, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "%s sent %s", m.Principal.Subject, m.Data))
	}))
	defer srv.Close()

	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, wsURL(srv), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.CloseNow()
	tc := transport.NewTokenConn(ws, exampleToken("dave"))
	tc.Write(ctx, json.RawMessage(`{"text":"hi"}`))
	_, msg, _ := ws.Read(ctx)
	fmt.Println(string(msg))
	// Output: dave sent {"text":"hi"}
}

// Middleware authenticates before any WebSocket library upgrades.
func ExampleHandshake_Middleware() {
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	mw := wsauth.Query(&wsauth.Options{Verifier: jv, QueryParam: "access_token"}).Middleware
	upgrade := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := wsauth.PrincipalFrom(r.Context())
		fmt.Println("upgrading for", p.Subject, "at", r.URL.RequestURI())
		w.WriteHeader(http.StatusNoContent) // a WebSocket library would upgrade here
	})
	srv := httptest.NewServer(mw(upgrade))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/ws?room=general&access_token=" + exampleToken("erin"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	resp, _ = http.Get(srv.URL + "/ws?access_token=forged")
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// upgrading for erin at /ws?room=general
	// 401
}

var exampleKey = []byte("an example key of at least 32 bytes")

func exampleToken(sub string) string {
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub,
		"exp": time.Now().Add(time.Minute).Unix(),
	}).SignedString(exampleKey)
	return tok
}
