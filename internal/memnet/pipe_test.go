package memnet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsauth/wsauth/internal/memnet"
)

var (
	clientAddr = &net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 5555}
	serverAddr = &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 8080}
)

func TestPipeAddrs(t *testing.T) {
	c, s := memnet.Pipe(clientAddr, serverAddr, nil)
	defer c.Close()
	defer s.Close()
	for _, tc := range []struct {
		name string
		got  net.Addr
		want string
	}{
		{"client local", c.LocalAddr(), "127.0.0.2:5555"},
		{"client remote", c.RemoteAddr(), "10.0.0.1:8080"},
		{"server local", s.LocalAddr(), "10.0.0.1:8080"},
		{"server remote", s.RemoteAddr(), "127.0.0.2:5555"},
	} {
		if _, ok := tc.got.(*net.TCPAddr); !ok || tc.got.String() != tc.want || tc.got.Network() != "tcp" {
			t.Errorf("%s = %T %v, want *net.TCPAddr %s", tc.name, tc.got, tc.got, tc.want)
		}
	}

	d, _ := memnet.Pipe(nil, nil, nil)
	if got := d.LocalAddr().String() + " " + d.RemoteAddr().String(); got != "127.0.0.1:49152 127.0.0.1:80" {
		t.Errorf("default addrs = %s", got)
	}
}

// TestPipeTransfer sends more than a buffer's worth each way at once, in
// odd-sized writes, and checks every byte arrives in order.
func TestPipeTransfer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, &memnet.Options{BufferSize: 1000})
		defer c.Close()
		defer s.Close()
		want := make([]byte, 10_000)
		for i := range want {
			want[i] = byte(i * 7)
		}
		send := func(w net.Conn) <-chan result {
			return start(func() (int, error) {
				total := 0
				for p := want; len(p) > 0; {
					k := min(len(p), 333)
					n, err := w.Write(p[:k])
					total += n
					if err != nil {
						return total, err
					}
					p = p[k:]
				}
				return total, nil
			})
		}
		up, down := send(c), send(s)
		for _, r := range []net.Conn{s, c} {
			got := make([]byte, len(want))
			if _, err := io.ReadFull(r, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("bytes arrived changed or out of order")
			}
		}
		for _, ch := range []<-chan result{up, down} {
			if r := <-ch; r.err != nil || r.n != len(want) {
				t.Fatalf("writer: %d, %v", r.n, r.err)
			}
		}
	})
}

func TestCloseDrainsThenEOF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer s.Close()
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(s)
		if err != nil || string(got) != "hello" {
			t.Fatalf("ReadAll = %q, %v; want \"hello\", nil", got, err)
		}
		if n, err := s.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
		}
	})
}

func TestWriteToClosedPeerFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer c.Close()
		s.Close()
		_, err := c.Write([]byte("x"))
		var oe *net.OpError
		if !errors.Is(err, io.ErrClosedPipe) || !errors.As(err, &oe) || oe.Op != "write" {
			t.Fatalf("Write = %v, want a write *net.OpError wrapping io.ErrClosedPipe", err)
		}
	})
}

func TestOpsOnClosedEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer s.Close()
		if _, err := s.Write([]byte("unread")); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("first Close = %v", err)
		}
		_, rerr := c.Read(make([]byte, 10))
		_, werr := c.Write([]byte("x"))
		for name, err := range map[string]error{
			"Read":             rerr,
			"Write":            werr,
			"second Close":     c.Close(),
			"SetDeadline":      c.SetDeadline(time.Time{}),
			"SetReadDeadline":  c.SetReadDeadline(time.Time{}),
			"SetWriteDeadline": c.SetWriteDeadline(time.Time{}),
		} {
			var oe *net.OpError
			if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) {
				t.Errorf("%s = %v, want a *net.OpError wrapping net.ErrClosed", name, err)
			}
		}
	})
}

// TestCloseUnblocks checks that Close wakes operations blocked on either
// end: the closer's own Read and Write fail with net.ErrClosed, the peer's
// Read gets io.EOF and its Write io.ErrClosedPipe.
func TestCloseUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := &memnet.Options{BufferSize: 4}
		c, s := memnet.Pipe(nil, nil, opts)
		defer s.Close()
		big := []byte("more than four bytes")
		ownRead := start(func() (int, error) { return c.Read(make([]byte, 1)) })
		ownWrite := start(func() (int, error) { return c.Write(big) })
		synctest.Wait()
		requireBlocked(t, ownRead, "Read")
		requireBlocked(t, ownWrite, "Write")
		c.Close()
		if r := <-ownRead; !errors.Is(r.err, net.ErrClosed) {
			t.Errorf("blocked Read on the closed end = %v, want net.ErrClosed", r.err)
		}
		if r := <-ownWrite; !errors.Is(r.err, net.ErrClosed) || r.n != 4 {
			t.Errorf("blocked Write on the closed end = %d, %v; want 4, net.ErrClosed", r.n, r.err)
		}

		c, s = memnet.Pipe(nil, nil, opts)
		defer c.Close()
		peerRead := start(func() (int, error) { return s.Read(make([]byte, 1)) })
		peerWrite := start(func() (int, error) { return s.Write(big) })
		synctest.Wait()
		requireBlocked(t, peerRead, "peer Read")
		requireBlocked(t, peerWrite, "peer Write")
		c.Close()
		if r := <-peerRead; r.err != io.EOF {
			t.Errorf("peer's blocked Read = %v, want io.EOF", r.err)
		}
		if r := <-peerWrite; !errors.Is(r.err, io.ErrClosedPipe) || r.n != 4 {
			t.Errorf("peer's blocked Write = %d, %v; want 4, io.ErrClosedPipe", r.n, r.err)
		}
	})
}

func TestZeroLengthOps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer c.Close()
		defer s.Close()
		if n, err := c.Read(nil); n != 0 || err != nil {
			t.Errorf("Read(nil) = %d, %v; want 0, nil without blocking", n, err)
		}
		if n, err := c.Write(nil); n != 0 || err != nil {
			t.Errorf("Write(nil) = %d, %v", n, err)
		}
	})
}
