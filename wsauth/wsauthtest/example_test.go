package wsauthtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// greet is the handler under test: it greets the subject.
func greet(ctx context.Context, c *wsauth.Conn) {
	c.Write(ctx, websocket.MessageText, []byte("hello, "+c.Principal().Subject))
}

// A handler tested without a ticket store or a JWT key: the fake verifier
// maps credentials to principals.
func ExampleVerifier() {
	t := &testing.T{} // in a real test, the *testing.T of the test
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"alice-token": {Subject: "alice"},
	})
	srv := wsauthtest.NewServer(t, wsauth.New(v, wsauth.FirstMessage{}, nil), greet)
	defer srv.HTTP.Close()

	ctx := context.Background()
	c, ok, err := srv.DialFirstMessage(ctx, "/ws", "alice-token", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx)
	fmt.Println(ok.Subject, string(msg))

	_, _, err = srv.DialFirstMessage(ctx, "/ws", "mallory-token", nil)
	fmt.Println(websocket.CloseStatus(err))
	// Output:
	// alice hello, alice
	// StatusCode(4401)
}

// Real JWTs, minted for the test.
func ExampleSigner() {
	t := &testing.T{}
	s := wsauthtest.NewSigner()
	srv := wsauthtest.NewServer(t, wsauth.New(s.Verifier(t, nil), wsauth.Subprotocol{}, nil), greet)
	defer srv.HTTP.Close()

	ctx := context.Background()
	c, _, err := srv.DialSubprotocol(ctx, "/ws", s.Token(t, "bob", time.Minute, nil), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx)
	fmt.Println(string(msg))

	_, resp, _ := srv.DialSubprotocol(ctx, "/ws", s.Token(t, "bob", -time.Minute, nil), nil)
	fmt.Println(resp.StatusCode)
	// Output:
	// hello, bob
	// 401
}
