package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// Failed attempts are limited per client address; past the limit the
// credential is not even looked at.
func ExampleLimiter() {
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	auth := wsauth.Query(&wsauth.Options{
		Verifier: jv,
		Limiter:  wsauth.NewLimiter(&wsauth.LimiterOptions{Burst: 2, Every: time.Minute}),
	})
	srv := httptest.NewServer(wsauth.Handler(auth, hello))
	defer srv.Close()

	for range 3 {
		_, resp, _ := transport.DialQuery(context.Background(), wsURL(srv), "guessed", nil)
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 401
	// 401
	// 429
}

// Events go to log/slog and to counters an expvar page can publish
// (expvar.Publish("wsauth", &counts)).
func ExampleSlogEvents() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output
			}
			return a
		},
	}))
	log := wsauth.SlogEvents(logger)
	var counts wsauth.Counters
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	auth := wsauth.Query(&wsauth.Options{
		Verifier: jv,
		Events: func(ctx context.Context, e wsauth.Event) {
			log(ctx, e)
			counts.Observe(ctx, e)
		},
	})
	srv := httptest.NewServer(wsauth.Handler(auth, hello))

	transport.DialQuery(context.Background(), wsURL(srv), "forged", nil)
	srv.Close() // waits for the handler, and so for its event
	fmt.Println(counts.Count(wsauth.EventRefused))
	// Output:
	// level=WARN msg="wsauth: refused" strategy=query addr=127.0.0.1 status=401 err="wsauth: invalid credential: malformed token"
	// 1
}

// A connection replaces its credential in band before it expires, without
// reconnecting; the server answers auth_ok.
func Example_refresh() {
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	auth := wsauth.FirstMessage(&wsauth.Options{Verifier: jv})
	srv := httptest.NewServer(wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		for {
			// Refresh frames are handled inside Read.
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := transport.DialFirstMessage(ctx, wsURL(srv), exampleToken("carol"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	// Typically on {"type":"expiring","in":N}, with a token from your API.
	transport.Refresh(ctx, c, exampleToken("carol"))
	_, msg, _ := c.Read(ctx)
	var ok transport.AuthOK
	ok.UnmarshalJSON(msg)
	fmt.Println("refreshed:", ok.Subject)

	// Another subject is refused: 4403.
	transport.Refresh(ctx, c, exampleToken("mallory"))
	_, _, err = c.Read(ctx)
	fmt.Println(websocket.CloseStatus(err))
	// Output:
	// refreshed: carol
	// StatusCode(4403)
}

// A registry closes all of a subject's connections at once, for example
// on logout. With RegistryOptions.Bus (redisstore.NewBus) it does so on
// every node.
func ExampleRegistry_Revoke() {
	reg := wsauth.NewRegistry(nil)
	jv, _ := wsauth.NewJWT(&wsauth.JWTOptions{Algorithms: []string{"HS256"}, Keys: map[string]any{"": exampleKey}})
	auth := wsauth.Query(&wsauth.Options{Verifier: jv, Registry: reg})
	srv := httptest.NewServer(wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		hello(ctx, c)
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := transport.DialQuery(ctx, wsURL(srv), exampleToken("frank"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx)
	fmt.Println(string(msg), reg.Count("frank"))

	reg.Revoke(ctx, "frank", "logged out")
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	errors.As(err, &ce)
	fmt.Println(ce.Code, ce.Reason, reg.Count("frank"))
	// Output:
	// hello, frank 1
	// StatusCode(4401) logged out 0
}
