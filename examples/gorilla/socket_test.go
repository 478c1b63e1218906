package main

// Tests of the gorilla adapter itself (socket.go): the bounds wsauth relies
// on, in virtual time, and the read limit over real TCP.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	coder "github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/memnet"
	"github.com/wsauth/wsauth/internal/rawws"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// serveSocket serves, inside a synctest bubble, one connection upgraded
// with Upgrade, and runs fn with its Socket on the server's goroutine.
// It returns the memnet listener to dial.
func serveSocket(t *testing.T, opts *memnet.Options, fn func(*Socket)) *memnet.Listener {
	l := memnet.Listen(nil, opts)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := Upgrade(w, r, "")
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer s.(*Socket).CloseNow()
		fn(s.(*Socket))
	})}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return l
}

// dialSocket dials the connection of serveSocket.
func dialSocket(t *testing.T, l *memnet.Listener) *coder.Conn {
	client := l.Client(nil)
	t.Cleanup(client.CloseIdleConnections)
	c, _, err := coder.Dial(t.Context(), "ws://example.test/", &coder.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// TestUpgradeBoundsThe101: a client that does not read the 101 holds the
// upgrade for HandshakeTimeout, 10 s, not forever: wsauth cannot bound that
// write, as gorilla hijacks the connection before it writes.
func TestUpgradeBoundsThe101(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type result struct {
			err error
			d   time.Duration
		}
		done := make(chan result, 1)
		nc := rawws.Serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			_, err := Upgrade(w, r, "")
			done <- result{err, time.Since(start)}
		})}, 16) // smaller than the 101
		io.WriteString(nc, rawws.Upgrade("/")+"\r\n")
		if r := <-done; r.err == nil || r.d != 10*time.Second {
			t.Fatalf("Upgrade returned %v after %v, want an error after 10s", r.err, r.d)
		}
	})
}

// TestSocketWrite: a Write to a peer that does not read gives up at ctx's
// deadline; one whose ctx is cancelled, when it is; one queued behind
// another writer, at its own deadline.
func TestSocketWrite(t *testing.T) {
	for _, name := range []string{"deadline", "cancel", "queued"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				done := make(chan time.Duration, 1)
				l := serveSocket(t, &memnet.Options{BufferSize: 1 << 10}, func(s *Socket) {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					switch name {
					case "cancel":
						ctx, cancel = context.WithCancel(context.Background())
						time.AfterFunc(time.Second, cancel)
					case "queued":
						// Blocked for good, until the connection closes.
						go s.Write(context.Background(), coder.MessageBinary, make([]byte, 64<<10))
						synctest.Wait()
					}
					defer cancel()
					start := time.Now()
					for s.Write(ctx, coder.MessageBinary, make([]byte, 4<<10)) == nil {
					}
					done <- time.Since(start)
				})
				dialSocket(t, l) // and never read
				if d := <-done; d != time.Second {
					t.Fatalf("Write gave up after %v, want 1s", d)
				}
			})
		})
	}
}

// TestSocketReadContext: a Read whose ctx ends returns then, with ctx's
// error; Close still sends its close frame afterwards.
func TestSocketReadContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type result struct {
			err error
			d   time.Duration
		}
		done := make(chan result, 1)
		l := serveSocket(t, nil, func(s *Socket) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			start := time.Now()
			_, _, err := s.Read(ctx)
			done <- result{err, time.Since(start)}
			s.Close(4000, "bye")
		})
		c := dialSocket(t, l)
		if r := <-done; !errors.Is(r.err, context.Canceled) || r.d != time.Second {
			t.Fatalf("Read returned %v after %v, want context.Canceled after 1s", r.err, r.d)
		}
		if _, _, err := c.Read(t.Context()); coder.CloseStatus(err) != 4000 {
			t.Fatalf("client read %v, want close 4000", err)
		}
	})
}

// TestSocketCloseWhileReading: Close, while a Read waits, sends the close
// frame; the peer's answer ends the Read with a coder.CloseError (so that
// coder.CloseStatus works on it) and Close returns at once.
func TestSocketCloseWhileReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		readErr, closed := make(chan error, 1), make(chan time.Duration, 1)
		l := serveSocket(t, nil, func(s *Socket) {
			go func() {
				_, _, err := s.Read(context.Background())
				readErr <- err
			}()
			synctest.Wait() // the Read waits
			start := time.Now()
			s.Close(4001, "closing")
			closed <- time.Since(start)
		})
		c := dialSocket(t, l)
		_, _, err := c.Read(t.Context()) // the close frame; coder answers it
		var ce coder.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "closing" {
			t.Fatalf("client read %v, want close 4001 closing", err)
		}
		if err := <-readErr; coder.CloseStatus(err) != 4001 {
			t.Fatalf("server Read returned %v, want the peer's close 4001", err)
		}
		if d := <-closed; d != 0 {
			t.Fatalf("Close took %v, want no wait once the peer answered", d)
		}
	})
}

// TestSocketCloseBounded: Close waits for a peer that never answers its
// close frame for closeTimeout, and no longer.
func TestSocketCloseBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		closed := make(chan time.Duration, 1)
		l := serveSocket(t, nil, func(s *Socket) {
			start := time.Now()
			s.Close(4002, "")
			closed <- time.Since(start)
		})
		dialSocket(t, l) // and never read
		if d := <-closed; d != closeTimeout {
			t.Fatalf("Close took %v, want %v", d, closeTimeout)
		}
	})
}

// TestTooLarge: over real TCP, a first frame over the strategy's read limit
// is refused with 1009 (gorilla's ErrReadLimit is coder's
// ErrMessageTooBig to wsauth, whose event says too_large), and the client
// reads the 1009 although it sent more than the server read.
func TestTooLarge(t *testing.T) {
	e := newEnv(t, nil)
	for _, rt := range []route{wsFirst, wsPer} {
		t.Run(rt.name, func(t *testing.T) {
			ctx := testCtx(t, 10*time.Second)
			frame := `{"type":"auth","token":"` + e.ticket("alice") + `","pad":"` + strings.Repeat("p", 64<<10) + `"}`
			if rt == wsPer {
				frame = `{"token":"` + e.jwt("alice", lifetime) + `","data":"` + strings.Repeat("p", 64<<10) + `"}`
			}
			c, _, err := coder.Dial(ctx, e.base+"/"+rt.name+"/general", e.opts())
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := c.Write(ctx, coder.MessageText, []byte(frame)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Read(ctx); coder.CloseStatus(err) != coder.StatusMessageTooBig {
				t.Fatalf("read %v, want close 1009", err)
			}
		})
	}
	ctx := testCtx(t, 10*time.Second)
	if _, err := e.events.wait(ctx, 2, func(ev wsauth.Event) bool { return ev.Reason == "too_large" && ev.Code == 1009 }); err != nil {
		t.Fatalf("too_large events: %v", err)
	}
}

// TestHandlerRoutesAreGorilla: the in-band routes are answered by gorilla,
// not by wsauth's default (coder/websocket): gorilla hijacks the connection
// and writes its 101 itself, without the Date header net/http writes for
// coder's.
func TestHandlerRoutesAreGorilla(t *testing.T) {
	e := newEnv(t, nil)
	ctx := testCtx(t, 10*time.Second)
	for _, rt := range inBandRoutes {
		// A forged credential suffices: in band, the refusal comes
		// after the upgrade.
		url := e.base + "/" + rt.name + "/general"
		if rt == wsQuery {
			url, _ = transport.WithQuery(url, "", e.forged(rt))
		}
		o := &coder.DialOptions{}
		if rt == wsSubprotocol {
			o.Subprotocols = transport.SubprotocolOffer(e.forged(rt), appProtocol)
		}
		c, resp, err := coder.Dial(ctx, url, o)
		if err != nil {
			t.Fatalf("%s: %v", rt.name, err)
		}
		c.CloseNow()
		if _, ok := resp.Header["Date"]; ok || resp.Header.Get("Sec-WebSocket-Accept") == "" {
			t.Errorf("%s: not gorilla's 101: %v", rt.name, resp.Header)
		}
	}
}
