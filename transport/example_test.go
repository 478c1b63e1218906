package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
)

func ExampleFromSubprotocol() {
	// What a browser sends for new WebSocket(url, ["chat.v1", "wsauth.bearer.dDBr"]).
	h := http.Header{}
	h.Set("Sec-WebSocket-Protocol", "chat.v1, wsauth.bearer.dDBr")

	cred, offered, err := transport.FromSubprotocol(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cred)
	// Select from offered (here with websocket.AcceptOptions.Subprotocols):
	// never echo the credential entry.
	fmt.Println(offered)
	// Output:
	// t0k
	// [chat.v1]
}

func ExampleSubprotocolOffer() {
	fmt.Println(transport.SubprotocolOffer("t0k", "chat.v1"))
	fmt.Println(transport.SubprotocolOffer("t0k"))
	// Output:
	// [chat.v1 wsauth.bearer.dDBr]
	// [wsauth wsauth.bearer.dDBr]
}

func ExampleParseEnvelope() {
	frame := []byte(`{"token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","data":{"room":"lobby","text":"hi"}}`)
	token, data, err := transport.ParseEnvelope(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(token)
	fmt.Println(string(data)) // aliases frame

	_, _, err = transport.ParseEnvelope([]byte(`{"data":1}`))
	fmt.Println(errors.Is(err, transport.ErrNoCredential))
	// Output:
	// eyJhbGciOiJIUzI1NiJ9.e30.sig
	// {"room":"lobby","text":"hi"}
	// true
}

func ExampleAppendEnvelope() {
	frame, err := transport.AppendEnvelope(nil, "eyJhbGciOiJIUzI1NiJ9.e30.sig", json.RawMessage(`{"text":"hi"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(frame))

	_, err = transport.AppendEnvelope(nil, "tok", json.RawMessage(`{"text":`))
	fmt.Println(err)
	// Output:
	// {"token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","data":{"text":"hi"}}
	// transport: envelope: data is not valid JSON: transport: malformed credential
}

func ExampleParseControl() {
	c, err := transport.ParseControl([]byte(`{"type":"auth","token":"t0k"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Type == transport.TypeAuth, c.Token)

	// Errors describe the problem without repeating the input.
	_, err = transport.ParseControl([]byte(`{"type":"auth","token":"s3cret value"}`))
	fmt.Println(err)
	// Output:
	// true t0k
	// transport: control: token has a disallowed byte at offset 30: transport: malformed credential
}

func ExampleWithQuery() {
	u, err := transport.WithQuery("wss://example.com/ws?room=lobby", "", "tkt-123")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u)
	// Output:
	// wss://example.com/ws?room=lobby&ticket=tkt-123
}

func ExampleDialFirstMessage() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, ok, err := transport.DialFirstMessage(ctx, "wss://example.com/ws", "eyJhbGciOiJIUzI1NiJ9.e30.sig", nil)
	switch websocket.CloseStatus(err) {
	case -1: // not a close: success, or a network or protocol error
	case 4401:
		fmt.Println("credential rejected: get a new one")
		return
	default:
		fmt.Println("closed:", err)
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(websocket.StatusNormalClosure, "")
	fmt.Println("authenticated as", ok.Subject, "until", ok.ExpiresAt)
}

func ExampleTokenConn() {
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "wss://example.com/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(websocket.StatusNormalClosure, "")

	tc := transport.NewTokenConn(c, "eyJhbGciOiJIUzI1NiJ9.e30.sig")
	if err := tc.Write(ctx, json.RawMessage(`{"text":"hi"}`)); err != nil {
		fmt.Println(err)
		return
	}
	// Later, from any goroutine, after fetching a fresh JWT:
	tc.SetToken("eyJhbGciOiJIUzI1NiJ9.e30.sig2")
}
