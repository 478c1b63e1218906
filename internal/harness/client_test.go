package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	coder "github.com/coder/websocket"

	"github.com/wsauth/wsauth/transport"
)

// pauser stops a client's reads: while paused, bytes the network
// delivers are held before the client's WebSocket library sees them, as
// if it had stopped reading.
type pauser struct {
	mu sync.Mutex
	ch chan struct{} // non-nil while paused; closed on resume
}

func (p *pauser) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil {
		p.ch = make(chan struct{})
	}
}

func (p *pauser) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil {
		close(p.ch)
		p.ch = nil
	}
}

func (p *pauser) paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch != nil
}

func (p *pauser) wait(closed <-chan struct{}) {
	p.mu.Lock()
	ch := p.ch
	p.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-closed:
	}
}

// pausableConn is a client's network connection, read through its
// pauser.
type pausableConn struct {
	net.Conn
	p      *pauser
	closed chan struct{}
	once   sync.Once
}

func (c *pausableConn) Read(b []byte) (int, error) {
	c.p.wait(c.closed)
	n, err := c.Conn.Read(b)
	c.p.wait(c.closed)
	return n, err
}

func (c *pausableConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// client is one client slot: an address of its own (the failure budget
// is per address), an HTTP client dialing from it, and at most one
// connection at a time.
type client struct {
	w     *world
	idx   int
	ip    netip.Addr
	tr    *http.Transport
	hc    *http.Client
	stall pauser

	mu       sync.Mutex
	key      string // the current connection's key
	attempt  int
	rt       routeSpec
	node     int
	subject  int
	state    connState
	conn     *coder.Conn
	tc       *transport.TokenConn
	cred     int // the credential presented last
	sent     int
	authOKs  int
	got      map[string]bool // application frames received
	silent   bool
	dialDone chan struct{}
	readDone chan struct{}
}

type connState uint8

const (
	stateIdle connState = iota
	stateDialing
	stateOpen
	stateEnded
)

// newClient makes client slot idx, dialing from a fresh address.
func (w *world) newClient(idx int) *client {
	cl := &client{w: w, idx: idx, ip: w.allocAddr(), got: map[string]bool{}}
	cl.tr, cl.hc = w.httpClient(cl.ip, &cl.stall)
	return cl
}

// httpClient returns an HTTP client whose connections leave from ip (on
// loopback, or on the in-memory network) and are read through p.
func (w *world) httpClient(ip netip.Addr, p *pauser) (*http.Transport, *http.Client) {
	wrap := func(c net.Conn, err error) (net.Conn, error) {
		if err != nil {
			return nil, err
		}
		if p == nil {
			return c, nil
		}
		return &pausableConn{Conn: c, p: p, closed: make(chan struct{})}, nil
	}
	tr := &http.Transport{}
	if w.cfg.redis {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return wrap(d.DialContext(ctx, network, addr))
		}
	} else {
		tr.DialContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
			n := w.nodeByHost(addr)
			if n == nil {
				return nil, fmt.Errorf("harness: no node at %s", addr)
			}
			return wrap(n.ln.Dial(ctx, &net.TCPAddr{IP: ip.AsSlice()}))
		}
	}
	return tr, &http.Client{Transport: tr}
}

func (w *world) nodeByHost(addr string) *node {
	host, _, _ := net.SplitHostPort(addr)
	for _, n := range w.nodes {
		if strings.TrimPrefix(n.base, "ws://") == host {
			return n
		}
	}
	return nil
}

// allocAddr returns the next client address: 127.0.0.x on loopback (any
// of 127/8 works on Linux without setup), 10.1.x.y in memory.
func (w *world) allocAddr() netip.Addr {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addrs++
	i := w.addrs
	if w.cfg.redis {
		return netip.AddrFrom4([4]byte{127, 0, byte(1 + i/250), byte(2 + i%250)})
	}
	return netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(1 + i%250)})
}

// outcome is how a dial ended.
type outcome struct {
	conn   *coder.Conn
	tc     *transport.TokenConn
	status int // HTTP status of a refusal before the upgrade
	code   int // close code of a refusal after it
	err    error
}

// dial dials rt on n with secret as connection key, and waits for the
// success answer: the 101, then auth_ok where the route speaks in band.
func (w *world) dial(ctx context.Context, hc *http.Client, n *node, rt routeSpec, key, secret string, cred int) outcome {
	url := n.base + rt.path() + "?cid=" + key
	opts := &coder.DialOptions{HTTPClient: hc}
	st := rt.strategy()
	var out outcome
	var resp *http.Response
	switch st.name {
	case "query", "query_ib":
		out.conn, resp, out.err = transport.DialQuery(ctx, url, secret, opts)
	case "subprotocol", "subprotocol_ib":
		out.conn, resp, out.err = transport.DialSubprotocol(ctx, url, secret, nil, opts)
	case "header", "header_ib":
		out.conn, resp, out.err = transport.DialHeader(ctx, url, secret, opts)
	case "cookie", "cookie_ib":
		opts.HTTPHeader = http.Header{"Cookie": {cookieName + "=" + secret}, "Origin": {n.origin}}
		out.conn, resp, out.err = coder.Dial(ctx, url, opts)
		if out.err != nil {
			// coder's error names the response, never the request: no
			// redaction is needed, and the capture checks that.
			out.err = fmt.Errorf("dial with cookie: %w", out.err)
		}
	case "first":
		out.conn, _, out.err = transport.DialFirstMessage(ctx, url, secret, opts)
	default: // per-message
		data, _ := json.Marshal("f:" + key + ":0")
		w.h.sentBy(key+":0", cred)
		out.tc, _, out.err = transport.DialPerMessage(ctx, url, secret, data, opts)
		if out.tc != nil {
			out.conn = out.tc.Conn()
		}
	}
	w.recordResponse(resp)
	if out.err == nil && st.handshake && st.inBand {
		// The 101 came; auth_ok, or a close, follows.
		typ, b, err := out.conn.Read(ctx)
		var ok transport.AuthOK
		switch {
		case err != nil:
			out.err = err
		case typ != coder.MessageText || ok.UnmarshalJSON(b) != nil:
			out.err = fmt.Errorf("harness: expected auth_ok, got %q", b)
		}
		if out.err != nil {
			out.conn.CloseNow()
			out.conn = nil
		}
	}
	if out.err != nil {
		w.cap.add("dial error", out.err.Error())
		out.code = int(coder.CloseStatus(out.err))
		var ce coder.CloseError
		if errors.As(out.err, &ce) {
			w.cap.add("close reason", ce.Reason)
		}
		if resp != nil {
			out.status = resp.StatusCode
		}
		if out.conn != nil {
			out.conn.CloseNow()
			out.conn = nil
		}
		out.tc = nil
	}
	return out
}

// recordResponse captures what a client was answered: status, headers,
// body.
func (w *world) recordResponse(resp *http.Response) {
	if resp == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d", resp.StatusCode)
	for k, v := range resp.Header {
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	if resp.Body != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		fmt.Fprintf(&b, " body=%q", body)
	}
	w.cap.add("client response", b.String())
}

// open records a successful dial on cl and starts its reader.
func (cl *client) open(out outcome) {
	cl.mu.Lock()
	cl.conn, cl.tc, cl.state = out.conn, out.tc, stateOpen
	done := make(chan struct{})
	cl.readDone = done
	key, conn := cl.key, out.conn
	cl.mu.Unlock()
	go cl.read(key, conn, done)
}

// read records every frame the client receives until its connection
// ends.
func (cl *client) read(key string, c *coder.Conn, done chan struct{}) {
	defer close(done)
	w := cl.w
	for {
		typ, b, err := c.Read(context.Background())
		if err != nil {
			code := int(coder.CloseStatus(err))
			var ce coder.CloseError
			reason := ""
			if errors.As(err, &ce) {
				reason = ce.Reason
			}
			w.cap.add("client read error", err.Error())
			w.cap.add("close reason", reason)
			w.h.clientEnded(key, code, reason)
			cl.mu.Lock()
			if cl.key == key {
				cl.state = stateEnded
			}
			cl.mu.Unlock()
			w.sig.fire()
			return
		}
		s := string(b)
		switch {
		case typ == coder.MessageText && isAppFrame(b):
			w.h.received(key, s)
			cl.mu.Lock()
			cl.got[s] = true
			cl.mu.Unlock()
		case strings.Contains(s, `"auth_ok"`):
			cl.mu.Lock()
			cl.authOKs++
			cl.mu.Unlock()
		}
		w.cap.add("client frame", s)
		w.sig.fire()
	}
}

// snapshot returns what the driver needs of cl under its lock.
func (cl *client) snapshot() (key string, state connState, c *coder.Conn, tc *transport.TokenConn) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.key, cl.state, cl.conn, cl.tc
}

func (cl *client) isOpen() bool {
	_, st, _, _ := cl.snapshot()
	return st == stateOpen
}

func (cl *client) has(payload string) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.got[payload]
}

func (cl *client) authOKCount() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.authOKs
}

// closeConn closes cl's connection (a close handshake, bounded by the
// library's own 5 s) and waits for its reader.
func (cl *client) closeConn() {
	cl.mu.Lock()
	c, done := cl.conn, cl.readDone
	cl.mu.Unlock()
	if c == nil {
		return
	}
	c.Close(coder.StatusNormalClosure, "bye")
	if done != nil {
		<-done
	}
}

// endConn ends cl's connection at once.
func (cl *client) endConn() {
	cl.mu.Lock()
	c, done := cl.conn, cl.readDone
	cl.mu.Unlock()
	if c == nil {
		return
	}
	c.CloseNow()
	if done != nil {
		<-done
	}
}
