package wsauth

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/transport"
)

// defaultNoticeLead is how long before its credential expires a
// connection that can refresh is sent {"type":"expiring"}; at most half the
// credential's remaining lifetime.
const defaultNoticeLead = 30 * time.Second

// life is the lifecycle of one authenticated connection, whatever library
// carries it: its principal, the expiry timer and the notice before it,
// registration, revocation, and how it ends. It knows nothing of
// coder/websocket: Conn drives it over a Socket, Middleware over a
// hijacked net.Conn, each giving it a function that closes the connection.
type life struct {
	a     *Authenticator
	addr  netip.Addr
	ctx   context.Context // the request's values, without its cancellation
	start time.Time

	principal atomic.Pointer[Principal]

	mu     sync.Mutex
	closer func(code websocket.StatusCode, reason string) // nil until attached
	notify func(exp time.Time)                            // sends the expiry notice; nil for none
	onEnd  context.CancelFunc                             // ends the handler's context; nil for none
	timer  *time.Timer
	why    string // Event.Reason of the end
	code   websocket.StatusCode
	text   string // close reason sent, when the end was ours
	gen    uint32 // bumped when the timer is re-armed, so a stale one does nothing
	ended  bool
	byUs   bool // ended by us (expiry, revocation, a refused credential): Read and Write fail with endedErr
	cut    bool // the closer cuts the connection (Middleware): the client sees 1006

	// Registry indexes, guarded by the Registry's lock. (The small fields
	// sit together: a Conn is one allocation, 320 bytes.)
	registered bool
	subject    string
	ids        [2]ticket.Key // the revocation IDs (Principal.revocationIDs)
	// pos is l's index in the Registry's slices: bySubject[subject], then
	// byID[ids[0]] and byID[ids[1]].
	pos [3]int32
}

// init readies l, which is part of a Conn or a Middleware session, so
// that a connection is one allocation.
func (l *life) init(a *Authenticator, ctx context.Context, addr netip.Addr, start time.Time, p Principal) {
	l.a, l.addr, l.ctx, l.start = a, addr, context.WithoutCancel(ctx), start
	l.principal.Store(&p)
}

// current implements principalSource, so PrincipalFrom sees refreshes.
func (l *life) current() Principal { return *l.principal.Load() }

// begin registers l and arms its timer. It fails if l's subject or token
// was revoked while the attempt was being checked: the Registry remembers
// recent revocations for exactly that moment.
func (l *life) begin() error {
	p := l.principal.Load()
	if !l.a.registry.add(l, p) {
		return fail(kindRevoked, nil)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armLocked(p)
	return nil
}

// attach gives l the means to close its connection, once the connection
// exists. If l ended meanwhile (revoked during the upgrade), attach
// reports false and the caller closes with l's code.
func (l *life) attach(closer func(websocket.StatusCode, string), notify func(time.Time)) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return false
	}
	l.closer, l.notify = closer, notify
	l.armLocked(l.principal.Load())
	return true
}

// set makes p, which is never changed afterwards, the principal,
// re-indexes l in the Registry (its token ID may have changed) and
// re-arms the timer. A token revoked meanwhile ends l, and set reports
// false: nothing may then tell the client it succeeded.
func (l *life) set(p *Principal) bool {
	l.principal.Store(p)
	if !l.a.registry.reindex(l, p) {
		l.endByUs("revoked", transport.CloseUnauthenticated, refusals[kindRevoked].text)
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armLocked(p)
	return true
}

// armLocked (re)arms the one timer: for the expiry notice, if l sends
// them and there is time for one, else for the expiry. l.mu is held.
func (l *life) armLocked(p *Principal) {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.gen++
	if l.ended || p.ExpiresAt.IsZero() {
		return
	}
	gen, exp := l.gen, p.ExpiresAt
	d := time.Until(exp)
	if d <= 0 {
		// Checked when the principal was accepted; time moved on.
		go l.expire(gen)
		return
	}
	if lead := min(defaultNoticeLead, d/2); l.notify != nil && lead > 0 {
		l.timer = time.AfterFunc(d-lead, func() { l.notice(gen, exp) })
		return
	}
	l.timer = time.AfterFunc(d, func() { l.expire(gen) })
}

// notice runs on the timer: it arms the timer for the expiry and sends
// the notice, unless the timer was re-armed meanwhile.
func (l *life) notice(gen uint32, exp time.Time) {
	l.mu.Lock()
	if l.ended || l.gen != gen {
		l.mu.Unlock()
		return
	}
	l.timer = time.AfterFunc(time.Until(exp), func() { l.expire(gen) })
	notify := l.notify
	l.mu.Unlock()
	notify(exp)
}

// expire ends l with 4401 unless the timer was re-armed meanwhile.
func (l *life) expire(gen uint32) {
	l.mu.Lock()
	stale := l.gen != gen
	l.mu.Unlock()
	if !stale {
		l.endByUs("expired", transport.CloseUnauthenticated, refusals[kindExpired].text)
	}
}

// expired reports whether l's principal has expired by now, and ends l if
// so: a write must not wait for the timer to notice.
func (l *life) expired() bool {
	p := l.principal.Load()
	if p.ExpiresAt.IsZero() || time.Now().Before(p.ExpiresAt) {
		return false
	}
	l.endByUs("expired", transport.CloseUnauthenticated, refusals[kindExpired].text)
	return true
}

// endByUs ends l for a reason of the server's (expiry, revocation, a
// refused credential) and closes the connection with code, off the
// caller's goroutine: revoking many connections must not wait on each
// close handshake, nor on the Events hook.
func (l *life) endByUs(why string, code websocket.StatusCode, text string) bool {
	closeFn, ok := l.end(why, code, text)
	if ok {
		go closeFn()
	}
	return ok
}

// end is endByUs without the goroutine: l is ended when it returns, and
// closeFn, to be run once off the caller's goroutine, reports the end and
// closes the connection.
func (l *life) end(why string, code websocket.StatusCode, text string) (closeFn func(), ok bool) {
	closer, ok := l.finish(why, code, text, true)
	if !ok {
		return nil, false
	}
	return func() {
		// Reported at once, not after the close handshake, which waits
		// for the peer.
		l.emitClosed()
		// The close frame before the handler's context ends: a Read whose
		// context ends drops the connection without one.
		if closer != nil {
			closer(code, text)
		}
		l.cancelHandler()
	}, true
}

// endByPeer ends l because its handler closed it or its peer left; the
// caller closes the connection itself.
func (l *life) endByPeer(why string, code websocket.StatusCode) {
	if _, ok := l.finish(why, code, "", false); ok {
		l.cancelHandler()
		l.emitClosed()
	}
}

// cancelHandler ends the handler's context, if it has one.
func (l *life) cancelHandler() {
	l.mu.Lock()
	cancel := l.onEnd
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// handlerContext returns the context of l's handler: the upgrade
// request's values (l.ctx), with l's principal, done when l ends and only
// then. The connection's life is wsauth's to end: a router's request
// timeout (chi's middleware.Timeout) cancels the request's context, and
// would cut every socket after it.
func (l *life) handlerContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(withPrincipal(l.ctx, l))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		cancel()
	}
	l.onEnd = cancel
	return ctx, cancel
}

// finish marks l ended, once, unregisters it and stops its timer. It
// returns the closer to call, and whether this call ended l.
func (l *life) finish(why string, code websocket.StatusCode, text string, byUs bool) (func(websocket.StatusCode, string), bool) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return nil, false
	}
	l.ended, l.why, l.code, l.text, l.byUs = true, why, code, text, byUs
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.gen++
	closer := l.closer
	l.mu.Unlock()
	l.a.registry.remove(l)
	return closer, true
}

// endedByUs returns the code and text l was ended with, if the end was
// the server's.
func (l *life) endedByUs() (websocket.StatusCode, string, string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.code, l.text, l.why, l.ended && l.byUs
}

func (l *life) emitClosed() {
	l.mu.Lock()
	e := Event{Kind: EventClosed, Reason: l.why, Subject: l.principal.Load().Subject, Addr: l.addr, Code: int(l.code), Duration: time.Since(l.start)}
	if l.cut && l.byUs {
		e.Code = int(websocket.StatusAbnormalClosure)
	}
	l.mu.Unlock()
	l.a.emit(l.ctx, e)
}
