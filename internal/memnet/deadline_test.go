package memnet_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsauth/wsauth/internal/memnet"
)

// requireTimeout fails t unless err is what a TCP conn returns for an
// expired deadline.
func requireTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a net.Error timeout wrapping os.ErrDeadlineExceeded", err)
	}
}

// TestReadDeadlineVirtualTime blocks a Read with a 10 s deadline: it must
// fail at exactly 10 s of virtual time, while the test takes a moment.
func TestReadDeadlineVirtualTime(t *testing.T) {
	begin := time.Now()
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer c.Close()
		defer s.Close()
		t0 := time.Now()
		c.SetReadDeadline(t0.Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		requireTimeout(t, err)
		if d := time.Since(t0); d != 10*time.Second {
			t.Fatalf("Read failed after %v, want exactly 10s", d)
		}
	})
	checkRealTime(t, begin)
}

// TestMoveDeadlineWhileBlocked moves and clears the read deadline of a
// blocked Read, the way net/http and coder/websocket do.
func TestMoveDeadlineWhileBlocked(t *testing.T) {
	begin := time.Now()
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer c.Close()
		defer s.Close()
		t0 := time.Now()
		// Extended from 10 s to 30 s after 5 s: fires at 30 s.
		c.SetReadDeadline(t0.Add(10 * time.Second))
		r := startRead(c)
		time.Sleep(5 * time.Second)
		c.SetReadDeadline(t0.Add(30 * time.Second))
		requireTimeout(t, (<-r).err)
		if d := time.Since(t0); d != 30*time.Second {
			t.Fatalf("extended deadline fired at %v, want 30s", d)
		}

		// Shortened from 1 h to 2 s from now: fires then.
		t0 = time.Now()
		c.SetReadDeadline(t0.Add(time.Hour))
		r = startRead(c)
		synctest.Wait()
		c.SetReadDeadline(t0.Add(2 * time.Second))
		requireTimeout(t, (<-r).err)
		if d := time.Since(t0); d != 2*time.Second {
			t.Fatalf("shortened deadline fired at %v, want 2s", d)
		}

		// Set in the past: a blocked Read fails at once (net/http does
		// this to abort its background read).
		t0 = time.Now()
		c.SetReadDeadline(time.Time{})
		r = startRead(c)
		synctest.Wait()
		requireBlocked(t, r, "Read with no deadline")
		c.SetReadDeadline(t0.Add(-time.Second))
		requireTimeout(t, (<-r).err)
		if d := time.Since(t0); d != 0 {
			t.Fatalf("past deadline fired after %v, want at once", d)
		}

		// Cleared while blocked: the old deadline never fires, data ends
		// the Read.
		c.SetReadDeadline(time.Now().Add(time.Second))
		r = startRead(c)
		synctest.Wait()
		c.SetReadDeadline(time.Time{})
		time.Sleep(time.Minute)
		requireBlocked(t, r, "Read whose deadline was cleared")
		s.Write([]byte("x"))
		if got := <-r; got.n != 1 || got.err != nil {
			t.Fatalf("Read = %d, %v; want 1, nil", got.n, got.err)
		}
	})
	checkRealTime(t, begin)
}

// TestExpiredDeadlineWinsOverData checks that, as with TCP, an expired
// read deadline fails a Read even when data is buffered, and that the
// data is still there once the deadline is reset.
func TestExpiredDeadlineWinsOverData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer c.Close()
		defer s.Close()
		s.Write([]byte("x"))
		c.SetReadDeadline(time.Now())
		_, err := c.Read(make([]byte, 1))
		requireTimeout(t, err)
		c.SetReadDeadline(time.Time{})
		if n, err := c.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Fatalf("Read after reset = %d, %v; want 1, nil", n, err)
		}
	})
}

// TestWriteDeadline fills the buffer of a peer that does not read: the
// write deadline fails the blocked Write on time, reporting what it
// buffered.
func TestWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, &memnet.Options{BufferSize: 10})
		defer c.Close()
		defer s.Close()
		t0 := time.Now()
		c.SetWriteDeadline(t0.Add(3 * time.Second))
		n, err := c.Write(make([]byte, 25))
		requireTimeout(t, err)
		if n != 10 {
			t.Errorf("Write buffered %d bytes, want 10", n)
		}
		if d := time.Since(t0); d != 3*time.Second {
			t.Errorf("write deadline fired at %v, want 3s", d)
		}
	})
}

// TestSetDeadlineSetsBoth checks that SetDeadline governs reads and
// writes, and that the read deadline of one end leaves the other alone.
func TestSetDeadlineSetsBoth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, &memnet.Options{BufferSize: 1})
		defer c.Close()
		defer s.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		_, rerr := c.Read(make([]byte, 1))
		requireTimeout(t, rerr)
		_, werr := c.Write(make([]byte, 2))
		requireTimeout(t, werr)

		peer := startRead(s)
		time.Sleep(time.Minute)
		requireBlocked(t, peer, "peer Read without a deadline")
		c.SetDeadline(time.Time{})
		c.Write([]byte("y"))
		<-peer
	})
}
