package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsauth/wsauth/internal/memnet"
)

// TestIdleConnectionsClosed: the chat's http.Server has the timeouts the
// README recommends, and 300 keep-alive connections that each sent one
// request and then went quiet are all closed by its IdleTimeout, a
// minute, as the clients see it: in a synctest bubble, on an in-memory
// network, so the minute is virtual and the closes come exactly on it.
func TestIdleConnectionsClosed(t *testing.T) {
	t.Parallel() // a node of its own
	if hs := httpServer(nil); hs.ReadHeaderTimeout != 5*time.Second || hs.IdleTimeout != time.Minute || hs.MaxHeaderBytes != 32<<10 {
		t.Fatalf("ReadHeaderTimeout %v, IdleTimeout %v, MaxHeaderBytes %d; want 5s, 1m0s, 32 KiB", hs.ReadHeaderTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
	synctest.Test(t, func(t *testing.T) {
		srv, err := newServer(config{Key: []byte("idle test key: 32 bytes or more, demo only")})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		hs := httpServer(srv.Handler())
		ln := memnet.Listen(nil, nil)
		served := make(chan error, 1)
		go func() { served <- hs.Serve(ln) }()
		defer func() {
			hs.Close()
			<-served
		}()

		const n = 300
		type idleConn struct {
			c        net.Conn
			r        *bufio.Reader
			answered time.Time
		}
		conns := make([]idleConn, 0, n)
		defer func() {
			for _, ic := range conns {
				ic.c.Close()
			}
		}()
		for range n {
			c, err := ln.Dial(t.Context(), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, idleConn{c: c, r: bufio.NewReader(c)})
			ic := &conns[len(conns)-1]
			if _, err := io.WriteString(c, "GET /debug/vars HTTP/1.1\r\nHost: chat.test\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(ic.r, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
				t.Fatalf("GET /debug/vars: %s, close %v, %v; want 200, kept alive", resp.Status, resp.Close, err)
			}
			ic.answered = time.Now()
		}

		// Each connection is idle now: the server closes it, which the
		// client reads as EOF, a minute after its answer (no time passes
		// between the answer's write and its read).
		closed := 0
		for i, ic := range conns {
			b, err := ic.r.ReadByte()
			switch {
			case errors.Is(err, io.EOF):
				closed++
				if d := time.Since(ic.answered); d != time.Minute {
					t.Errorf("connection %d closed %v after its answer, want the IdleTimeout, 1m", i, d)
				}
			case err == nil:
				t.Errorf("connection %d: the server sent %q unasked", i, b)
			default:
				t.Errorf("connection %d: %v", i, err)
			}
		}
		if closed != n {
			t.Fatalf("%d of %d idle connections closed by the server", closed, n)
		}
	})
}
