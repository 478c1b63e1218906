package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func TestRoutesAccept(t *testing.T) {
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				a := wsauth.New(verifier(), rt.strategy, &wsauth.Options{Events: ev.hook})
				paths := make(chan string, 1)
				n := newVNet(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					paths <- c.Request().URL.Path
					if p, ok := wsauth.PrincipalFrom(ctx); !ok || p.Subject != "alice" {
						t.Errorf("PrincipalFrom = %+v, %v", p, ok)
					}
					echo(ctx, c)
				}))
				ctx := vctx(t)
				c, o := rt.dial(ctx, vURL+"/room/general", "alice-token", n.opts())
				if c == nil {
					t.Fatalf("refused: %v", o)
				}
				defer c.CloseNow()
				if p := <-paths; p != "/room/general" {
					t.Errorf("handler saw path %q", p)
				}
				msg := "hi"
				if rt.name == "per_message" {
					// The first frame's data is the handler's first Read.
					_, b, err := c.Read(ctx)
					if err != nil || string(b) != `alice: "hello"` {
						t.Fatalf("first frame echoed as %q, %v", b, err)
					}
					msg = string(envelope(t, "alice-token", `"again"`))
				}
				want := "alice: hi"
				if rt.name == "per_message" {
					want = `alice: "again"`
				}
				if got := roundTrip(t, ctx, c, msg); got != want {
					t.Fatalf("echo %q, want %q", got, want)
				}
				c.Close(websocket.StatusNormalClosure, "")
				synctest.Wait()
				if n := len(ev.of(wsauth.EventAuthenticated)); n != 1 {
					t.Errorf("%d authenticated events", n)
				}
				closed := ev.of(wsauth.EventClosed)
				if len(closed) != 1 || closed[0].Subject != "alice" || closed[0].Reason != "gone" || closed[0].Code != int(websocket.StatusNormalClosure) {
					t.Errorf("closed events: %+v", closed)
				}
			})
		})
	}
}

func TestCrossOriginRefusedBeforeTheCredential(t *testing.T) {
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := verifier()
				a := wsauth.New(v, rt.strategy, &wsauth.Options{OriginPatterns: []string{"*.friend.example"}})
				n := newVNet(t, wsauth.Handler(a, echo))
				ctx := vctx(t)
				o := n.opts()
				o.HTTPHeader = http.Header{"Origin": {"https://evil.example"}}
				c, out := rt.dial(ctx, vURL, "alice-token", o)
				if c != nil || out.status != http.StatusForbidden {
					t.Fatalf("foreign origin: %v, want HTTP 403", out)
				}
				if v.Calls() != 0 {
					t.Fatalf("verifier called %d times for a foreign origin", v.Calls())
				}
				o = n.opts()
				o.HTTPHeader = http.Header{"Origin": {"https://app.friend.example"}}
				c, out = rt.dial(ctx, vURL, "alice-token", o)
				if c == nil {
					t.Fatalf("allowed origin refused: %v", out)
				}
				c.CloseNow()
			})
		})
	}
}

func TestRefusalsOverTheWire(t *testing.T) {
	type refusal struct {
		name   string
		opts   func(*wsauth.Options, *wsauthtest.Verifier)
		cred   string
		status int
		code   websocket.StatusCode
		reason string
	}
	refusals := []refusal{
		{"unknown credential", nil, "mallory-token", 401, 4401, "invalid"},
		{"expired", func(_ *wsauth.Options, v *wsauthtest.Verifier) {
			v.Set("old", wsauth.Principal{Subject: "alice", ExpiresAt: time.Now().Add(-time.Second)})
		}, "old", 401, 4401, "expired"},
		{"no subject", func(_ *wsauth.Options, v *wsauthtest.Verifier) { v.Set("anon", wsauth.Principal{}) }, "anon", 401, 4401, "invalid"},
		{"store down", func(_ *wsauth.Options, v *wsauthtest.Verifier) { v.SetError(wsauth.ErrUnavailable) }, "alice-token", 503, 1011, "unavailable"},
		{"verifier error of its own", func(_ *wsauth.Options, v *wsauthtest.Verifier) { v.SetError(errors.New("db said no")) }, "alice-token", 401, 4401, "invalid"},
		{"verifier panics", func(o *wsauth.Options, _ *wsauthtest.Verifier) {}, "panic", 500, 1011, "internal"},
		{"authorizer refuses", func(o *wsauth.Options, _ *wsauthtest.Verifier) {
			o.Authorizer = func(context.Context, wsauth.Principal, *http.Request) error { return errors.New("not a member") }
		}, "alice-token", 403, 4403, "forbidden"},
		{"authorizer revokes", func(o *wsauth.Options, _ *wsauthtest.Verifier) {
			o.Authorizer = func(context.Context, wsauth.Principal, *http.Request) error { return wsauth.ErrRevoked }
		}, "alice-token", 401, 4401, "revoked"},
		{"authorizer panics", func(o *wsauth.Options, _ *wsauthtest.Verifier) {
			o.Authorizer = func(context.Context, wsauth.Principal, *http.Request) error { panic("boom") }
		}, "alice-token", 500, 1011, "internal"},
	}
	for _, rt := range allRoutes {
		{
			s, name := rt.strategy, rt.name
			for _, rf := range refusals {
				t.Run(name+"/"+rf.name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						v := verifier()
						var ev events
						o := &wsauth.Options{Events: ev.hook}
						if rf.opts != nil {
							rf.opts(o, v)
						}
						var vf wsauth.Verifier = v
						if rf.cred == "panic" {
							vf = wsauth.VerifierFunc(func(context.Context, string, wsauth.Peer) (wsauth.Principal, error) { panic("boom") })
						}
						a := wsauth.New(vf, s, o)
						n := newVNet(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
							t.Error("a refused attempt reached the handler")
						}))
						c, out := rt.dial(vctx(t), vURL, rf.cred, n.opts())
						if c != nil {
							c.CloseNow()
							t.Fatal("accepted")
						}
						if rt.inBand() {
							if out.code != rf.code {
								t.Fatalf("answered %v, want close %d", out, rf.code)
							}
						} else if out.status != rf.status {
							t.Fatalf("answered %v, want HTTP %d", out, rf.status)
						}
						synctest.Wait()
						refused := ev.of(wsauth.EventRefused)
						if len(refused) != 1 || refused[0].Reason != rf.reason {
							t.Fatalf("refused events %+v, want one with reason %q", refused, rf.reason)
						}
					})
				})
			}
		}
	}
}

// TestSubprotocolWithoutCredential: a missing or malformed credential is
// an authentication failure (401, or 4401 in band, echoing the offered
// application protocol so that a browser sees the code), not "no
// acceptable subprotocol".
func TestSubprotocolWithoutCredential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := verifier()
		plain := wsauth.New(v, wsauth.Subprotocol{Protocols: []string{"chat.v1"}}, nil)
		inBand := wsauth.New(v, wsauth.Subprotocol{Protocols: []string{"chat.v1"}, InBand: true}, nil)
		mux := http.NewServeMux()
		mux.Handle("/plain", wsauth.Handler(plain, echo))
		mux.Handle("/inband", wsauth.Handler(inBand, echo))
		n := newVNet(t, mux)
		ctx := vctx(t)

		for _, tt := range []struct {
			offer []string
			code  websocket.StatusCode
		}{
			{[]string{"chat.v1"}, transport.CloseUnauthenticated},
			{[]string{"chat.v1", transport.SubprotocolPrefix}, transport.CloseUnauthenticated},
			{[]string{"chat.v1", transport.SubprotocolPrefix + "!!"}, transport.CloseMalformed},
		} {
			offer := tt.offer
			o := n.opts()
			o.Subprotocols = offer
			_, resp, err := websocket.Dial(ctx, vURL+"/plain", o)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("offer %q: %v %v, want 401", offer, resp, err)
			}
			o = n.opts()
			o.Subprotocols = offer
			c, _, err := websocket.Dial(ctx, vURL+"/inband", o)
			if err != nil {
				t.Fatalf("offer %q in band: %v", offer, err)
			}
			if c.Subprotocol() != "chat.v1" {
				t.Errorf("offer %q in band: echoed %q", offer, c.Subprotocol())
			}
			wantClose(t, ctx, c, tt.code)
		}
		// A credential, but no protocol the server speaks: 400, whatever
		// the mode, before the verifier.
		for _, path := range []string{"/plain", "/inband"} {
			_, resp, err := transport.DialSubprotocol(ctx, vURL+path, "alice-token", []string{"chat.v2"}, n.opts())
			if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s, unknown protocol: %v %v, want 400", path, resp, err)
			}
		}
		if v.Calls() != 0 {
			t.Errorf("verifier called %d times", v.Calls())
		}
		c, _, err := transport.DialSubprotocol(ctx, vURL+"/plain", "alice-token", []string{"chat.v2", "chat.v1"}, n.opts())
		if err != nil {
			t.Fatal(err)
		}
		if c.Subprotocol() != "chat.v1" {
			t.Errorf("echoed %q", c.Subprotocol())
		}
		c.CloseNow()
	})
}

// TestCredentialRemovedFromTheRequest: neither the handler nor the
// middleware around it can see the credential once wsauth has read it.
func TestCredentialRemovedFromTheRequest(t *testing.T) {
	for _, rt := range []route{queryRoute, subprotocolRoute, headerRoute, cookieRoute} {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seen := make(chan string, 2)
				a := wsauth.New(verifier(), rt.strategy, nil)
				// What a logging middleware could print: the URL, the
				// request line and every header.
				show := func(r *http.Request) string {
					var b strings.Builder
					r.Header.Write(&b)
					return r.URL.String() + " " + r.RequestURI + " " + b.String()
				}
				h := wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					seen <- show(c.Request())
				})
				logging := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(w, r)
					seen <- show(r)
				})
				n := newVNet(t, logging)
				c, out := rt.dial(vctx(t), vURL+"/ws?room=a", "alice-token", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				for range 2 {
					s := <-seen
					if strings.Contains(s, "alice-token") || strings.Contains(s, transport.SubprotocolPrefix) || strings.Contains(s, "ticket") {
						t.Errorf("credential visible: %q", s)
					}
					if !strings.Contains(s, "room=a") {
						t.Errorf("other parameters lost: %q", s)
					}
				}
			})
		})
	}
}

func TestMalformedTicketsNeverReachTheStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newCountingStore()
		a := wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil)
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for _, bad := range []string{"short", strings.Repeat("A", ticket.IDLen+1), strings.Repeat("!", ticket.IDLen), strings.Repeat("x", 5000)} {
			_, resp, err := transport.DialQuery(ctx, vURL, bad, n.opts())
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%.10q…: %v %v", bad, resp, err)
			}
		}
		if n := store.takes.Load(); n != 0 {
			t.Fatalf("store consulted %d times", n)
		}
	})
}

func TestTicketsSingleUseAndBoundToTheAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newCountingStore()
		a := wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, func(r *http.Request) string { return r.URL.Query().Get("room") }), wsauth.Query{}, nil)
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice", Scope: []string{"general"}})
		c, _, err := transport.DialQuery(ctx, vURL+"?room=general", id, n.opts())
		if err != nil {
			t.Fatal(err)
		}
		if got := roundTrip(t, ctx, c, "x"); got != "alice: x" {
			t.Errorf("echo %q", got)
		}
		c.CloseNow()
		if _, resp, err := transport.DialQuery(ctx, vURL+"?room=general", id, n.opts()); err == nil || resp.StatusCode != 401 {
			t.Errorf("second use: %v", err)
		}
		id = wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice", Scope: []string{"general"}})
		if _, resp, err := transport.DialQuery(ctx, vURL+"?room=secret", id, n.opts()); err == nil || resp.StatusCode != 403 {
			t.Errorf("other room: %v", err)
		}
		id = wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice", Scope: []string{"general"}})
		if _, resp, err := transport.DialQuery(ctx, vURL+"?room=general", id, n.from("127.0.0.2")); err == nil || resp.StatusCode != 401 {
			t.Errorf("from another address: %v", err)
		}
		// Burnt by the failed attempt, even from the right address.
		if _, resp, err := transport.DialQuery(ctx, vURL+"?room=general", id, n.opts()); err == nil || resp.StatusCode != 401 {
			t.Errorf("after a use from elsewhere: %v", err)
		}
	})
}

func TestStoreOutageRefusesWith503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: failingStore{}}, nil), wsauth.Query{}, nil)
		n := newVNet(t, wsauth.Handler(a, echo))
		id, _ := ticket.NewID()
		_, resp, err := transport.DialQuery(vctx(t), vURL, id, n.opts())
		if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%v %v", resp, err)
		}
	})
}

// TestAcceptErrors: Accept's error wraps the sentinel of its refusal.
func TestAcceptErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.FirstMessage{}, nil)
		errs := make(chan error, 1)
		n := newVNet(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := a.Accept(w, r)
			if c != nil {
				c.CloseNow()
			}
			errs <- err
		}))
		_, code, _ := dialFirst(vctx(t), vURL, "mallory-token", n.opts())
		if code != transport.CloseUnauthenticated {
			t.Fatalf("code %v", code)
		}
		err := <-errs
		if !errors.Is(err, wsauth.ErrInvalid) || strings.Contains(err.Error(), "mallory") {
			t.Fatalf("Accept error %q", err)
		}
	})
}

// TestNotAWebSocketHandshake: a request the WebSocket library refuses to
// upgrade is answered by the library alone, once, spends no failure
// budget and is reported as "upgrade".
func TestNotAWebSocketHandshake(t *testing.T) {
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				a := wsauth.New(verifier(), rt.strategy, &wsauth.Options{Events: ev.hook, Limiter: wsauth.NewLimiter(1, time.Hour)})
				n := newVNet(t, wsauth.Handler(a, echo))
				client := n.opts().HTTPClient
				for range 3 {
					req, _ := http.NewRequest(http.MethodGet, "http://wsauth.test/?ticket=alice-token", nil)
					req.Header.Set("Connection", "Upgrade")
					req.Header.Set("Upgrade", "websocket")
					req.Header.Set("Sec-WebSocket-Version", "13")
					req.Header.Set("Sec-WebSocket-Key", "bad")
					// The credential, in whichever carrier the route reads.
					req.Header.Set("Sec-WebSocket-Protocol", strings.Join(transport.SubprotocolOffer("alice-token"), ", "))
					req.Header.Set("Authorization", "Bearer alice-token")
					req.Header.Set("Cookie", "session=alice-token")
					req.Header.Set("Origin", "http://wsauth.test")
					resp, err := client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusBadRequest {
						t.Fatalf("answered %d, want 400", resp.StatusCode)
					}
				}
				// Still within its budget of one failure.
				c, out := rt.dial(vctx(t), vURL, "alice-token", n.opts())
				if c == nil {
					t.Fatalf("after three non-handshakes: %v", out)
				}
				c.CloseNow()
				synctest.Wait()
				refused := ev.of(wsauth.EventRefused)
				if len(refused) != 3 {
					t.Errorf("%d refused events for three non-handshakes, want 3", len(refused))
				}
				for _, e := range refused {
					if e.Reason != "upgrade" {
						t.Errorf("refused event %+v, want reason upgrade", e)
					}
				}
			})
		})
	}
}

// TestNonHandshakeSpendsNoCredential: a request that is no WebSocket
// handshake, carrying a valid single-use credential in every carrier, is
// refused with the status the WebSocket libraries give it before the
// credential is read: the Verifier is never called, so the ticket is not
// spent, and one event says why.
func TestNonHandshakeSpendsNoCredential(t *testing.T) {
	hs := func(r *http.Request) {
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	}
	cases := []struct {
		name   string
		method string
		edit   func(*http.Request)
		status int
		header string // a header the answer must carry
	}{
		{"plain GET", http.MethodGet, func(*http.Request) {}, http.StatusUpgradeRequired, "Sec-Websocket-Version"},
		{"POST", http.MethodPost, hs, http.StatusMethodNotAllowed, "Allow"},
		{"no Upgrade", http.MethodGet, func(r *http.Request) { hs(r); r.Header.Del("Upgrade") }, http.StatusUpgradeRequired, "Upgrade"},
		{"version 8", http.MethodGet, func(r *http.Request) { hs(r); r.Header.Set("Sec-WebSocket-Version", "8") }, http.StatusUpgradeRequired, "Sec-Websocket-Version"},
		{"short key", http.MethodGet, func(r *http.Request) { hs(r); r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, http.StatusBadRequest, ""},
		{"two keys", http.MethodGet, func(r *http.Request) { hs(r); r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, http.StatusBadRequest, ""},
		{"a body", http.MethodGet, func(r *http.Request) {
			hs(r)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("x")), 1
		}, http.StatusBadRequest, ""},
	}
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				good := verifier()
				v := wsauth.VerifierFunc(func(ctx context.Context, cred string, p wsauth.Peer) (wsauth.Principal, error) {
					calls.Add(1)
					return good.Verify(ctx, cred, p)
				})
				var ev events
				a := wsauth.New(v, rt.strategy, &wsauth.Options{Events: ev.hook})
				n := newVNet(t, wsauth.Handler(a, echo))
				client := n.opts().HTTPClient
				for _, tc := range cases {
					req, _ := http.NewRequest(tc.method, "http://wsauth.test/?ticket=alice-token", nil)
					tc.edit(req)
					req.Header.Set("Sec-WebSocket-Protocol", strings.Join(transport.SubprotocolOffer("alice-token"), ", "))
					req.Header.Set("Authorization", "Bearer alice-token")
					req.Header.Set("Cookie", "session=alice-token")
					req.Header.Set("Origin", "http://wsauth.test")
					resp, err := client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != tc.status {
						t.Errorf("%s: answered %d, want %d", tc.name, resp.StatusCode, tc.status)
					}
					if tc.header != "" && resp.Header.Get(tc.header) == "" {
						t.Errorf("%s: no %s in the answer", tc.name, tc.header)
					}
				}
				synctest.Wait()
				if n := calls.Load(); n != 0 {
					t.Errorf("the Verifier was called %d times", n)
				}
				got := ev.of(wsauth.EventRefused)
				if len(got) != len(cases) {
					t.Fatalf("%d refused events, want %d: %+v", len(got), len(cases), got)
				}
				for i, e := range got {
					if e.Reason != "upgrade" || e.Code != cases[i].status || !errors.Is(e.Err, wsauth.ErrMalformed) {
						t.Errorf("%s: event %+v", cases[i].name, e)
					}
				}
				if len(ev.of(wsauth.EventClosed)) != 0 || len(ev.of(wsauth.EventAuthenticated)) != 0 {
					t.Errorf("events of a connection: %+v %+v", ev.of(wsauth.EventAuthenticated), ev.of(wsauth.EventClosed))
				}
			})
		})
	}
}

// TestPanicOnALaterFrame: a Verifier that panics on a later per-message
// token closes that connection with 1011; the server goes on serving.
func TestPanicOnALaterFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good := verifier()
		v := wsauth.VerifierFunc(func(ctx context.Context, cred string, p wsauth.Peer) (wsauth.Principal, error) {
			if cred == "boom" {
				panic("verifier boom")
			}
			return good.Verify(ctx, cred, p)
		})
		n := newVNet(t, wsauth.Handler(wsauth.New(v, wsauth.PerMessage{}, nil), echo))
		ctx := vctx(t)
		for range 2 {
			c, out := perMessageRoute.dial(ctx, vURL, "alice-token", n.opts())
			if c == nil {
				t.Fatal(out)
			}
			c.Read(ctx)
			c.Write(ctx, websocket.MessageText, envelope(t, "boom", `1`))
			wantClose(t, ctx, c, websocket.StatusInternalError)
			c.CloseNow()
		}
	})
}

// TestRefusalOverHTTP2KeepsTheConnection: over HTTP/2, a refusal of a
// request with a body needs no Connection: close (HTTP/2 reads no unread
// body), and net/http would take one as a GOAWAY: one refused request
// would tear down the client's multiplexed connection, with every other
// stream on it.
func TestRefusalOverHTTP2KeepsTheConnection(t *testing.T) {
	a := wsauth.New(verifier(), wsauth.Query{}, nil)
	srv := httptest.NewUnstartedServer(wsauth.Handler(a, echo))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := srv.Client()

	do := func(method string, body io.Reader) {
		req, _ := http.NewRequest(method, srv.URL+"/ws", body)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("not HTTP/2: %s", resp.Proto)
		}
	}
	do(http.MethodGet, nil)                         // a plain GET: 426, over the one connection
	do(http.MethodPost, strings.NewReader("hello")) // 405
	// Further requests: on the same connection unless it was sent away.
	// Each round trip lets the server act on a pending GOAWAY.
	for i := 0; i < 50 && conns.Load() == 1; i++ {
		do(http.MethodGet, nil)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("HTTP/2 connections opened: %d, want 1: the refusal of a POST with a body sent GOAWAY on the shared connection", n)
	}
}

// TestUpgradedChecksHaveADeadline is the attack of a credential whose
// check never ends (a verifier or store that hangs) on the strategies
// that check it after the upgrade: the check's context ends at the
// answer's deadline, 10 s, whether the verifier waits on Done or only
// asks Err, and the client is refused with 1011.
func TestUpgradedChecksHaveADeadline(t *testing.T) {
	for _, rt := range []route{firstMessageRoute, perMessageRoute} {
		for _, waits := range []string{"Done", "Err"} {
			t.Run(rt.name+"/"+waits, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var took atomic.Int64
					v := wsauth.VerifierFunc(func(ctx context.Context, _ string, _ wsauth.Peer) (wsauth.Principal, error) {
						start := time.Now()
						if waits == "Done" {
							<-ctx.Done()
						} else {
							for ctx.Err() == nil {
								time.Sleep(time.Second)
							}
						}
						took.Store(int64(time.Since(start)))
						return wsauth.Principal{}, fmt.Errorf("%w: %w", wsauth.ErrUnavailable, ctx.Err())
					})
					n := newVNet(t, wsauth.Handler(wsauth.New(v, rt.strategy, nil), echo))
					c, out := rt.dial(vctx(t), vURL, "alice-token", n.opts())
					if c != nil {
						c.CloseNow()
						t.Fatal("a check that never ended accepted the connection")
					}
					if out.code != websocket.StatusInternalError {
						t.Errorf("refused with %v, want 1011", out)
					}
					if d := time.Duration(took.Load()); d != 10*time.Second {
						t.Errorf("the check ended after %v, want 10s", d)
					}
				})
			})
		}
	}
}
