package memnet_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/wsauth/wsauth/internal/memnet"
)

// dialResult is what a Dial running in its own goroutine returned.
type dialResult struct {
	c   net.Conn
	err error
}

func startDial(ctx context.Context, l *memnet.Listener, from *net.TCPAddr) <-chan dialResult {
	ch := make(chan dialResult, 1)
	go func() {
		c, err := l.Dial(ctx, from)
		ch <- dialResult{c, err}
	}()
	return ch
}

func TestListenerAcceptDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.Listen(serverAddr, nil)
		defer l.Close()
		if got := l.Addr().String(); got != "10.0.0.1:8080" {
			t.Errorf("Addr = %s", got)
		}
		d := startDial(t.Context(), l, clientAddr)
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		r := <-d
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.c.Close()
		if s.RemoteAddr().String() != "127.0.0.2:5555" || r.c.RemoteAddr().String() != "10.0.0.1:8080" {
			t.Errorf("server end's remote %v, client end's remote %v", s.RemoteAddr(), r.c.RemoteAddr())
		}
		r.c.Write([]byte("ping"))
		buf := make([]byte, 4)
		if n, _ := s.Read(buf); string(buf[:n]) != "ping" {
			t.Errorf("server read %q", buf[:n])
		}
	})
}

// TestListenerEphemeralPorts checks that dials from a port-less address
// get distinct ports on the chosen IP, and nil means 127.0.0.1.
func TestListenerEphemeralPorts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.Listen(nil, nil)
		defer l.Close()
		if got := l.Addr().String(); got != "127.0.0.1:80" {
			t.Errorf("default Addr = %s", got)
		}
		seen := map[string]bool{}
		for _, from := range []*net.TCPAddr{nil, {IP: net.ParseIP("127.0.0.3")}, {IP: net.ParseIP("127.0.0.3")}} {
			d := startDial(t.Context(), l, from)
			s, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := (<-d).c
			defer c.Close()
			a := s.RemoteAddr().(*net.TCPAddr)
			if a.Port < 49152 || seen[a.String()] || c.LocalAddr().String() != a.String() {
				t.Errorf("client address %v (seen before: %v), client end's local %v", a, seen[a.String()], c.LocalAddr())
			}
			seen[a.String()] = true
		}
		if !seen["127.0.0.1:49152"] {
			t.Errorf("nil client address: got %v, want 127.0.0.1:49152 first", seen)
		}
	})
}

// TestListenerClose checks that Close fails a blocked Accept and a blocked
// Dial, and later ones, and leaves accepted connections open.
func TestListenerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.Listen(nil, nil)
		d := startDial(t.Context(), l, nil)
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c := (<-d).c
		defer c.Close()
		defer s.Close()

		accept := make(chan error, 1)
		go func() {
			_, err := l.Accept()
			accept <- err
		}()
		synctest.Wait()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-accept; !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Accept = %v, want net.ErrClosed", err)
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
		}
		if err := l.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close = %v, want net.ErrClosed", err)
		}
		if _, err := l.Dial(t.Context(), nil); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Dial after Close = %v, want ECONNREFUSED", err)
		}
		c.Write([]byte("x"))
		if n, err := s.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Errorf("accepted conn after listener Close: Read = %d, %v", n, err)
		}

		l = memnet.Listen(nil, nil)
		d = startDial(t.Context(), l, nil)
		synctest.Wait() // Dial waits for an Accept
		l.Close()
		if r := <-d; !errors.Is(r.err, syscall.ECONNREFUSED) {
			t.Errorf("blocked Dial = %v, want ECONNREFUSED", r.err)
		}
	})
}

func TestDialContextDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := memnet.Listen(nil, nil)
		defer l.Close()
		ctx, cancel := context.WithCancel(t.Context())
		d := startDial(ctx, l, nil)
		synctest.Wait()
		cancel()
		var oe *net.OpError
		if r := <-d; !errors.Is(r.err, context.Canceled) || !errors.As(r.err, &oe) {
			t.Errorf("Dial = %v, want a *net.OpError wrapping context.Canceled", r.err)
		}
	})
}
