package wsauth_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/rawws"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// TestRevokeWhileAuthOKIsStalled is the attack of a client that floods
// pings and does not read: the server's pongs fill the buffer towards the
// client, so its auth_ok write blocks. A Revoke while it is blocked must
// reach the connection: once the client drains, it reads a close 4401, and
// the handler never runs. (The handshake strategies read no frame before
// their success answer, so a flood cannot stall it; TestRevokeDuringAccept
// covers them.) The in-memory network makes the stall exact:
// the pongs fill the buffer to within a few bytes, and synctest.Wait
// returns only once the server is blocked in that write.
func TestRevokeWhileAuthOKIsStalled(t *testing.T) {
	for _, rt := range []route{firstMessageRoute, perMessageRoute} {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := wsauth.NewRegistry(nil, nil)
				var served atomic.Bool
				a := wsauth.New(verifier(), rt.strategy, &wsauth.Options{Registry: reg})
				h := wsauth.Handler(a, func(context.Context, *wsauth.Conn) {
					served.Store(true) // and close with 1000
				})
				frame := authFrame(t, rt, "alice-token")
				code := rawws.StalledAnswer(t, h, frame, func() {
					if err := reg.Revoke(t.Context(), "alice", "logged out"); err != nil {
						t.Fatal(err)
					}
				})
				if code != transport.CloseUnauthenticated {
					t.Fatalf("closed with %d, want 4401", code)
				}
				if served.Load() {
					t.Fatal("the revoked connection was served")
				}
			})
		})
	}
}

// TestStalled101IsBounded: a client that sends its upgrade request and
// never reads, with a network that buffers less than the 101, holds the
// upgrade for answerTimeout (10 s), not forever.
func TestStalled101IsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Events: ev.hook})
		type result struct {
			err error
			d   time.Duration
		}
		done := make(chan result, 1)
		nc := rawws.Serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			c, err := a.Accept(w, r)
			if c != nil {
				c.CloseNow()
			}
			done <- result{err, time.Since(start)}
		})}, 16) // smaller than the 101
		io.WriteString(nc, rawws.Upgrade("/?ticket=alice-token")+"\r\n")
		// The write of the 101 fails at the deadline; coder/websocket
		// does not see that (net/http's WriteHeader returns nothing), so
		// Accept may even return a connection, whose first write fails.
		if r := <-done; r.d != 10*time.Second {
			t.Fatalf("Accept returned %v after %v, want it after 10s", r.err, r.d)
		}
		synctest.Wait()
		checkPairs(t, &ev, 1)
	})
}

// TestStalledRefusalIsBounded: the same client with a bad ticket. The
// refusal (401 and its body) fits net/http's buffer, so Accept returns at
// once; net/http writes it after the handler, and that write holds the
// connection for answerTimeout, not forever.
func TestStalledRefusalIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.Query{}, nil)
		refused := make(chan error, 1)
		closed := make(chan struct{})
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := a.Accept(w, r)
				refused <- err
			}),
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateClosed {
					close(closed)
				}
			},
		}
		nc := rawws.Serve(t, srv, 16) // smaller than a 401
		start := time.Now()
		io.WriteString(nc, rawws.Upgrade("/?ticket=mallory-token")+"\r\n")
		if err := <-refused; !errors.Is(err, wsauth.ErrInvalid) {
			t.Fatalf("Accept: %v, want ErrInvalid", err)
		}
		<-closed
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("the refused connection was held %v, want 10s", d)
		}
	})
}

// TestStalled101IsBoundedBehindMiddleware: the same client against
// Middleware in front of a handler that upgrades with coder/websocket,
// which writes the 101 before it hijacks: the write fails at wsauth's
// deadline, and the session ends.
func TestStalled101IsBoundedBehindMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Events: ev.hook})
		done := make(chan time.Duration, 1)
		nc := rawws.Serve(t, &http.Server{Handler: a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			if c, err := websocket.Accept(w, r, nil); err == nil {
				c.CloseNow()
			}
			done <- time.Since(start)
		}))}, 16) // smaller than the 101
		io.WriteString(nc, rawws.Upgrade("/?ticket=alice-token")+"\r\n")
		if d := <-done; d != 10*time.Second {
			t.Fatalf("the upgrade behind Middleware returned after %v, want 10s", d)
		}
		nc.Close()
		synctest.Wait()
		checkPairs(t, &ev, 1)
	})
}

// TestTrickledAuthFrameTimesOut is the attack of a client that sends its
// first frame one byte a second: each byte is progress, but the auth
// deadline bounds the whole frame, not the gap between bytes. The socket
// is closed 4408 at the Timeout after the upgrade, and the handler never
// runs.
func TestTrickledAuthFrameTimesOut(t *testing.T) {
	for _, rt := range []route{firstMessageRoute, perMessageRoute} {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				var served atomic.Bool
				a := wsauth.New(verifier(), rt.strategy, &wsauth.Options{Events: ev.hook})
				nc, br := rawws.Upgraded(t, wsauth.Handler(a, func(context.Context, *wsauth.Conn) { served.Store(true) }), 0)
				upgraded := time.Now()
				frame := authFrame(t, rt, "alice-token")
				raw := rawws.ClientFrame(nil, 0x1, frame)
				if len(raw) < 12 {
					t.Fatalf("frame of %d bytes: too short to trickle past the timeout", len(raw))
				}
				stop := make(chan struct{})
				trickled := make(chan struct{})
				go func() {
					defer close(trickled)
					for i := range raw {
						if _, err := nc.Write(raw[i : i+1]); err != nil {
							return
						}
						select {
						case <-time.After(time.Second):
						case <-stop:
							return
						}
					}
				}()
				code, err := rawws.LastClose(br)
				if err != nil || code != transport.CloseAuthTimeout {
					t.Fatalf("closed with %d (%v), want 4408", code, err)
				}
				if d := time.Since(upgraded); d != 10*time.Second {
					t.Fatalf("closed %v after the upgrade, want 10s", d)
				}
				close(stop)
				<-trickled
				nc.Close()
				synctest.Wait()
				if served.Load() {
					t.Fatal("the handler ran")
				}
				if r := ev.of(wsauth.EventRefused); len(r) != 1 || r[0].Reason != "timeout" {
					t.Fatalf("refused events %+v, want one timeout", r)
				}
			})
		})
	}
}

// TestStalledAnswerIsBounded is the attack of a client that floods pings
// and never reads again, so that the server's pongs fill the buffer
// towards it and whatever the server writes next blocks: auth_ok after a
// good credential, the refusal's close frame after a bad one. Neither
// write may hold the handler's goroutine past its deadline (10 s), and
// nothing is served.
func TestStalledAnswerIsBounded(t *testing.T) {
	for _, rt := range []route{firstMessageRoute, perMessageRoute} {
		for _, cred := range []string{"alice-token", "wrong-token"} {
			t.Run(rt.name+"/"+cred, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					a := wsauth.New(verifier(), rt.strategy, nil)
					nc, done := acceptRaw(t, a)
					start := time.Now()
					frame := authFrame(t, rt, cred)
					// Pongs to fill the buffer to 8 bytes short, then the
					// credential; nothing is read from now on.
					go nc.Write(rawws.ClientFrame(rawws.PingFlood(nil, rawBuf-8), 0x1, frame))
					r := <-done
					if d := r.at.Sub(start); r.err == nil || d > 10*time.Second {
						t.Fatalf("Accept returned %v after %v, want an error within 10s", r.err, d)
					} else if d < time.Second {
						t.Fatalf("Accept returned after %v: the answer never stalled, so this attack did not happen", d)
					}
					if r.served {
						t.Fatal("served")
					}
				})
			})
		}
	}
}

// rawBuf is what acceptRaw's connection buffers towards the client: a
// ping flood of about as much fills it.
const rawBuf = 8 << 10

// accepted is what Accept answered on acceptRaw's connection, and when.
type accepted struct {
	err    error
	served bool // Accept returned a Conn (closed at once)
	at     time.Time
}

// acceptRaw serves a's Accept on a raw connection, upgraded already
// (rawws.Upgraded), that buffers rawBuf bytes towards the client, and
// reports what Accept returned.
func acceptRaw(t *testing.T, a *wsauth.Authenticator) (net.Conn, <-chan accepted) {
	t.Helper()
	done := make(chan accepted, 1)
	nc, _ := rawws.Upgraded(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Accept(w, r)
		if c != nil {
			c.CloseNow()
		}
		done <- accepted{err, c != nil, time.Now()}
	}), rawBuf)
	return nc, done
}

// authFrame is the first frame an in-band route's client sends with cred:
// an auth frame, or a per-message envelope.
func authFrame(t *testing.T, rt route, cred string) []byte {
	t.Helper()
	if _, ok := rt.strategy.(wsauth.PerMessage); ok {
		return envelope(t, cred, `"hi"`)
	}
	frame, err := transport.AppendControl(nil, transport.TypeAuth, cred)
	if err != nil {
		t.Fatal(err)
	}
	return frame
}

// TestStalledWriterDoesNotPinTheConnection: a client that stops reading
// stalls a handler's Write; a second Write, with a deadline of its own,
// gives up waiting for the first and so ends the connection ("gone").
// The handler's context ends then, and what is running on it must end
// too: the stalled Write, a Read that was waiting for the client, and a
// Read started afterwards. Were the socket left open, the connection,
// unregistered already, would be held by the client for as long as it
// likes, out of reach of Revoke and of its expiry.
func TestStalledWriterDoesNotPinTheConnection(t *testing.T) {
	for _, rt := range []route{queryRoute, firstMessageRoute} {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				served := make(chan struct{})
				a := wsauth.New(verifier(), rt.strategy, nil)
				n := newVNet(t, wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
					defer close(served)
					rawws.StalledWriter(t, ctx, c)
				}))
				ctx := vctx(t)
				c, out := rt.dial(ctx, vURL, "alice-token", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				defer c.CloseNow()
				<-served // the client reads nothing
			})
		})
	}
}

// TestRefusalOfAnUnsentBodyIsBounded is the attack of a client that
// announces a request body and never sends it. net/http reads up to
// 256 KiB of an unread body, with no deadline, before it writes a
// handler's answer; wsauth refuses such a request and has net/http close
// the connection instead, so the client reads its refusal at once and the
// connection is gone. An HTTP/1.0 request is refused the same way before
// its credential is read: the libraries refuse it after the credential
// had been spent. On every route, through Handler and, for the handshake
// strategies, Middleware.
func TestRefusalOfAnUnsentBodyIsBounded(t *testing.T) {
	const same = "Origin: http://wsauth.test\r\n" // the Cookie strategy needs one
	cases := []unsentBody{
		{"Content-Length", rawws.Upgrade("/?ticket=alice-token") + same + "Content-Length: 100\r\n\r\n", http.StatusBadRequest, "upgrade"},
		{"chunked", rawws.Upgrade("/?ticket=alice-token") + same + "Transfer-Encoding: chunked\r\n\r\n", http.StatusBadRequest, "upgrade"},
		{"cross-origin", rawws.Upgrade("/?ticket=alice-token") + "Origin: https://evil.example\r\nContent-Length: 100\r\n\r\n", http.StatusForbidden, "origin"},
		{"HTTP/1.0", strings.Replace(rawws.Upgrade("/?ticket=alice-token"), "HTTP/1.1", "HTTP/1.0", 1) + same + "\r\n", http.StatusUpgradeRequired, "upgrade"},
	}
	handler := func(a *wsauth.Authenticator) http.Handler { return wsauth.Handler(a, echo) }
	for _, rt := range allRoutes {
		runUnsentBody(t, rt.name+"/Handler", rt.strategy, handler, cases)
		if mw, ok := middlewareOf(rt.strategy); ok {
			runUnsentBody(t, rt.name+"/Middleware", rt.strategy, mw, cases)
		}
	}
}

// middlewareOf returns a maker of Middleware over a next that must never
// run, for a handshake strategy; false for the in-band ones, which
// Middleware refuses.
func middlewareOf(s wsauth.Strategy) (func(*wsauth.Authenticator) http.Handler, bool) {
	ok := func() (ok bool) {
		defer func() { ok = recover() == nil }()
		wsauth.New(verifier(), s, nil).Middleware(http.NotFoundHandler())
		return
	}()
	return func(a *wsauth.Authenticator) http.Handler { return a.Middleware(http.NotFoundHandler()) }, ok
}

// unsentBody is a request of TestRefusalOfAnUnsentBodyIsBounded and its
// refusal.
type unsentBody struct {
	name, request string
	status        int
	reason        string // of the refused event
}

func runUnsentBody(t *testing.T, name string, s wsauth.Strategy, serve func(*wsauth.Authenticator) http.Handler, cases []unsentBody) {
	for _, tc := range cases {
		t.Run(name+"/"+tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := verifier()
				var ev events
				a := wsauth.New(v, s, &wsauth.Options{Events: ev.hook})
				closed := make(chan struct{})
				srv := &http.Server{
					Handler: serve(a),
					ConnState: func(_ net.Conn, s http.ConnState) {
						if s == http.StateClosed {
							close(closed)
						}
					},
				}
				nc := rawws.Serve(t, srv, 0)
				start := time.Now()
				io.WriteString(nc, tc.request)
				resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				<-closed
				if resp.StatusCode != tc.status || time.Since(start) != 0 {
					t.Fatalf("answered %d after %v, want %d at once", resp.StatusCode, time.Since(start), tc.status)
				}
				if v.Calls() != 0 {
					t.Fatalf("the Verifier was called %d times", v.Calls())
				}
				if got := ev.of(wsauth.EventRefused); len(got) != 1 || got[0].Reason != tc.reason {
					t.Fatalf("refused events %+v, want one %q", got, tc.reason)
				}
			})
		})
	}
}
