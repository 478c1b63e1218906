package wsauth

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Middleware authenticates the upgrade request before next runs, for
// servers that upgrade with another WebSocket library (or a handler they
// do not control), and only with a handshake strategy (Query,
// Subprotocol, Header, Cookie): it panics for an in-band one, which needs
// Options.Upgrade and Handler instead.
//
// The pipeline is Accept's up to the upgrade: the connection is registered
// before next runs, so Registry.Revoke reaches it. next gets the request
// with the credential removed, with the Subprotocol strategy's selected
// protocol as the only entry of its Sec-WebSocket-Protocol header (echo
// it: gorilla's Upgrader does, given websocket.Subprotocols(r)), and with
// a context for which PrincipalFrom returns the principal.
//
// When the principal expires, or is revoked, the connection next made is
// closed: Middleware watches the connection the library hijacks, but cannot
// write a frame on it, so the client sees the TCP connection end (1006),
// not 4401. For close codes, expiry notices and refresh on any library,
// use Options.Upgrade and Handler. The connection leaves the Registry when
// the library closes it, or when next returns without hijacking.
//
// Refusals are HTTP statuses, or with InBand an upgrade by Options.Upgrade
// (coder/websocket by default) closed with the refusal's code; next never
// sees a refused request.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	if !a.strategy.handshake() {
		panic("wsauth: Middleware needs a handshake strategy (Query, Subprotocol, Header or Cookie)")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, err := a.authenticate(w, r)
		if err != nil {
			return
		}
		s := &session{}
		s.init(a, at.values(), at.peer.Addr, at.start, at.p)
		s.cut = true
		err = at.admit(&s.life)
		protocol := at.protocol
		at.release()
		if err != nil {
			return
		}
		if protocol != "" {
			r.Header["Sec-Websocket-Protocol"] = []string{protocol}
		}
		// The success answer has a deadline, as Accept's does: a library
		// that writes the 101 before hijacking (coder/websocket) writes it
		// within answerTimeout.
		boundAnswer(w)
		hw := &hijackWatcher{ResponseWriter: w, s: s}
		// Deferred, so that a next that panics before it hijacks (net/http
		// recovers it) does not leave the session registered.
		defer func() {
			if !hw.hijacked() {
				s.endByPeer("closed", 0)
			}
		}()
		next.ServeHTTP(hw, r.WithContext(withPrincipal(r.Context(), s)))
	})
}

// session is the life of a connection made by another library behind
// Middleware.
type session struct{ life }

// hijackWatcher passes the ResponseWriter on, and wraps the connection a
// WebSocket library hijacks from it so that the session can close it and
// learns when it is closed.
type hijackWatcher struct {
	http.ResponseWriter
	s *session

	mu   sync.Mutex
	conn *watchedConn
}

func (h *hijackWatcher) hijacked() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn != nil
}

// Hijack implements http.Hijacker. A session that ended before the
// hijack (revoked meanwhile) refuses it, so the library fails its upgrade.
func (h *hijackWatcher) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if _, _, _, ended := h.s.endedByUs(); ended {
		return nil, nil, fail(kindRevoked, nil)
	}
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	wc := &watchedConn{Conn: nc, s: h.s}
	if !h.s.attach(wc) {
		nc.Close()
		return nil, nil, fail(kindRevoked, nil)
	}
	h.mu.Lock()
	h.conn = wc
	h.mu.Unlock()
	return wc, brw, nil
}

// Unwrap lets http.ResponseController reach the ResponseWriter.
func (h *hijackWatcher) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// watchedConn is a hijacked connection whose Close ends its session.
type watchedConn struct {
	net.Conn
	s *session
}

// Close implements net.Conn: the library is done with the connection.
func (c *watchedConn) Close() error {
	c.s.endByPeer("gone", 0)
	return c.Conn.Close()
}

// closeWith implements endpoint: wsauth ending the connection.
func (c *watchedConn) closeWith(websocket.StatusCode, string) { c.Conn.Close() }

// takesNotices implements endpoint: wsauth cannot write frames on a
// connection behind Middleware.
func (c *watchedConn) takesNotices() bool { return false }

func (c *watchedConn) sendNotice(time.Time) {}
