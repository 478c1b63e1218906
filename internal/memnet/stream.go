package memnet

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// stream is one direction of a connection: the bytes one end has written
// and the other has not read yet. Blocked readers and writers wait on
// cond, which synctest counts as durably blocked; mu is only ever held
// briefly.
type stream struct {
	mu   sync.Mutex
	cond sync.Cond
	data ring

	readerClosed bool // the reading end is closed: writes fail
	writerClosed bool // the writing end is closed: reads drain, then io.EOF

	rd deadline // the reading end's read deadline
	wd deadline // the writing end's write deadline
}

func newStream(size int) *stream {
	s := &stream{data: ring{size: size}}
	s.cond.L = &s.mu
	return s
}

// read returns buffered bytes, waiting for some if there are none.
// Errors are bare; the caller wraps them.
func (s *stream) read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.readerClosed:
			return 0, net.ErrClosed
		case s.rd.expired(): // checked before data, as a TCP conn does
			return 0, os.ErrDeadlineExceeded
		case len(p) == 0:
			return 0, nil
		case s.data.len() > 0:
			n := s.data.read(p)
			s.cond.Broadcast() // room for blocked writers
			return n, nil
		case s.writerClosed:
			return 0, io.EOF
		}
		s.cond.Wait()
	}
}

// write buffers all of p, waiting whenever the buffer is full. On error
// it reports how much was buffered before.
func (s *stream) write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for {
		switch {
		case s.writerClosed:
			return n, net.ErrClosed
		case s.readerClosed:
			return n, io.ErrClosedPipe
		case s.wd.expired():
			return n, os.ErrDeadlineExceeded
		case n == len(p):
			return n, nil
		case s.data.free() > 0:
			n += s.data.write(p[n:])
			s.cond.Broadcast() // data for a blocked reader
			continue
		}
		s.cond.Wait()
	}
}

func (s *stream) setReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readerClosed {
		return net.ErrClosed
	}
	s.rd.set(t, &s.mu, s.cond.Broadcast)
	return nil
}

func (s *stream) setWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writerClosed {
		return net.ErrClosed
	}
	s.wd.set(t, &s.mu, s.cond.Broadcast)
	return nil
}

// closeReader marks the reading end closed and drops what it will never
// read. It reports false if it was closed already.
func (s *stream) closeReader() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readerClosed {
		return false
	}
	s.readerClosed = true
	s.data.reset()
	s.rd.stop()
	s.cond.Broadcast()
	return true
}

// closeWriter marks the writing end closed; what it wrote stays readable.
func (s *stream) closeWriter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writerClosed = true
	s.wd.stop()
	s.cond.Broadcast()
}
