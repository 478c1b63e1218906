package memnet_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsauth/wsauth/internal/memnet"
)

// serve runs srv on a new Listener; srv is closed when the test ends.
func serve(t *testing.T, srv *http.Server) *memnet.Listener {
	l := memnet.Listen(nil, nil)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l
}

func get(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestHTTP serves two requests over one kept-alive connection from the
// chosen client IP, then closes it with CloseIdleConnections.
func TestHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		closed := make(chan struct{})
		l := serve(t, &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, r.RemoteAddr)
			}),
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateClosed {
					close(closed)
				}
			},
		})
		client := l.Client(&net.TCPAddr{IP: net.ParseIP("127.0.0.2")})
		defer client.CloseIdleConnections()

		first := get(t, client, "http://example.com/a")
		if first != "GET /a 127.0.0.2:49152" {
			t.Errorf("first response %q", first)
		}
		if second := get(t, client, "http://example.com/b"); second != "GET /b 127.0.0.2:49152" {
			t.Errorf("second response %q, want the same connection reused", second)
		}
		client.CloseIdleConnections()
		<-closed // the server saw the client's close
	})
}

// TestHTTPServerTimeout checks that http.Server's own timeouts run in
// virtual time: a client that connects and sends nothing is cut off at
// ReadHeaderTimeout.
func TestHTTPServerTimeout(t *testing.T) {
	begin := time.Now()
	synctest.Test(t, func(t *testing.T) {
		l := serve(t, &http.Server{
			Handler:           http.NotFoundHandler(),
			ReadHeaderTimeout: 30 * time.Second,
		})
		c, err := l.Dial(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := io.ReadAll(c); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("server closed the idle conn after %v, want 30s", d)
		}
	})
	checkRealTime(t, begin)
}
