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
// hijacked net.Conn, each attaching itself as the endpoint to close.
type life struct {
	a     *Authenticator
	addr  netip.Addr
	ctx   context.Context // the request's values, without its cancellation
	start int64           // since epoch, for EventClosed's Duration

	principal atomic.Pointer[Principal]

	mu    sync.Mutex
	ep    endpoint    // nil until attached
	hs    *doneState  // the handler's context's, once asked for
	timer *time.Timer // the expiry notice's, then the expiry's; made once, then Reset
	fin   *ending     // how l ended; nil while it lives
	// byUs: ended by us (expiry, revocation, a refused credential), so
	// Read and Write fail with endedErr. Atomic, so that every frame's
	// check of it takes no lock; set under mu with the rest of the end.
	byUs atomic.Bool
	// hended: the handler's context is done (cancelHandler). Atomic, so
	// that socketContext takes no lock; set under mu.
	hended atomic.Bool

	// Registry indexes, guarded by the Registry's lock; the subject is
	// the principal's, which never changes.
	ids [2]idSlot // the slots of the revocation IDs (Principal.revocationIDs)
	// pos is l's index in the Registry's slices: bySubject[subject], then
	// byID[ids[0]] and byID[ids[1]].
	pos [3]int32

	// leadMS is how long before the expiry the notice is due, in
	// milliseconds (at most defaultNoticeLead, 30,000); 0 once sent, or
	// for none. Guarded by mu. (It and the small fields around it sit
	// where they leave no padding: a Conn is one allocation, 208 bytes.)
	leadMS     uint16
	registered bool // guarded by the Registry's lock
	cut        bool // the endpoint cuts the connection (Middleware): the client sees 1006
}

// ending is how a life ended: made when it ends, so that a live
// connection does not carry it.
type ending struct {
	why  string // Event.Reason
	text string // the close reason sent, when the end was ours
	code websocket.StatusCode
}

// endpoint is the connection a life ends: a Conn's Socket, or the
// connection a library hijacked behind Middleware.
type endpoint interface {
	// closeWith closes the connection for wsauth, with code and reason
	// where it can.
	closeWith(code websocket.StatusCode, reason string)
	// takesNotices reports whether the connection can be sent notices
	// and refresh in band; sendNotice sends {"type":"expiring"} ahead of
	// exp on one that can.
	takesNotices() bool
	sendNotice(exp time.Time)
}

// epoch is what life.start counts from: a monotonic reading in 8 bytes.
var epoch = time.Now()

// init readies l, which is part of a Conn or a Middleware session, so
// that a connection is one allocation. ctx gives the request's values and
// has no cancellation (attempt.values).
func (l *life) init(a *Authenticator, ctx context.Context, addr netip.Addr, start time.Time, p Principal) {
	l.a, l.addr, l.ctx, l.start = a, addr, ctx, int64(start.Sub(epoch))
	l.principal.Store(&p)
}

// current implements principalSource, so PrincipalFrom sees refreshes.
func (l *life) current() Principal { return *l.principal.Load() }

// begin registers l and arms its timer. It fails if l's subject or token
// was revoked while the attempt was being checked: the Registry remembers
// recent revocations for exactly that moment. ids are the principal's
// revocation IDs, epoch the Registry's catch-up epoch before the store
// was asked.
func (l *life) begin(ids [2]ticket.Key, epoch uint64) error {
	p := l.principal.Load()
	if !l.a.registry.add(l, p, ids, epoch) {
		return fail(kindRevoked, nil)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armLocked(p)
	return nil
}

// attach gives l the connection to end, once it exists. If l ended
// meanwhile (revoked during the upgrade), attach reports false and the
// caller closes with l's code.
func (l *life) attach(ep endpoint) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fin != nil {
		return false
	}
	l.ep = ep
	l.armLocked(l.principal.Load())
	return true
}

// set makes p, which is never changed afterwards, the principal,
// re-indexes l in the Registry under ids, p's revocation IDs (its token ID
// may have changed), and re-arms the timer. A token revoked meanwhile ends
// l, and set reports false: nothing may then tell the client it succeeded.
// epoch is the Registry's catch-up epoch from before p's store check.
func (l *life) set(p *Principal, ids [2]ticket.Key, epoch uint64) bool {
	l.principal.Store(p)
	if !l.a.registry.reindex(l, p, ids, epoch) {
		l.endByUs("revoked", transport.CloseUnauthenticated, refusals[kindRevoked].text)
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fin != nil {
		// Ended (revoked, say) while the credential was checked: the
		// Registry had nothing left to refuse it with.
		return false
	}
	l.armLocked(p)
	return true
}

// armLocked (re)arms the one timer: for the expiry notice, if l sends
// them and there is time for one, else for the expiry. l.mu is held.
func (l *life) armLocked(p *Principal) {
	l.leadMS = 0
	d := time.Until(p.ExpiresAt)
	if l.fin != nil || p.ExpiresAt.IsZero() || d <= 0 {
		if l.timer != nil {
			l.timer.Stop()
		}
		if l.fin == nil && !p.ExpiresAt.IsZero() {
			go l.fire() // checked when accepted; time moved on since
		}
		return
	}
	if lead := min(defaultNoticeLead, d/2).Truncate(time.Millisecond); l.ep != nil && l.ep.takesNotices() && lead > 0 {
		l.leadMS, d = uint16(lead.Milliseconds()), d-lead
	}
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.fire)
	} else {
		l.timer.Reset(d)
	}
}

// fire runs on the timer. It decides by the clock, not by which arming
// scheduled it, so a run already under way when the timer was re-armed
// does nothing early: past the expiry it ends l with 4401; within the
// notice's lead it sends the notice and re-arms for the expiry.
func (l *life) fire() {
	l.mu.Lock()
	exp := l.principal.Load().ExpiresAt
	if l.fin != nil || exp.IsZero() {
		l.mu.Unlock()
		return
	}
	left := time.Until(exp)
	switch {
	case left <= 0:
		l.mu.Unlock()
		l.endByUs("expired", transport.CloseUnauthenticated, refusals[kindExpired].text)
	case l.leadMS > 0 && left <= time.Duration(l.leadMS)*time.Millisecond:
		l.leadMS = 0
		l.timer.Reset(left)
		ep := l.ep
		l.mu.Unlock()
		ep.sendNotice(exp)
	default:
		// Early: a run made stale by a re-arm, or the wall clock (by which
		// a JWT's exp is due) stepped back since the timer was armed on
		// the monotonic one. Armed again from the clock, so the expiry is
		// never lost. (A life accepted already due, by the clock then,
		// has no timer yet.)
		d := left - time.Duration(l.leadMS)*time.Millisecond
		if l.timer == nil {
			l.timer = time.AfterFunc(d, l.fire)
		} else {
			l.timer.Reset(d)
		}
		l.mu.Unlock()
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
	ep, ok := l.finish(why, code, text, true)
	if !ok {
		return nil, false
	}
	return func() {
		// Reported at once, not after the close handshake, which waits
		// for the peer.
		l.emitClosed()
		// The close frame before the handler's context ends: a Read whose
		// context ends drops the connection without one.
		if ep != nil {
			ep.closeWith(code, text)
		}
		l.cancelHandler()
	}, true
}

// endByPeer ends l because its handler closed it or its peer left; the
// end of the handler's context closes a Conn's socket (cancelHandler).
func (l *life) endByPeer(why string, code websocket.StatusCode) {
	if _, ok := l.finish(why, code, "", false); ok {
		l.cancelHandler()
		l.emitClosed()
	}
}

// cancelHandler ends the handler's context: its Done closes, the
// functions registered with its AfterFunc start, and a Conn's socket is
// closed, if it is not already. The handler's context ends only with the
// connection: a socket call given l.values() for it (socketContext)
// cannot outlive it, whatever ended the connection.
func (l *life) cancelHandler() {
	l.mu.Lock()
	if l.hended.Load() {
		l.mu.Unlock()
		return
	}
	l.hended.Store(true)
	var p pending
	if hs := l.hs; hs != nil {
		p = hs.endLocked()
	}
	ep := l.ep
	l.mu.Unlock()
	if a, ok := ep.(aborter); ok {
		a.abort()
	}
	p.start()
}

// aborter is an endpoint that can cut its connection at once.
type aborter interface{ abort() }

// handlerContext returns the context of l's handler: the upgrade
// request's values (l.ctx), with l's principal, done when l ends and only
// then (cancelHandler). The connection's life is wsauth's to end: a
// router's request timeout (chi's middleware.Timeout) cancels the
// request's context, and would cut every socket after it.
//
// The context is l itself (handlerCtx), not a context.WithCancel over
// l.values(), which would cost a connection 96 bytes (the cancelCtx and
// its CancelFunc), and 180 more once coder/websocket registers its
// AfterFunc for a Read (the cancelCtx's map of children). Its state is
// made only when asked for (Done, AfterFunc): Conn.Read and Conn.Write
// hand the socket l.values() in its place (socketContext), so that a
// handler that only passes its context to them costs nothing here.
func (l *life) handlerContext() context.Context { return (*handlerCtx)(l) }

// socketContext returns the context to give the socket for ctx: for the
// handler's context, l.values(), which has no Done, so that the socket
// neither registers with it nor keeps anything of it (the context's end
// closes the socket instead), or context.Canceled once the context is
// done: then no call is made, for a Socket's Read need not watch a done
// context. Any other context is given as it is.
func (l *life) socketContext(ctx context.Context) (context.Context, error) {
	if h, ok := ctx.(*handlerCtx); !ok || h != (*handlerCtx)(l) {
		return ctx, nil
	}
	if l.hended.Load() {
		return nil, context.Canceled
	}
	return l.values(), nil
}

// state returns l's doneState, made if need be. l.mu is held.
func (h *handlerCtx) state() *doneState {
	if h.hs == nil {
		h.hs = &doneState{mu: &h.mu}
	}
	return h.hs
}

// handlerCtx is the context handlerContext returns. A type of its own,
// like lifeValues.
type handlerCtx life

func (h *handlerCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done returns the same channel on every call: made when first asked for,
// or closedChan if that is after the end.
func (h *handlerCtx) Done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hs != nil && h.hs.done != nil {
		return h.hs.done
	}
	if h.hended.Load() {
		return closedChan
	}
	return h.state().doneLocked()
}

func (h *handlerCtx) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hended.Load() {
		return context.Canceled
	}
	return nil
}

func (h *handlerCtx) Value(key any) any { return (*lifeValues)(h).Value(key) }

// AfterFunc arranges for f to run in its own goroutine once the context
// is done, as context.AfterFunc does; stop reports whether it kept f from
// starting. The context package finds it (its afterFuncer interface) for
// every context derived from this one.
func (h *handlerCtx) AfterFunc(f func()) (stop func() bool) {
	h.mu.Lock()
	if h.hended.Load() {
		h.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	stop = h.state().addLocked(f)
	h.mu.Unlock()
	return stop
}

func (h *handlerCtx) String() string { return "wsauth handler context" }

// finish marks l ended, once, unregisters it and stops its timer. It
// returns the endpoint to close, if attached, and whether this call ended
// l.
func (l *life) finish(why string, code websocket.StatusCode, text string, byUs bool) (endpoint, bool) {
	l.mu.Lock()
	if l.fin != nil {
		l.mu.Unlock()
		return nil, false
	}
	l.fin = &ending{why: why, text: text, code: code}
	l.byUs.Store(byUs)
	if l.timer != nil {
		l.timer.Stop()
	}
	ep := l.ep
	l.mu.Unlock()
	l.a.registry.remove(l)
	return ep, true
}

// endedByUs returns the code and text l was ended with, if the end was
// the server's.
func (l *life) endedByUs() (websocket.StatusCode, string, string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fin == nil {
		return 0, "", "", false
	}
	return l.fin.code, l.fin.text, l.fin.why, l.byUs.Load()
}

func (l *life) emitClosed() {
	l.mu.Lock()
	e := Event{Kind: EventClosed, Reason: l.fin.why, Subject: l.principal.Load().Subject, Addr: l.addr, Code: int(l.fin.code), Duration: time.Since(epoch) - time.Duration(l.start)}
	if l.cut && l.byUs.Load() {
		e.Code = int(websocket.StatusAbnormalClosure)
	}
	l.mu.Unlock()
	l.a.emit(l.values(), e)
}

// carries reports whether l's principal has the revocation ID k.
func (l *life) carries(k ticket.Key) bool {
	ids := l.principal.Load().revocationIDs()
	return ids[0] == k || ids[1] == k
}

// values returns l as a context: the upgrade request's values (l.ctx) and
// l's live principal, never done. It parents the handler's context and is
// the context of l's events: a context.WithValue less per connection.
func (l *life) values() context.Context { return (*lifeValues)(l) }

// lifeValues is the context values returns. A type of its own, so that
// Conn, which embeds life, does not get Context's methods.
type lifeValues life

func (v *lifeValues) Deadline() (time.Time, bool) { return time.Time{}, false }
func (v *lifeValues) Done() <-chan struct{}       { return nil }
func (v *lifeValues) Err() error                  { return nil }

func (v *lifeValues) Value(key any) any {
	if key == (principalKey{}) {
		return (*life)(v)
	}
	return v.ctx.Value(key)
}

func (v *lifeValues) String() string { return "wsauth connection context" }
