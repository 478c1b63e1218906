package wsauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/breaks"
	"github.com/wsauth/wsauth/ticket"
)

// answerTimeout bounds every write wsauth makes itself before and during
// authentication: the 101, auth_ok, a refusal's close frame.
const answerTimeout = 10 * time.Second

// This file is the pipeline every strategy and every WebSocket library
// goes through, in the order it runs:
//
//	origin → client address → failure budget → credential (from the
//	carrier) → verify → revocations → authorizer → register → success
//	answer (101, auth_ok) with a deadline → serve
//
// Later credentials on an open connection (refresh frames, new
// per-message tokens) go through check, the verify-to-authorizer part,
// with the same failure budget.

// attempt is one upgrade request on its way through the pipeline.
type attempt struct {
	a        *Authenticator
	w        http.ResponseWriter
	r        *http.Request
	peer     Peer
	start    time.Time
	sock     Socket          // set once upgraded
	answered bool            // the socket was closed already (auth timeout)
	silent   bool            // ... without a close frame: the peer was gone
	carried  bool            // the strategy's carry ran
	protocol string          // the application subprotocol to echo
	first    *Message        // a per-message first frame, for the first Read
	p        Principal       // accepted
	ids      [2]ticket.Key   // ... its revocation IDs
	epoch    uint64          // ... and the Registry's catch-up epoch before its store check
	cred     string          // ... with this credential
	vals     context.Context // values, made once
	dl       *deadline       // the first read's, stopped in time; for auth_ok
}

// attempts holds attempts for reuse. A handshake's short-lived objects
// leave holes, at the next collection, in the spans that hold the
// connections' long-lived ones of their size (BENCHMARKS.md, section
// 4): an attempt reused allocates nothing.
var attempts = sync.Pool{New: func() any { return new(attempt) }}

// release returns at to attempts, cleared: nothing refers to an attempt
// once Accept or Middleware is done with it.
func (at *attempt) release() {
	*at = attempt{}
	attempts.Put(at)
}

// values returns the request's context without its cancellation: once
// upgraded, the request's context says nothing of the client, and a
// router's request timeout may have ended it. One per attempt: the
// connection's life keeps it, and so may the socket, as the context of
// its last read or write.
func (at *attempt) values() context.Context {
	if at.vals == nil {
		at.vals = context.WithoutCancel(at.r.Context())
	}
	return at.vals
}

// Accept authenticates r and upgrades it, and returns the authenticated
// connection. When it refuses, it has already answered the client (an
// HTTP status, or a close code after an upgrade) and returns an error
// wrapping one of this package's errors; it never contains the credential.
// The caller must close the Conn.
func (a *Authenticator) Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	// Accept, answer and upgrade keep small frames: net/http writes the
	// 101 under them, and a goroutine that outgrows 8 KiB there keeps the
	// grown stack for the connection's life (BENCHMARKS.md, section 4).
	at, err := a.authenticate(w, r)
	if err != nil {
		return nil, err
	}
	c, err := at.register()
	if err == nil && at.sock == nil {
		err = at.answer(c)
	}
	if err == nil {
		err = at.confirm(c)
	}
	at.release()
	if err != nil {
		return nil, err
	}
	if breaks.RegisterLate.Load() {
		a.registry.addLate(&c.life, c.principal.Load())
		a.emitAuthenticated(&c.life)
	}
	return c, nil
}

// register makes the Conn of an accepted attempt and registers it,
// before the client hears of success.
func (at *attempt) register() (*Conn, error) {
	a := at.a
	c := &Conn{req: at.r, first: at.first}
	c.init(a, at.values(), at.peer.Addr, at.start, at.p)
	if at.first != nil {
		c.remember(at.cred, c.principal.Load()) // per-message: later frames repeat it
	}
	if breaks.RegisterLate.Load() {
		return c, nil // registered in Accept, after the answer
	}
	if err := at.admit(&c.life); err != nil {
		return nil, err
	}
	return c, nil
}

// admit registers l, readied with the attempt's principal, or refuses the
// attempt if a revocation covers it.
func (at *attempt) admit(l *life) error {
	if err := l.begin(at.ids, at.epoch); err != nil {
		return at.refuse(err, false)
	}
	// Registered: from here on the connection ends with EventClosed,
	// whatever ends it, even before the client hears of success; so
	// EventAuthenticated goes out now, and a gauge of live connections
	// needs nothing else.
	at.a.emitAuthenticated(l)
	return nil
}

// authenticate runs the pipeline from the origin to the Authorizer, and
// returns the attempt with its accepted principal and credential. Its
// frame stays small: the in-band strategies write the 101 under carry.
func (a *Authenticator) authenticate(w http.ResponseWriter, r *http.Request) (*attempt, error) {
	// Released attempts are zero. Set field by field: a composite
	// literal would be built in this frame first, under the 101's write.
	at := attempts.Get().(*attempt)
	at.a, at.w, at.r, at.start = a, w, r, time.Now()
	if err := at.authenticate(); err != nil {
		at.release()
		return nil, err
	}
	return at, nil
}

// authenticate is Authenticator.authenticate's pipeline, on at.
func (at *attempt) authenticate() error {
	if err := at.screen(); err != nil {
		return err
	}
	// Credential, from the carrier.
	at.carried = true
	cred, err := at.a.strategy.carry(at)
	if err != nil {
		return at.refuse(err, false)
	}
	return at.check(cred)
}

// screen runs the pipeline's steps before the credential is read.
func (at *attempt) screen() error {
	a, r := at.a, at.r
	// Origin: before anything else, so a foreign page learns nothing and
	// burns no ticket.
	if err := checkOrigin(r, a.origins, a.sameOrigin); err != nil {
		return at.refuse(err, false)
	}
	// A request that is no WebSocket handshake would be refused by the
	// library after its ticket was spent: refuse it first.
	if err := checkHandshake(r); err != nil {
		return at.refuse(err, false)
	}
	// Client address.
	addr, err := a.clientIP.Of(r)
	if err != nil {
		return at.refuse(fail(kindInvalid, err), false)
	}
	at.peer = Peer{Addr: addr, Request: r}
	// Failure budget: a spent address is not even read from.
	if a.limiter.limited(addr) {
		return at.refuse(fail(kindRateLimited, nil), false)
	}
	return nil
}

// check verifies cred, then checks the revocations and the Authorizer.
// Once upgraded, the request's context says nothing of the client, and a
// router's request timeout (chi's middleware.Timeout) may have ended it:
// the checks get its values and a deadline of their own.
func (at *attempt) check(cred string) error {
	ctx := at.r.Context()
	if at.sock != nil {
		cc := newCheckContext(at.values(), answerTimeout)
		defer cc.end(checksDone)
		ctx = cc
	}
	p, ids, epoch, err := at.a.check(ctx, at.peer, cred, nil)
	if err != nil {
		return at.refuse(err, true)
	}
	at.p, at.ids, at.epoch, at.cred = p, ids, epoch, cred
	return nil
}

// answer writes the 101 of a handshake strategy, with a deadline. If it
// fails, the registered connection ends here.
func (at *attempt) answer(c *Conn) error {
	upgraded := false
	defer func() {
		if !upgraded {
			// The library answered with an HTTP error, or
			// Options.Upgrade panicked (net/http recovers it): the
			// connection, registered already, ends here either way.
			c.endByPeer("gone", 0)
		}
	}()
	if err := at.upgrade(); err != nil {
		return fail(kindUpgrade, err)
	}
	upgraded = true
	return nil
}

// confirm hands the upgraded socket to c and, for the in-band
// strategies, writes auth_ok with a deadline. A revocation that ended c
// meanwhile closes the connection instead, and it is never served.
func (at *attempt) confirm(c *Conn) error {
	c.sock = at.sock
	if at.sock != nil && at.a.strategy.handshake() {
		// FirstMessage and PerMessage's readFirst has; a handshake
		// strategy's socket, in band or not, has read nothing yet.
		c.sock.SetReadLimit(at.a.readLimit)
	}
	if c.first != nil {
		c.first.Principal = c.current()
	}
	if !c.attach(c) {
		code, text, _, _ := c.endedByUs()
		c.sock.Close(code, text)
		return fmt.Errorf("wsauth: answer: %w", fail(kindRevoked, nil))
	}
	if at.a.strategy.inBand() {
		if err := c.writeAuthOK(c.values(), c.principal.Load(), at.dl); err != nil {
			c.endByPeer("gone", 0) // closes the socket
			return fmt.Errorf("wsauth: answer: auth_ok: %w", err)
		}
	}
	// Ended while auth_ok was on its way: the end has closed the
	// connection, or is closing it.
	if _, _, why, ok := c.endedByUs(); ok {
		return fmt.Errorf("wsauth: answer: connection %s", why)
	}
	return nil
}

// check runs a credential through the failure budget, the Verifier, the
// revocations and the Authorizer, in that order; current, if not nil, is
// the connection's principal, whose subject the credential must keep. The
// budget unit reserved before verifying is given back unless the client
// was at fault, so at most the budget's worth of attempts reach the
// Verifier however many arrive at once. It returns the principal's
// revocation IDs too, hashed once for the store and the Registry, and the
// Registry's catch-up epoch from before the store was asked (see
// Registry.add).
func (a *Authenticator) check(ctx context.Context, peer Peer, cred string, current *Principal) (Principal, [2]ticket.Key, uint64, error) {
	h := a.limiter.hash(cred)
	late := breaks.SpendAfterVerify.Load()
	if late {
		if a.limiter.limited(peer.Addr) {
			return Principal{}, [2]ticket.Key{}, 0, fail(kindRateLimited, nil)
		}
	} else if ok, repeated := a.limiter.reserve(peer.Addr, h); !ok {
		return Principal{}, [2]ticket.Key{}, 0, fail(repeated, errRepeated(repeated))
	}
	p, err := a.verify(ctx, cred, peer)
	if err == nil && current != nil && p.Subject != current.Subject {
		err = fail(kindSubjectChanged, nil)
	}
	var ids [2]ticket.Key
	if err == nil {
		ids = p.revocationIDs()
	}
	epoch := a.registry.epoch.Load()
	storeAt := time.Now()
	if err == nil && !(current != nil && breaks.SkipRevocationsOnRefresh.Load()) {
		err = a.registry.checkStore(ctx, &p, ids)
	}
	if err == nil {
		err = a.authorizeSafely(ctx, p, peer.Request)
	}
	if err == nil && time.Since(storeAt) > maxCheckAge {
		// The Registry remembers a revocation for recentWindow, to refuse
		// at registration what was being checked when it came: a check
		// that outlasts that would register unseen.
		err = fail(kindUnavailable, errSlowCheck)
	}
	if err == nil && current != nil && !breaks.SkipRevocationsOnRefresh.Load() && a.registry.revoked(&p, ids) {
		// Revoked while it was checked. A first credential is caught when
		// it registers; a later one that does not become the principal
		// registers nothing.
		err = fail(kindRevoked, nil)
	}
	if late {
		if err != nil && refusalOf(err).spends {
			a.limiter.spend(peer.Addr)
		}
	} else {
		a.limiter.settle(peer.Addr, h, err)
	}
	if err != nil {
		return Principal{}, [2]ticket.Key{}, 0, err
	}
	return p, ids, epoch, nil
}

// maxCheckAge bounds the time from a credential's store check to the end
// of its checks (the Authorizer's, mostly): half the Registry's memory of
// recent revocations, which registration relies on.
const maxCheckAge = recentWindow / 2

var errSlowCheck = errors.New("the checks took longer than the Registry remembers revocations")

// errRepeated says why a refusal came without a check.
func errRepeated(k kind) error {
	if k == kindRateLimited {
		return nil
	}
	return errors.New("refused a moment ago, not checked again")
}

// verify runs the Verifier with panics recovered and its result checked,
// so that whatever goes wrong ends in refusal.
func (a *Authenticator) verify(ctx context.Context, cred string, peer Peer) (p Principal, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = Principal{}, fail(kindInternal, errors.New("verifier panicked"))
		}
	}()
	p, err = a.verifier.Verify(ctx, cred, peer)
	switch {
	case err != nil:
		return Principal{}, err
	case p.Subject == "":
		return Principal{}, fail(kindInvalid, errors.New("no subject"))
	case !p.ExpiresAt.IsZero() && !time.Now().Before(p.ExpiresAt):
		return Principal{}, fail(kindExpired, nil)
	}
	return p, nil
}

// authorizeSafely runs the Authorizer, if any, with panics recovered. An
// error of unknown origin is a refusal: forbidden.
func (a *Authenticator) authorizeSafely(ctx context.Context, p Principal, r *http.Request) (err error) {
	if a.authorize == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fail(kindInternal, errors.New("authorizer panicked"))
		}
	}()
	if err = a.authorize(ctx, p, r); err != nil && kindOf(err) == kindInvalid && !errors.Is(err, ErrInvalid) {
		err = fail(kindForbidden, err)
	}
	return err
}

// refuse answers a refused attempt and reports it. settled says check
// has already charged the failure budget; otherwise a refusal that spends
// it is charged here. The answer is a close code when the socket is
// already upgraded, or the strategy speaks in band (then it upgrades to
// say so, which a browser can read, unlike an HTTP status); otherwise an
// HTTP status. Cross-origin requests and requests without an acceptable
// subprotocol are always answered over HTTP.
func (at *attempt) refuse(err error, settled bool) error {
	if !at.carried && at.a.strategy.handshake() {
		// Refused before the credential was read: still remove it from
		// the request, and find the subprotocol to echo.
		at.carried = true
		at.a.strategy.carry(at)
	}
	k := kindOf(err)
	row := refusals[k]
	if row.spends && !settled {
		at.a.limiter.spend(at.peer.Addr)
	}
	// The event goes out before the answer, so that it is recorded
	// before the client can try again.
	report := func(code int) {
		at.a.emit(at.values(), Event{Kind: EventRefused, Reason: row.reason, Addr: at.peer.Addr, Code: code, Err: err})
	}
	var hs *handshakeError
	switch {
	case errors.As(err, &hs):
		report(hs.status)
		hs.answer(at.w, at.r)
	case k == kindUpgrade:
		report(0) // the library's HTTP error, whatever it was
	case at.silent:
		report(0)
	case at.answered:
		report(int(row.code))
	case at.sock == nil && at.a.strategy.inBand() && k != kindOrigin && k != kindSubprotocol:
		if at.upgrade() != nil {
			report(0) // the upgrade library has answered with an HTTP error
			break
		}
		report(int(row.code))
		at.sock.Close(row.code, row.text)
	case at.sock != nil:
		report(int(row.code))
		at.sock.Close(row.code, row.text)
	default:
		report(row.status)
		writeRefusal(at.w, at.r, row.status, row.text)
	}
	return err
}

// upgrade upgrades at's request with the Authenticator's library,
// echoing at.protocol; the 101 is written within answerTimeout. It runs on
// the handler's goroutine, under frames kept small for it (Accept):
// internal/connmem's TestStackAfterUpgrade fails if the 101 takes the
// goroutine past 8 KiB of stack.
func (at *attempt) upgrade() error {
	boundAnswer(at.w)
	s, err := at.a.upgrade(at.w, at.r, at.protocol)
	if err != nil {
		return fmt.Errorf("wsauth: upgrade: %w", err)
	}
	at.sock = s
	return nil
}

// boundAnswer gives the answer about to be written on w (a 101, or a
// refusal's HTTP status) its deadline, answerTimeout. Hijacking clears it
// again; libraries that hijack before writing the 101 (gorilla) bound that
// write themselves.
func boundAnswer(w http.ResponseWriter) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerTimeout))
}

// readFirst upgrades and reads the first frame with the in-band
// strategies' read limit and deadline. A Read whose context ends kills a
// coder/websocket connection without a close frame, so the deadline is a
// timer that closes with 4408 instead.
func (at *attempt) readFirst(timeout time.Duration, limit int64) (websocket.MessageType, []byte, error) {
	if err := at.upgrade(); err != nil {
		at.answered = true // by the library, with an HTTP error
		return 0, nil, fail(kindUpgrade, err)
	}
	s := at.sock
	s.SetReadLimit(limit)
	at.dl = &deadline{sock: s}
	at.dl.arm(timeout, false)
	// The deadline is at.dl: a context without Done spares coder a
	// watcher per connection.
	typ, b, err := s.Read(at.values())
	if !at.dl.stop() {
		// Only this code stops it: it has fired, and closed the
		// connection with 4408; what is left of it can go at once.
		at.dl = nil
		at.answered = true
		closeNow(s)
		return 0, nil, fail(kindTimeout, nil)
	}
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		// The library has sent 1009. Closing now, with the rest of the
		// frame unread, would reset the connection before the client
		// reads the 1009: the refusal finishes the close handshake,
		// which discards what is still coming.
		return 0, nil, fail(kindTooLarge, err)
	case err != nil:
		at.answered, at.silent = true, true
		closeNow(s)
		return 0, nil, fail(kindNoCredential, fmt.Errorf("reading the first frame: %w", err))
	}
	s.SetReadLimit(at.a.readLimit)
	return typ, b, nil
}
