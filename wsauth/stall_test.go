package wsauth_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/memnet"
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
				const buf = 8 << 10
				reg := wsauth.NewRegistry(nil, nil)
				var served atomic.Bool
				a := wsauth.New(verifier(), rt.strategy, &wsauth.Options{Registry: reg})
				l := memnet.Listen(nil, &memnet.Options{BufferSize: buf})
				srv := &http.Server{Handler: wsauth.Handler(a, func(context.Context, *wsauth.Conn) {
					served.Store(true) // and close with 1000
				})}
				go srv.Serve(l)
				defer srv.Close()

				nc, err := l.Dial(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				br := bufio.NewReader(nc)
				req := "GET / HTTP/1.1\r\nHost: wsauth.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
				if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("upgrade: %v %v", resp, err)
				}
				// Pings whose pongs fill the buffer to 8 bytes short, then
				// the credential; the client reads nothing from now on.
				var frames []byte
				left := buf - 8
				for left > 0 {
					n := min(125, left-2)
					frames = clientFrame(frames, 0x9, make([]byte, n))
					left -= n + 2
				}
				switch rt.strategy.(type) {
				case wsauth.FirstMessage:
					auth, _ := transport.AppendControl(nil, transport.TypeAuth, "alice-token")
					frames = clientFrame(frames, 0x1, auth)
				case wsauth.PerMessage:
					frames = clientFrame(frames, 0x1, envelope(t, "alice-token", `"hi"`))
				}
				go nc.Write(frames)
				synctest.Wait() // the server is blocked writing auth_ok

				if err := reg.Revoke(t.Context(), "alice", "logged out"); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				code, err := lastClose(br)
				if err != nil {
					t.Fatalf("draining: %v", err)
				}
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

// clientFrame appends a masked, final client frame.
func clientFrame(dst []byte, opcode byte, payload []byte) []byte {
	dst = append(dst, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	dst = append(dst, mask[:]...)
	for i, b := range payload {
		dst = append(dst, b^mask[i%4])
	}
	return dst
}

// lastClose reads server frames until a close frame and returns its code.
func lastClose(br *bufio.Reader) (websocket.StatusCode, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return 0, err
		}
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(br, l[:]); err != nil {
				return 0, err
			}
			n = int64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(br, l[:]); err != nil {
				return 0, err
			}
			n = int64(binary.BigEndian.Uint64(l[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return 0, err
		}
		if h[0]&0x0f == 0x8 {
			if len(p) < 2 {
				return 0, fmt.Errorf("close frame without a code")
			}
			return websocket.StatusCode(binary.BigEndian.Uint16(p)), nil
		}
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
		l := memnet.Listen(nil, &memnet.Options{BufferSize: 16}) // smaller than the 101
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			c, err := a.Accept(w, r)
			if c != nil {
				c.CloseNow()
			}
			done <- result{err, time.Since(start)}
		})}
		go hs.Serve(l)
		defer hs.Close()
		nc, err := l.Dial(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, "GET /?ticket=alice-token HTTP/1.1\r\nHost: wsauth.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
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

// TestStalled101IsBoundedBehindMiddleware: the same client against
// Middleware in front of a handler that upgrades with coder/websocket,
// which writes the 101 before it hijacks: the write fails at wsauth's
// deadline, and the session ends.
func TestStalled101IsBoundedBehindMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		a := wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Events: ev.hook})
		done := make(chan time.Duration, 1)
		l := memnet.Listen(nil, &memnet.Options{BufferSize: 16}) // smaller than the 101
		hs := &http.Server{Handler: a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			if c, err := websocket.Accept(w, r, nil); err == nil {
				c.CloseNow()
			}
			done <- time.Since(start)
		}))}
		go hs.Serve(l)
		defer hs.Close()
		nc, err := l.Dial(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, "GET /?ticket=alice-token HTTP/1.1\r\nHost: wsauth.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		if d := <-done; d != 10*time.Second {
			t.Fatalf("the upgrade behind Middleware returned after %v, want 10s", d)
		}
		nc.Close()
		synctest.Wait()
		checkPairs(t, &ev, 1)
	})
}
