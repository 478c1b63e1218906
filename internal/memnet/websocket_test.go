//go:build !js

package memnet_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
)

// wsPair dials a websocket from 127.0.0.2 to a server that accepts it
// and hands its side to the test. Both sides are closed, and the handler
// returns, when the test ends.
func wsPair(t *testing.T) (client, server *websocket.Conn, remoteAddr string) {
	t.Helper()
	type accepted struct {
		c          *websocket.Conn
		remoteAddr string
	}
	acc := make(chan accepted, 1)
	done := make(chan struct{})
	l := serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.CloseNow()
		acc <- accepted{c, r.RemoteAddr}
		<-done
	})})
	httpClient := l.Client(&net.TCPAddr{IP: net.ParseIP("127.0.0.2")})
	t.Cleanup(httpClient.CloseIdleConnections)

	client, _, err := websocket.Dial(t.Context(), "ws://example.com/", &websocket.DialOptions{HTTPClient: httpClient})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow() })
	a := <-acc
	t.Cleanup(func() { close(done) })
	return client, a.c, a.remoteAddr
}

func TestWebSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server, remoteAddr := wsPair(t)
		if remoteAddr != "127.0.0.2:49152" {
			t.Errorf("server saw r.RemoteAddr %q, want 127.0.0.2:49152", remoteAddr)
		}
		ctx := t.Context()
		exchange := func(from, to *websocket.Conn, msg string) {
			t.Helper()
			if err := from.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			typ, got, err := to.Read(ctx)
			if err != nil || typ != websocket.MessageText || string(got) != msg {
				t.Fatalf("Read = %v %q %v, want text %q", typ, got, err, msg)
			}
		}
		exchange(client, server, "hello server")
		exchange(server, client, "hello client")

		// A message bigger than the buffers needs the reader to make
		// progress while the writer writes.
		big := make([]byte, 3*64<<10)
		server.SetReadLimit(int64(len(big)))
		go client.Write(ctx, websocket.MessageBinary, big)
		if _, got, err := server.Read(ctx); err != nil || len(got) != len(big) {
			t.Fatalf("big Read = %d bytes, %v", len(got), err)
		}

		// The close handshake, started by the client: the server's Read
		// answers it.
		serverRead := make(chan error, 1)
		go func() {
			_, _, err := server.Read(ctx)
			serverRead <- err
		}()
		if err := client.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatal(err)
		}
		if err := <-serverRead; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Fatalf("server Read = %v, want StatusNormalClosure", err)
		}
	})
}

// TestWebSocketReadTimeout checks that a websocket Read bounded by a
// context deadline gives up at exactly that virtual time.
func TestWebSocketReadTimeout(t *testing.T) {
	begin := time.Now()
	synctest.Test(t, func(t *testing.T) {
		client, _, _ := wsPair(t)
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, _, err := client.Read(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Read = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("Read gave up after %v, want 10s", d)
		}
	})
	checkRealTime(t, begin)
}
