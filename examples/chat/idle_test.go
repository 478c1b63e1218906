package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestIdleConnectionsClosed: the chat's http.Server has the timeouts the
// README recommends, and 300 keep-alive connections that each sent one
// request and then went quiet are all closed by its IdleTimeout, as the
// clients see it.
func TestIdleConnectionsClosed(t *testing.T) {
	if hs := httpServer(nil); hs.ReadHeaderTimeout != 5*time.Second || hs.IdleTimeout != time.Minute || hs.MaxHeaderBytes != 32<<10 {
		t.Fatalf("ReadHeaderTimeout %v, IdleTimeout %v, MaxHeaderBytes %d; want 5s, 1m0s, 32 KiB", hs.ReadHeaderTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
	srv, err := newServer(config{Key: []byte("idle test key: 32 bytes or more, demo only")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httpServer(srv.Handler())
	const idle = 200 * time.Millisecond
	hs.IdleTimeout = idle // a minute in main
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, idleConn{c: c, r: bufio.NewReader(c)})
		ic := &conns[len(conns)-1]
		c.SetDeadline(time.Now().Add(5 * time.Second))
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

	// Each connection is idle now: wait, with a bound, for the server to
	// close it, which the client reads as EOF.
	closed := 0
	bound := time.Now().Add(10 * time.Second)
	for i, ic := range conns {
		ic.c.SetReadDeadline(bound)
		b, err := ic.r.ReadByte()
		switch {
		case errors.Is(err, io.EOF):
			closed++
			// The server's idle clock starts as it sends the answer,
			// a little before the client has read it.
			if d := time.Since(ic.answered); d < idle/2 {
				t.Errorf("connection %d closed %v after its answer, long before the IdleTimeout", i, d)
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
}
