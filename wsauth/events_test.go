package wsauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// TestEventsHookPanicIsReportedOnce: a panicking hook takes no connection
// down, and its first panic is logged through log/slog.
func TestEventsHookPanicIsReportedOnce(t *testing.T) {
	var logs syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	synctest.Test(t, func(t *testing.T) {
		a := wsauth.New(verifier(), wsauth.FirstMessage{}, &wsauth.Options{Events: func(context.Context, wsauth.Event) {
			panic("metrics exploded")
		}})
		n := newVNet(t, wsauth.Handler(a, echo))
		ctx := vctx(t)
		for range 3 {
			c, _, err := transport.DialFirstMessage(ctx, vURL, "alice-token", n.opts())
			if err != nil {
				t.Fatal(err)
			}
			if got := roundTrip(t, ctx, c, "x"); got != "alice: x" {
				t.Fatalf("echo %q", got)
			}
			c.Close(websocket.StatusNormalClosure, "")
			dialFirst(ctx, vURL, "mallory", n.opts())
		}
		synctest.Wait()
	})
	if n := strings.Count(logs.String(), "metrics exploded"); n != 1 {
		t.Fatalf("the panic was logged %d times:\n%s", n, logs.String())
	}
}

func TestSlogEvents(t *testing.T) {
	var buf bytes.Buffer
	hook := wsauth.SlogEvents(slog.New(slog.NewTextHandler(&buf, nil)))
	hook(context.Background(), wsauth.Event{Kind: wsauth.EventRefused, Reason: "expired", Subject: "alice", Code: 4401, Err: wsauth.ErrExpired})
	hook(context.Background(), wsauth.Event{Kind: wsauth.EventClosed, Reason: "gone", Subject: "bob", Code: 1000})
	got := buf.String()
	for _, want := range []string{"level=WARN msg=\"wsauth: refused\" reason=expired subject=alice code=4401", "level=INFO msg=\"wsauth: closed\" reason=gone subject=bob code=1000"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// TestEveryClosedFollowsAuthenticated: a connection ended before the
// client heard of its success (the upgrade library refuses after the
// credential was accepted; the client is gone before auth_ok) still gives
// exactly one EventAuthenticated and then one EventClosed, so a gauge of
// live connections kept from the two never goes below zero.
func TestEveryClosedFollowsAuthenticated(t *testing.T) {
	t.Run("upgrade refused after the check", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ev events
			refuse := func(w http.ResponseWriter, r *http.Request, _ string) (wsauth.Socket, error) {
				http.Error(w, "no", http.StatusBadRequest)
				return nil, errors.New("refused by the library")
			}
			a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Events: ev.hook, Upgrade: refuse})
			n := newVNet(t, wsauth.Handler(a, echo))
			if _, _, err := transport.DialQuery(vctx(t), vURL, "alice-token", n.opts()); err == nil {
				t.Fatal("dialled through a refused upgrade")
			}
			synctest.Wait()
			checkPairs(t, &ev, 1)
		})
	})
	t.Run("gone before auth_ok", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ev events
			ok := make(chan struct{})
			v := wsauth.VerifierFunc(func(ctx context.Context, cred string, p wsauth.Peer) (wsauth.Principal, error) {
				<-ok // the client has gone by now
				return verifier().Verify(ctx, cred, p)
			})
			a := wsauth.New(v, wsauth.FirstMessage{}, &wsauth.Options{Events: ev.hook})
			n := newVNet(t, wsauth.Handler(a, echo))
			c, _, err := websocket.Dial(vctx(t), vURL, n.opts())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := transport.AppendControl(nil, transport.TypeAuth, "alice-token")
			if err := c.Write(vctx(t), websocket.MessageText, b); err != nil {
				t.Fatal(err)
			}
			c.CloseNow()
			synctest.Wait()
			close(ok)
			synctest.Wait()
			checkPairs(t, &ev, 1)
		})
	})
}

// checkPairs checks that the events hold n connections, each one
// EventAuthenticated and, after it, one EventClosed.
func checkPairs(t *testing.T, ev *events, n int) {
	t.Helper()
	ev.mu.Lock()
	defer ev.mu.Unlock()
	live, opened := 0, 0
	for _, e := range ev.all {
		switch e.Kind {
		case wsauth.EventAuthenticated:
			live++
			opened++
		case wsauth.EventClosed:
			live--
			if live < 0 {
				t.Fatalf("EventClosed without EventAuthenticated: %+v", ev.all)
			}
		}
	}
	if live != 0 || opened != n {
		t.Fatalf("%d opened, %d left open, want %d and 0: %+v", opened, live, n, ev.all)
	}
}

// TestPeerGoneBeforeAuthFrame: a client that leaves before its auth frame
// was sent nothing, and its refusal says so (Code 0), whichever in-band
// strategy.
func TestPeerGoneBeforeAuthFrame(t *testing.T) {
	for _, s := range []wsauth.Strategy{wsauth.FirstMessage{}, wsauth.PerMessage{}} {
		synctest.Test(t, func(t *testing.T) {
			var ev events
			a := wsauth.New(verifier(), s, &wsauth.Options{Events: ev.hook})
			n := newVNet(t, wsauth.Handler(a, echo))
			c, _, err := websocket.Dial(vctx(t), vURL, n.opts())
			if err != nil {
				t.Fatal(err)
			}
			c.CloseNow()
			synctest.Wait()
			got := ev.of(wsauth.EventRefused)
			if len(got) != 1 || got[0].Reason != "no_credential" || got[0].Code != 0 {
				t.Fatalf("%T: refused events %+v, want one no_credential with Code 0", s, got)
			}
		})
	}
}

// TestRequestContextEndsMidHandshake: a router's request timeout (chi's
// middleware.Timeout) cancels the request's context while an in-band
// client is still to send its auth frame. The checks do not run on that
// context: a valid credential is accepted, and the connection lives on.
func TestRequestContextEndsMidHandshake(t *testing.T) {
	for _, s := range []wsauth.Strategy{wsauth.FirstMessage{}, wsauth.PerMessage{}} {
		synctest.Test(t, func(t *testing.T) {
			v := wsauth.VerifierFunc(func(ctx context.Context, cred string, p wsauth.Peer) (wsauth.Principal, error) {
				if err := ctx.Err(); err != nil {
					return wsauth.Principal{}, fmt.Errorf("%w: %w", wsauth.ErrUnavailable, err) // as a store would
				}
				return verifier().Verify(ctx, cred, p)
			})
			a := wsauth.New(v, s, nil)
			upgraded := make(chan context.CancelFunc, 1)
			h := wsauth.Handler(a, echo)
			n := newVNet(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, cancel := context.WithCancel(r.Context())
				upgraded <- cancel
				h.ServeHTTP(w, r.WithContext(ctx))
			}))
			var dial func() (*websocket.Conn, error)
			switch s.(type) {
			case wsauth.FirstMessage:
				dial = func() (*websocket.Conn, error) {
					c, _, err := websocket.Dial(vctx(t), vURL, n.opts())
					if err != nil {
						return nil, err
					}
					(<-upgraded)() // the request's context ends before the auth frame
					b, _ := transport.AppendControl(nil, transport.TypeAuth, "alice-token")
					return c, c.Write(vctx(t), websocket.MessageText, b)
				}
			case wsauth.PerMessage:
				dial = func() (*websocket.Conn, error) {
					c, _, err := websocket.Dial(vctx(t), vURL, n.opts())
					if err != nil {
						return nil, err
					}
					(<-upgraded)()
					b, _ := transport.AppendEnvelope(nil, "alice-token", []byte(`"hi"`))
					return c, c.Write(vctx(t), websocket.MessageText, b)
				}
			}
			c, err := dial()
			if err != nil {
				t.Fatalf("%T: %v", s, err)
			}
			defer c.CloseNow()
			_, b, err := c.Read(vctx(t))
			if err != nil || !strings.Contains(string(b), `"auth_ok"`) {
				t.Fatalf("%T: first frame %q, %v; want auth_ok", s, b, err)
			}
		})
	}
}

// TestUpgradePanicUnregisters: an Options.Upgrade that panics after the
// credential was accepted panics on the handler's goroutine, where
// net/http recovers it, and the connection it was to be leaves the
// Registry: a revocation finds nothing, and the events pair up.
func TestUpgradePanicUnregisters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		reg := wsauth.NewRegistry(nil, nil)
		boom := func(http.ResponseWriter, *http.Request, string) (wsauth.Socket, error) { panic("upgrade bug") }
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Events: ev.hook, Upgrade: boom, Registry: reg})
		srv := &http.Server{Handler: wsauth.Handler(a, echo), ErrorLog: log.New(io.Discard, "", 0)}
		n := newVNetServer(t, srv)
		if _, _, err := transport.DialQuery(vctx(t), vURL, "alice-token", n.opts()); err == nil {
			t.Fatal("dialled through a panicking upgrade")
		}
		synctest.Wait()
		checkPairs(t, &ev, 1)
		if err := reg.Revoke(t.Context(), "alice", "test"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := ev.of(wsauth.EventClosed); len(got) != 1 || got[0].Reason != "gone" {
			t.Fatalf("closed events %+v, want one, gone", got)
		}
	})
}

// TestEventContexts: an authenticated connection's events (authenticated,
// refreshed, closed) carry its principal for PrincipalFrom, on a Conn and
// behind Middleware; a refused handshake's carries none.
func TestEventContexts(t *testing.T) {
	for _, tc := range []struct {
		name string
		mw   bool
	}{{"Handler", false}, {"Middleware", true}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				type seen struct {
					kind    wsauth.EventKind
					subject string
				}
				got := make(chan seen, 16)
				hook := func(ctx context.Context, e wsauth.Event) {
					p, _ := wsauth.PrincipalFrom(ctx)
					got <- seen{e.Kind, p.Subject}
				}
				a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Events: hook})
				h := wsauth.Handler(a, echo)
				if tc.mw {
					h = a.Middleware(plainEcho(t))
				}
				n := newVNet(t, h)
				ctx := vctx(t)
				c, out := queryRoute.dial(ctx, vURL, "alice-token", n.opts())
				if c == nil {
					t.Fatal(out)
				}
				if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
					t.Fatalf("echo %q", got)
				}
				c.Close(websocket.StatusNormalClosure, "")
				if c, out := queryRoute.dial(ctx, vURL, "mallory", n.opts()); c != nil {
					t.Fatalf("mallory accepted: %v", out)
				}
				synctest.Wait()
				want := map[wsauth.EventKind]string{wsauth.EventAuthenticated: "alice", wsauth.EventClosed: "alice", wsauth.EventRefused: ""}
				for range 3 {
					select {
					case s := <-got:
						if w, ok := want[s.kind]; !ok || s.subject != w {
							t.Errorf("event %v: PrincipalFrom its context gives %q", s.kind, s.subject)
						}
						delete(want, s.kind)
					default:
						t.Fatalf("events missing: %v", want)
					}
				}
			})
		})
	}
}
