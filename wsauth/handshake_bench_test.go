package wsauth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

// BenchmarkHandshake measures one connection over loopback, from Dial to
// the end of the close handshake, for bare coder/websocket and for each
// strategy with its default settings. The ticket strategies include
// issuing the ticket into a memstore (ticket.Issuer.Issue) and redeeming
// it; per-message mints a fresh HS256 token on the client and verifies it
// on the server with the cache off, so every handshake pays for the
// signature.
//
// "bare-echo" is bare plus one frame round trip, the fair baseline of the
// in-band strategies: first-message and per-message both send one frame
// and wait for the server's auth_ok. Each strategy reports its cost
// relative to its baseline as the metric "x-bare" or "x-bare-echo": every
// iteration also runs one baseline handshake, untimed, so that the ratio
// compares handshakes made under the same machine load.
func BenchmarkHandshake(b *testing.B) {
	ctx := context.Background()
	store := memstore.New(nil)
	iss := &ticket.Issuer{Store: store}
	hmacKey := make([]byte, 32)
	rand.Read(hmacKey)
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(hmacKey)})
	if err != nil {
		b.Fatal(err)
	}
	jv, err := jwtverify.New([]string{"HS256"}, keys, &jwtverify.Options{CacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	tickets := wsauth.Tickets(&ticket.Redeemer{Store: store}, nil)

	mux := http.NewServeMux()
	mux.HandleFunc("/bare", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		drain(ctx, c)
	})
	mux.HandleFunc("/bare-echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
		drain(ctx, c)
	})
	// The handlers read on the Socket, as bare's do, until the client
	// closes.
	idle := func(ctx context.Context, c *wsauth.Conn) { drain(ctx, c.Socket()) }
	mux.Handle("/query", wsauth.Handler(wsauth.New(tickets, wsauth.Query{}, nil), idle))
	mux.Handle("/subprotocol", wsauth.Handler(wsauth.New(tickets, wsauth.Subprotocol{}, nil), idle))
	mux.Handle("/first-message", wsauth.Handler(wsauth.New(tickets, wsauth.FirstMessage{}, nil), idle))
	// The first envelope authenticates the connection and is answered
	// with auth_ok: the one round trip bare-echo makes.
	mux.Handle("/per-message", wsauth.Handler(wsauth.New(jv, wsauth.PerMessage{}, nil), idle))
	// served reports each handler's return: an iteration ends when the
	// server is done with its connection, so that no handshake's
	// server-side work runs into the next one's timing.
	served := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		served <- struct{}{}
	}))
	defer srv.Close()
	base := "ws" + strings.TrimPrefix(srv.URL, "http")

	// One client, so that connections reuse nothing but its settings:
	// a hijacked connection never goes back to the pool.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
	newTicket := func(b *testing.B) string {
		id, _, err := iss.Issue(ctx, ticket.Ticket{Subject: "alice", ClientIP: netip.MustParseAddr("127.0.0.1")})
		if err != nil {
			b.Fatal(err)
		}
		return id
	}
	newToken := func(b *testing.B) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "alice",
			"exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString(hmacKey)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}

	cases := []struct {
		name, baseline string
		run            func(b *testing.B)
	}{
		{"bare", "", func(b *testing.B) {
			c, _, err := websocket.Dial(ctx, base+"/bare", opts)
			if err != nil {
				b.Fatal(err)
			}
			closeClient(b, c)
		}},
		{"bare-echo", "", func(b *testing.B) {
			c, _, err := websocket.Dial(ctx, base+"/bare-echo", opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"text":""}`)); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
			closeClient(b, c)
		}},
		{"query", "bare", func(b *testing.B) {
			c, _, err := transport.DialQuery(ctx, base+"/query", newTicket(b), opts)
			if err != nil {
				b.Fatal(err)
			}
			closeClient(b, c)
		}},
		{"subprotocol", "bare", func(b *testing.B) {
			c, _, err := transport.DialSubprotocol(ctx, base+"/subprotocol", newTicket(b), nil, opts)
			if err != nil {
				b.Fatal(err)
			}
			closeClient(b, c)
		}},
		{"first-message", "bare-echo", func(b *testing.B) {
			c, _, err := transport.DialFirstMessage(ctx, base+"/first-message", newTicket(b), opts)
			if err != nil {
				b.Fatal(err)
			}
			closeClient(b, c)
		}},
		{"per-message", "bare-echo", func(b *testing.B) {
			tc, _, err := transport.DialPerMessage(ctx, base+"/per-message", newToken(b), []byte(`{"text":""}`), opts)
			if err != nil {
				b.Fatal(err)
			}
			closeClient(b, tc.Conn())
		}},
	}
	byName := map[string]func(*testing.B){}
	for _, tc := range cases {
		byName[tc.name] = tc.run
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			baseline := byName[tc.baseline]
			var own, base time.Duration
			b.ReportAllocs()
			for b.Loop() {
				if baseline != nil {
					// The baseline runs interleaved but untimed, so
					// that both see the same machine load.
					b.StopTimer()
					t := time.Now()
					baseline(b)
					<-served
					base += time.Since(t)
					b.StartTimer()
				}
				t := time.Now()
				tc.run(b)
				<-served
				own += time.Since(t)
			}
			if base > 0 {
				b.ReportMetric(float64(own)/float64(base), "x-"+tc.baseline)
			}
		})
	}
}

// reader is what drain reads from: a *websocket.Conn or a wsauth.Socket.
type reader interface {
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
}

// drain reads until the connection ends, answering the peer's close.
func drain(ctx context.Context, c reader) {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

// closeClient closes c with a close handshake, as a well-behaved client
// does.
func closeClient(b *testing.B, c *websocket.Conn) {
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil && !errors.Is(err, net.ErrClosed) {
		b.Fatal(err)
	}
}
