package memnet

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// Listener is an in-memory [net.Listener] whose connections are made by
// [Pipe].
// Clients reach it with [Listener.Dial] or [Listener.Client].
type Listener struct {
	addr *net.TCPAddr
	opts Options

	conns     chan net.Conn // unbuffered: Dial hands its server end to Accept
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	nextPort  atomic.Uint32 // next ephemeral client port, less firstEphemeral
}

// Ephemeral client ports, as Linux and IANA hand them out.
const (
	firstEphemeral = 49152
	numEphemeral   = 65536 - firstEphemeral
)

// Listen returns a Listener with address addr; nil means 127.0.0.1:80.
// opts configures the connections it accepts and may be nil.
//
// Call it inside the synctest bubble, if any, that will use it: Accept
// and Dial block on channels that belong to the bubble.
func Listen(addr *net.TCPAddr, opts *Options) *Listener {
	l := &Listener{
		addr:  copyAddr(addr, 80),
		conns: make(chan net.Conn),
		done:  make(chan struct{}),
	}
	if opts != nil {
		l.opts = *opts
	}
	return l
}

// Accept waits for a Dial and returns the server end of its connection.
// After Close it fails with an error wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case <-l.done: // Close wins over a waiting Dial
		return nil, l.closedErr()
	default:
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.closedErr()
	}
}

func (l *Listener) closedErr() error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
}

// Close makes waiting and later Accept calls fail with net.ErrClosed, and
// waiting and later Dial calls fail with syscall.ECONNREFUSED.
// Connections already accepted stay open. A second Close fails with
// net.ErrClosed.
func (l *Listener) Close() error {
	closed := false
	l.closeOnce.Do(func() {
		close(l.done)
		closed = true
	})
	if !closed {
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	return nil
}

// Addr returns the *net.TCPAddr given to Listen.
func (l *Listener) Addr() net.Addr { return l.addr }

// Dial connects to l from clientAddr and returns the client end. A nil
// clientAddr means 127.0.0.1; a zero port means a fresh ephemeral port
// for each connection, as a real client gets. Dial waits until Accept
// takes the connection, l is closed (syscall.ECONNREFUSED) or ctx is done.
func (l *Listener) Dial(ctx context.Context, clientAddr *net.TCPAddr) (net.Conn, error) {
	local := copyAddr(clientAddr, 0)
	if local.Port == 0 {
		local.Port = firstEphemeral + int(l.nextPort.Add(1)-1)%numEphemeral
	}
	fail := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Source: local, Addr: l.addr, Err: err}
	}
	select {
	case <-l.done:
		return nil, fail(syscall.ECONNREFUSED)
	default:
	}
	client, server := Pipe(local, l.addr, &l.opts)
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, fail(syscall.ECONNREFUSED)
	case <-ctx.Done():
		return nil, fail(ctx.Err())
	}
}
