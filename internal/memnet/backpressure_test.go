package memnet_test

import (
	"io"
	"net"
	"testing"
	"testing/synctest"

	"github.com/wsauth/wsauth/internal/memnet"
)

// TestWriterBlocksUntilPeerReads models a peer that stops reading: Write
// buffers what fits and then blocks, durably (synctest.Wait returns with
// it still blocked), until the peer reads.
func TestWriterBlocksUntilPeerReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 1024
		c, s := memnet.Pipe(nil, nil, &memnet.Options{BufferSize: size})
		defer c.Close()
		defer s.Close()

		if n, err := c.Write(make([]byte, size)); n != size || err != nil {
			t.Fatalf("Write of a buffer's worth = %d, %v; want it not to block", n, err)
		}
		w := start(func() (int, error) { return c.Write(make([]byte, 3*size)) })
		synctest.Wait()
		requireBlocked(t, w, "Write to a full buffer")

		// Reading part of the buffer lets the writer buffer that much
		// more, and no more.
		if _, err := io.ReadFull(s, make([]byte, size/2)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		requireBlocked(t, w, "Write after the peer read half a buffer")

		if _, err := io.ReadFull(s, make([]byte, 3*size)); err != nil {
			t.Fatal(err)
		}
		if r := <-w; r.n != 3*size || r.err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", r.n, r.err, 3*size)
		}
		synctest.Wait()
		if n := len(readBuffered(t, s)); n != size/2 {
			t.Fatalf("%d bytes left buffered, want %d", n, size/2)
		}
	})
}

// readBuffered drains what c has buffered, without waiting for more.
func readBuffered(t *testing.T, c net.Conn) []byte {
	t.Helper()
	p := make([]byte, memnet.DefaultBufferSize)
	n, err := c.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	return p[:n]
}

func TestDefaultBufferSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := memnet.Pipe(nil, nil, nil)
		defer c.Close()
		defer s.Close()
		w := start(func() (int, error) { return c.Write(make([]byte, memnet.DefaultBufferSize+1)) })
		synctest.Wait()
		requireBlocked(t, w, "Write of one byte more than the default buffer")
		readBuffered(t, s)
		if r := <-w; r.err != nil {
			t.Fatal(r.err)
		}
	})
}
