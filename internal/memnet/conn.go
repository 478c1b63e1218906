package memnet

import (
	"io"
	"net"
	"time"
)

// DefaultBufferSize is the number of bytes each direction of a connection
// holds, when Options.BufferSize is zero, before a Write blocks.
const DefaultBufferSize = 64 << 10

// Options configures [Pipe] and [Listen]. A nil *Options means the zero
// value.
type Options struct {
	// BufferSize is the number of bytes each direction of a connection
	// buffers before Write blocks, standing for the kernel's send and
	// receive buffers together. Zero means DefaultBufferSize.
	BufferSize int
}

func (o *Options) bufferSize() int {
	if o == nil || o.BufferSize <= 0 {
		return DefaultBufferSize
	}
	return o.BufferSize
}

// Pipe returns the two ends of an in-memory TCP-like connection: client
// has local address clientAddr and remote address serverAddr, server the
// reverse. A nil clientAddr means 127.0.0.1:49152, a nil serverAddr
// 127.0.0.1:80.
//
// Unlike [net.Pipe], each direction is buffered: Write returns once its
// bytes are buffered, and blocks only while the buffer is full, as TCP
// does when the peer stops reading. Read returns what is buffered, or
// waits for data, EOF or a deadline.
//
// Close closes both directions: the peer reads what was already written,
// then io.EOF, and its writes fail with an error wrapping
// io.ErrClosedPipe; operations on the closed end, including a second
// Close, fail with an error wrapping net.ErrClosed. Expired deadlines fail
// with an error wrapping os.ErrDeadlineExceeded. All errors but io.EOF are
// *net.OpError values.
//
// Both ends must be used inside the synctest bubble, if any, that called
// Pipe.
func Pipe(clientAddr, serverAddr *net.TCPAddr, opts *Options) (client, server net.Conn) {
	ca := copyAddr(clientAddr, 49152)
	sa := copyAddr(serverAddr, 80)
	size := opts.bufferSize()
	up, down := newStream(size), newStream(size) // client→server, server→client
	return &conn{in: down, out: up, local: ca, remote: sa},
		&conn{in: up, out: down, local: sa, remote: ca}
}

// copyAddr copies a, so that the caller can reuse it, defaulting to
// 127.0.0.1:port when a is nil.
func copyAddr(a *net.TCPAddr, port int) *net.TCPAddr {
	if a == nil {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	}
	c := *a
	c.IP = append(net.IP(nil), a.IP...)
	return &c
}

// conn is one end of a Pipe.
type conn struct {
	in, out       *stream
	local, remote *net.TCPAddr
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.in.read(p)
	return n, c.wrap("read", err)
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.out.write(p)
	return n, c.wrap("write", err)
}

func (c *conn) Close() error {
	if !c.in.closeReader() {
		return c.wrap("close", net.ErrClosed)
	}
	c.out.closeWriter()
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.in.setReadDeadline(t); err != nil {
		return c.wrap("set", err)
	}
	return c.wrap("set", c.out.setWriteDeadline(t))
}

func (c *conn) SetReadDeadline(t time.Time) error {
	return c.wrap("set", c.in.setReadDeadline(t))
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	return c.wrap("set", c.out.setWriteDeadline(t))
}

// wrap turns err into the *net.OpError a TCP connection would return;
// io.EOF stays bare, as callers compare it with ==.
func (c *conn) wrap(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}
