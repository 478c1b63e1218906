package wsauth

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/transport"
)

// recentWindow is how long a Registry remembers a revocation itself, for
// the attempts that were being checked when it happened: longer than any
// attempt takes from its check to its registration.
const recentWindow = time.Minute

// After the bus may have missed revocations, a catch-up checks every live
// connection against the store. A check the store cannot answer is tried
// again, catchUpRetry later, the wait doubling up to catchUpMaxRetry. A
// connection has catchUpGrace from the catch-up that found it unchecked:
// once that has passed, the first check the store cannot answer ends it
// with 1011, as an attempt the store cannot vouch for is refused, and its
// client reconnects through the pipeline, which checks the store again.
// A store that answers each check within catchUpCheckTimeout is waited
// for, however long the pass. A connection that registers during a
// catch-up, its credential checked against the store before the pass
// began, is handed to it too.
const (
	catchUpRetry        = 100 * time.Millisecond
	catchUpMaxRetry     = 5 * time.Second
	catchUpGrace        = 30 * time.Second
	catchUpCheckTimeout = 5 * time.Second
)

// Registry holds the live connections of one node, so that they can be
// revoked, and checks every credential against the revocations of a store.
// Set it as Options.Registry of each Authenticator of the node.
//
// A connection is registered before its client hears that it succeeded (the
// 101, or auth_ok), and removed when it ends. A Revoke that runs at any
// moment of an attempt therefore either makes the attempt fail or closes
// the connection afterwards.
//
// A Registry is safe for concurrent use.
type Registry struct {
	store ticket.Revocations
	bus   ticket.Bus
	// epoch counts the catch-ups' full passes, so that an attempt or a
	// refresh whose store check came before one and whose registration
	// after its start is checked too (add). Written under mu.
	epoch atomic.Uint64

	mu sync.Mutex
	// Live connections (see index).
	bySubject index[string]
	byID      index[idSlot] // by the slots of revocation IDs (idSlotOf)
	n         int
	// Recent revocations: of subjects, by the time they happened and the
	// time this node applied them; of IDs, by the time applied. recent
	// lists them in the order applied, so that forgetting the old ones
	// costs what is forgotten, not what is remembered.
	subjects map[string]subjectRevoked
	ids      map[ticket.Key]time.Time
	recent   []appliedRevocation
	// catching: a catch-up goroutine runs; recheck: it is to check every
	// live connection again, the bus having been interrupted once more;
	// late: connections registered with a store check older than the
	// catch-up's pass, for it to check; live: the contexts of the Listens
	// not yet ended, by number (listens counts them all), of which the
	// latest bounds the catch-up.
	catching, recheck bool
	late              []*life
	answered          map[*life]struct{} // refreshed, their store check after the pass began
	live              map[int]context.Context
	listens           int
}

// NewRegistry returns an empty Registry. store, if not nil, keeps
// revocations durably (memstore and redisstore stores are
// ticket.Revocations): every credential is then checked against it, and a
// credential it cannot vouch for is refused (see ticket.Revocations). bus,
// if not nil, carries revocations to and from the other nodes; call Listen
// to receive them. Both may be nil: a single node that keeps revocations
// in memory only.
func NewRegistry(store ticket.Revocations, bus ticket.Bus) *Registry {
	return &Registry{
		store:     store,
		bus:       bus,
		bySubject: newIndex[string](),
		byID:      newIndex[idSlot](),
		subjects:  make(map[string]subjectRevoked),
		ids:       make(map[ticket.Key]time.Time),
	}
}

// Listen starts the Registry: call it when the node starts, before it
// hands out credentials. It reads the store once, so that a store never
// used before records when its revocation list starts (see
// ticket.Revocations), and subscribes to the bus, so that revocations
// published on other nodes close connections here too, until ctx is done.
// It returns once subscribed. Whenever the subscription comes back after
// an interruption, and when a Listen succeeds with connections already
// registered (Listen again after an earlier one ended or failed), the
// Registry checks its live connections against the store and closes the
// revoked ones; a check the store cannot answer is tried again, and a
// connection the store has not answered for in 30 s ends with 1011.
func (r *Registry) Listen(ctx context.Context) error {
	if r.store != nil {
		// A store that has never been used records now that its list
		// starts; credentials issued before are refused. Doing it at
		// startup rather than at the first check keeps that moment
		// before the node hands out any credential.
		if _, err := r.store.Check(ctx, [2]ticket.Key{}, ""); err != nil {
			return fmt.Errorf("wsauth: registry: revocations: %w", err)
		}
	}
	if r.bus == nil {
		return nil
	}
	// Live from before Subscribe, which may report a re-subscription
	// before it returns; gone when ctx ends, or if Subscribe fails.
	r.mu.Lock()
	r.listens++
	n := r.listens
	if r.live == nil {
		r.live = make(map[int]context.Context)
	}
	r.live[n] = ctx
	r.mu.Unlock()
	forget := func() {
		r.mu.Lock()
		delete(r.live, n)
		r.mu.Unlock()
	}
	err := r.bus.Subscribe(ctx, func(rev ticket.Revocation) { r.apply(rev) }, func() { r.catchUp(ctx) })
	if err != nil {
		forget()
		return fmt.Errorf("wsauth: registry: subscribe: %w", err)
	}
	context.AfterFunc(ctx, forget)
	// Connections registered before (Listen again, or a first Listen that
	// failed and was tried again), and attempts whose store check came
	// before, may have missed what was published in between: catch up,
	// which with nothing registered only moves the epoch.
	r.catchUp(ctx)
	return nil
}

// Revoke ends every connection of subject, on this node and on every node
// that listens on the bus, with 4401 and reason (cut to a valid close
// reason; "revoked" if empty), and refuses from then on every credential
// issued to subject before now, including tickets not yet redeemed. With a
// store, the revocation is recorded there first and holds on every node;
// without one, only in this node's memory and only for a minute. "Before
// now" is by this node's clock and the issue time by the issuer's: keep
// the clocks in sync. An error means the store or the bus could not be
// told; the connections here are closed regardless.
func (r *Registry) Revoke(ctx context.Context, subject, reason string) error {
	now := time.Now()
	var errs []error
	if r.store != nil {
		if err := r.store.RevokeSubject(ctx, subject, now); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
	}
	rev := ticket.Revocation{Subject: subject, Reason: closeReason(reason), At: now}
	errs = append(errs, r.announce(ctx, rev))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wsauth: revoke: %w", err)
	}
	return nil
}

// RevokeToken revokes by ID until until, the latest expiry of what it
// revokes: the credential whose token ID ("jti") is id, and every
// credential whose session ID ("sid") is id, which logs that session out.
// They are refused from then on, and the live connections carrying them
// end with 4401 and reason (as Revoke's), here and on every node that
// listens on the bus. It needs a store; without one it only ends this
// node's connections and returns an error.
func (r *Registry) RevokeToken(ctx context.Context, id string, until time.Time, reason string) error {
	if id == "" {
		return errors.New("wsauth: revoke token: empty token ID")
	}
	key := ticket.DenyKey(id)
	var errs []error
	if r.store == nil {
		errs = append(errs, errors.New("registry has no store"))
	} else if err := r.store.RevokeID(ctx, key, until); err != nil {
		errs = append(errs, fmt.Errorf("store: %w", err))
	}
	rev := ticket.Revocation{ID: key, Reason: closeReason(reason), At: time.Now()}
	errs = append(errs, r.announce(ctx, rev))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wsauth: revoke token: %w", err)
	}
	return nil
}

// announce publishes rev, then applies it here: the other nodes hear of
// it before this one starts closing its own connections, which would
// otherwise hold up the publish behind thousands of closes. It returns
// the publish's error; rev is applied here in any case.
func (r *Registry) announce(ctx context.Context, rev ticket.Revocation) error {
	var err error
	if r.bus != nil {
		if perr := r.bus.Publish(ctx, rev); perr != nil {
			err = fmt.Errorf("publish: %w", perr)
		}
	}
	r.apply(rev)
	return err
}

// apply remembers rev and ends this node's connections it names: when
// apply returns they are ended (unregistered, their writes failing) and
// their close handshakes under way, started from a goroutine of their own
// so that the caller is not queued behind them.
func (r *Registry) apply(rev ticket.Revocation) {
	r.mu.Lock()
	now := time.Now() // under the lock: recent stays in order
	at := rev.At
	if at.IsZero() {
		at = now
	}
	// A time after now, from a node whose clock runs ahead, is taken as it
	// is: the store compares it with issue times from that clock, and so
	// must the connections and attempts ended or refused here.
	r.forgetOld(now)
	if rev.Subject != "" {
		// Credentials issued after the revocation are not covered, even
		// when the bus brings it late.
		latest := at
		if prev, ok := r.subjects[rev.Subject]; ok && prev.at.After(at) {
			latest = prev.at
		}
		r.subjects[rev.Subject] = subjectRevoked{at: latest, applied: now}
	}
	if rev.ID != (ticket.Key{}) {
		r.ids[rev.ID] = now
	}
	r.recent = append(r.recent, appliedRevocation{subject: rev.Subject, id: rev.ID, applied: now})
	ended := r.coveredLocked(rev, at)
	r.mu.Unlock()
	reason := closeReason(rev.Reason)
	closes := make([]func(), 0, len(ended))
	for _, l := range ended {
		if closeFn, ok := l.end("revoked", transport.CloseUnauthenticated, reason); ok {
			closes = append(closes, closeFn)
		}
	}
	if len(closes) > 0 {
		go func() {
			for _, f := range closes {
				go f()
			}
		}()
	}
}

// coveredLocked returns the live connections rev names: by subject those
// whose credential was issued at or before at, when the subject was
// revoked (a credential issued after it is not revoked, also when the bus
// brings the revocation late), and by revocation ID those whose principal
// carries it (not merely one that shares its slot). r.mu is held.
func (r *Registry) coveredLocked(rev ticket.Revocation, at time.Time) []*life {
	var ls []*life
	if rev.Subject != "" {
		ls = r.bySubject.appendTo(ls, rev.Subject)
		ls = slices.DeleteFunc(ls, func(l *life) bool { return l.principal.Load().IssuedAt.After(at) })
	}
	if rev.ID != (ticket.Key{}) {
		n := len(ls)
		ls = r.byID.appendTo(ls, idSlotOf(rev.ID))
		kept := slices.DeleteFunc(ls[n:], func(l *life) bool { return !l.carries(rev.ID) })
		ls = ls[:n+len(kept)]
	}
	return ls
}

// catchUp checks every live connection against the store, after the bus
// of a Listen whose context is ctx may have missed revocations, on a
// goroutine of its own so that the bus goes on delivering (see
// catchUpRetry). A catch-up asked for while one runs makes it check every
// connection again. It runs while a Listen lives, bounded by the latest
// one's context: a subscription may report its last re-subscription after
// its own context has ended, which is ignored.
func (r *Registry) catchUp(ctx context.Context) {
	if r.store == nil {
		return
	}
	r.mu.Lock()
	if ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.recheck = true
	r.startCatchUpLocked()
	r.mu.Unlock()
}

// startCatchUpLocked starts the catch-up goroutine unless it runs. r.mu
// is held; the goroutine waits for it.
func (r *Registry) startCatchUpLocked() {
	if !r.catching {
		r.catching = true
		go r.catchUpLoop()
	}
}

// pend is a connection a catch-up has yet to check, and when its grace
// ends: it has been unchecked since the catch-up that began then.
type pend struct {
	l        *life
	deadline time.Time
}

func (r *Registry) catchUpLoop() {
	var pending []pend
	wait := catchUpRetry
	for {
		r.mu.Lock()
		ctx := r.liveLocked()
		if ctx == nil {
			r.catching, r.recheck, r.late, r.answered = false, false, nil, nil
			r.mu.Unlock()
			return
		}
		now := time.Now()
		if r.recheck {
			// Every connection, each with the grace it has had since it was
			// last answered for: one still pending keeps its deadline.
			r.recheck = false
			r.epoch.Add(1)
			kept := make(map[*life]time.Time, len(pending))
			for _, p := range pending {
				if _, ok := r.answered[p.l]; !ok {
					kept[p.l] = p.deadline
				}
			}
			r.answered = nil
			pending = pending[:0]
			for _, l := range r.bySubject.appendAll(nil) {
				d, ok := kept[l]
				if !ok {
					d = now.Add(catchUpGrace)
				}
				pending = append(pending, pend{l, d})
			}
			wait = catchUpRetry
		}
		if len(r.late) > 0 {
			for _, l := range r.late {
				pending = append(pending, pend{l, now.Add(catchUpGrace)})
			}
			r.late, wait = nil, catchUpRetry
		}
		// Only those still registered: an ended connection needs no check.
		pending = slices.DeleteFunc(pending, func(p pend) bool {
			_, ok := r.answered[p.l]
			return !p.l.registered || ok
		})
		r.answered = nil
		if len(pending) == 0 {
			r.catching = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		pending = r.checkLives(ctx, pending)
		if len(pending) == 0 || ctx.Err() != nil {
			continue // done, or under another Listen if one lives
		}
		next := pending[0].deadline
		for _, p := range pending[1:] {
			if p.deadline.Before(next) {
				next = p.deadline
			}
		}
		t := time.NewTimer(max(0, min(wait, time.Until(next))))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, catchUpMaxRetry)
	}
}

// checkLives checks each of pending against the store, ends those it says
// are revoked, and returns those it could not answer for. A check the
// store fails once the connection's grace has passed ends the pass, and
// with it the connections whose grace has passed; the others stay
// pending. So a store that answers each check only after its timeout does
// not hold a pass over many connections far beyond the grace, and a slow
// store that answers goes on being asked; one check waits
// catchUpCheckTimeout at most, whatever the store's client allows.
func (r *Registry) checkLives(ctx context.Context, pending []pend) []pend {
	failed := pending[:0]
	for i, p := range pending {
		if ctx.Err() != nil {
			return append(failed, pending[i:]...)
		}
		pr := p.l.principal.Load()
		cctx, cancel := context.WithTimeout(ctx, catchUpCheckTimeout)
		err := r.checkStore(cctx, pr, pr.revocationIDs())
		cancel()
		switch {
		case err == nil:
		case kindOf(err) == kindRevoked:
			p.l.endByUs("revoked", transport.CloseUnauthenticated, refusals[kindRevoked].text)
		default:
			failed = append(failed, p)
			now := time.Now()
			if now.Before(p.deadline) {
				continue
			}
			rest := append(failed, pending[i+1:]...)
			kept := rest[:0]
			k := refusals[kindUnavailable]
			for _, q := range rest {
				if now.Before(q.deadline) {
					kept = append(kept, q)
				} else {
					q.l.endByUs(k.reason, k.code, k.text)
				}
			}
			return kept
		}
	}
	return failed
}

// liveLocked returns the context of the latest Listen not yet ended, or
// nil. r.mu is held.
func (r *Registry) liveLocked() context.Context {
	latest := 0
	for n, ctx := range r.live {
		if n > latest && ctx.Err() == nil {
			latest = n
		}
	}
	return r.live[latest]
}

// checkStore refuses p, whose revocation IDs are ids, if the store says it
// is revoked, or cannot say: one Check, for the subject and both IDs.
func (r *Registry) checkStore(ctx context.Context, p *Principal, ids [2]ticket.Key) error {
	if r.store == nil {
		return nil
	}
	st, err := r.store.Check(ctx, ids, p.Subject)
	switch {
	case err != nil:
		return fail(kindUnavailable, fmt.Errorf("revocations: %w", err))
	case st.Refuses(p.IssuedAt):
		return fail(kindRevoked, nil)
	}
	return nil
}

// revoked reports whether a recent revocation covers p: for a later
// credential (a refresh, a per-message token), checked last, after the
// store and the Authorizer, so that a revocation applied while it was
// being checked refuses it.
func (r *Registry) revoked(p *Principal, ids [2]ticket.Key) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.revokedLocked(p, ids)
}

// revokedLocked reports whether a recent revocation covers p. r.mu is held.
func (r *Registry) revokedLocked(p *Principal, ids [2]ticket.Key) bool {
	if rev, ok := r.subjects[p.Subject]; ok && !p.IssuedAt.After(rev.at) {
		return true
	}
	for _, k := range ids {
		if _, ok := r.ids[k]; ok && k != (ticket.Key{}) {
			return true
		}
	}
	return false
}

// add registers l with principal p, whose revocation IDs are ids, unless
// a recent revocation covers p.
func (r *Registry) add(l *life, p *Principal, ids [2]ticket.Key, epoch uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revokedLocked(p, ids) {
		return false
	}
	r.register(l, p.Subject, ids)
	r.lateLocked(l, epoch)
	return true
}

// lateLocked hands l to the catch-up if one began a pass since epoch was
// read, before l's credential was checked against the store: the pass did
// not see l, nor the store l's revocation, if it came while the bus was
// down. It reports whether it did. r.mu is held.
func (r *Registry) lateLocked(l *life, epoch uint64) bool {
	if r.store == nil || epoch == r.epoch.Load() {
		return false
	}
	r.late = append(r.late, l)
	r.startCatchUpLocked()
	return true
}

// addLate registers l without the check of recent revocations: the broken
// variant breaks.RegisterLate.
func (r *Registry) addLate(l *life, p *Principal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.register(l, p.Subject, p.revocationIDs())
	l.mu.Lock()
	l.armLocked(p)
	l.mu.Unlock()
}

// reindex files l under ids, the revocation IDs of its new principal p
// (same subject), unless a recent revocation covers p.
func (r *Registry) reindex(l *life, p *Principal, ids [2]ticket.Key, epoch uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !l.registered {
		return true // not registered, or gone already
	}
	if r.revokedLocked(p, ids) {
		return false
	}
	if slots := idSlots(ids); slots != l.ids {
		r.unindex(l)
		l.ids = slots
		r.index(l)
	}
	if !r.lateLocked(l, epoch) && r.catching {
		// Checked against the store since the pass began: answered for,
		// if the pass has it pending.
		if r.answered == nil {
			r.answered = make(map[*life]struct{})
		}
		r.answered[l] = struct{}{}
	}
	return true
}

// register files l under subject and ids. r.mu is held.
func (r *Registry) register(l *life, subject string, ids [2]ticket.Key) {
	l.ids, l.registered = idSlots(ids), true
	l.pos[0] = r.bySubject.add(subject, l)
	r.index(l)
	r.n++
}

// remove forgets l; it is idempotent.
func (r *Registry) remove(l *life) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !l.registered {
		return
	}
	l.registered = false
	r.bySubject.drop(l.principal.Load().Subject, l.pos[0], func(m *life, i int32) { m.pos[0] = i })
	r.unindex(l)
	r.n--
}

// index and unindex file l under its revocation IDs. r.mu is held.
func (r *Registry) index(l *life) {
	for i, k := range l.ids {
		if k != 0 {
			l.pos[1+i] = r.byID.add(k, l)
		}
	}
}

func (r *Registry) unindex(l *life) {
	for i, k := range l.ids {
		if k != 0 {
			r.byID.drop(k, l.pos[1+i], func(m *life, j int32) {
				// m is under k in the slot of whichever of its IDs k is.
				if m.ids[0] == k {
					m.pos[1] = j
				} else {
					m.pos[2] = j
				}
			})
		}
	}
}

// An idSlot files a live connection under a revocation ID: the first 8
// bytes of its ticket.Key, which is a SHA-256. A life keeps two of them
// rather than two 32-byte keys; two IDs that share a slot are told apart
// by carries when a revocation comes.
type idSlot uint64

// idSlotOf returns k's slot: 0 for the zero Key (no ID), never 0 for
// another.
func idSlotOf(k ticket.Key) idSlot {
	if k == (ticket.Key{}) {
		return 0
	}
	return max(idSlot(binary.LittleEndian.Uint64(k[:8])), 1)
}

// idSlots returns the slots of ids, the second 0 if it is the first's,
// whether the two keys are equal or only share a slot: a connection is
// filed once under a slot, and removed once (carries tells its two IDs
// apart).
func idSlots(ids [2]ticket.Key) [2]idSlot {
	s := [2]idSlot{idSlotOf(ids[0]), idSlotOf(ids[1])}
	if s[1] == s[0] {
		s[1] = 0
	}
	return s
}

// len is the number of live connections; for tests.
func (r *Registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// subjectRevoked is a subject's recent revocation: the time it happened,
// which the credentials it covers were issued at or before, and the time
// this node last applied one.
type subjectRevoked struct{ at, applied time.Time }

// appliedRevocation is an entry of Registry.recent.
type appliedRevocation struct {
	subject string
	id      ticket.Key
	applied time.Time
}

// forgetOld drops the revocations this node applied more than recentWindow
// ago, unless it applied them again since. r.mu is held.
func (r *Registry) forgetOld(now time.Time) {
	i := 0
	for ; i < len(r.recent) && now.Sub(r.recent[i].applied) > recentWindow; i++ {
		e := r.recent[i]
		if rev, ok := r.subjects[e.subject]; ok && e.subject != "" && rev.applied.Equal(e.applied) {
			delete(r.subjects, e.subject)
		}
		if applied, ok := r.ids[e.id]; ok && e.id != (ticket.Key{}) && applied.Equal(e.applied) {
			delete(r.ids, e.id)
		}
	}
	// The entries dropped go with the array the next append makes.
	r.recent = r.recent[i:]
}

// An index files live connections by key. Most keys (a subject, a token
// ID) have one connection: those are in one, at no cost beyond the map's
// slot, and only keys with two or more have a slice, in many. A key is in
// at most one of the two maps.
type index[K comparable] struct {
	one  map[K]*life
	many map[K][]*life
}

func newIndex[K comparable]() index[K] {
	return index[K]{one: make(map[K]*life), many: make(map[K][]*life)}
}

// add files l under k and returns its position there.
func (x index[K]) add(k K, l *life) int32 {
	if ls, ok := x.many[k]; ok {
		x.many[k] = append(ls, l)
		return int32(len(ls))
	}
	if first, ok := x.one[k]; ok {
		delete(x.one, k)
		x.many[k] = []*life{first, l} // first stays at 0
		return 1
	}
	x.one[k] = l
	return 0
}

// drop removes l, at position i under k, filling the hole with the last
// entry, whose new position moved records.
func (x index[K]) drop(k K, i int32, moved func(*life, int32)) {
	ls, ok := x.many[k]
	if !ok {
		delete(x.one, k)
		return
	}
	last := int32(len(ls) - 1)
	if i != last {
		ls[i] = ls[last]
		moved(ls[i], i)
	}
	ls[last] = nil
	switch {
	case last == 1:
		delete(x.many, k)
		x.one[k] = ls[0] // at position 0 already
	case int(last) < cap(ls)/4:
		// A subject that had many connections does not keep the room.
		x.many[k] = append([]*life(nil), ls[:last]...)
	default:
		x.many[k] = ls[:last]
	}
}

// appendTo appends the connections under k to ls.
func (x index[K]) appendTo(ls []*life, k K) []*life {
	if l, ok := x.one[k]; ok {
		return append(ls, l)
	}
	return append(ls, x.many[k]...)
}

// appendAll appends every connection filed to ls.
func (x index[K]) appendAll(ls []*life) []*life {
	for _, l := range x.one {
		ls = append(ls, l)
	}
	for _, m := range x.many {
		ls = append(ls, m...)
	}
	return ls
}

// maxCloseReason is the longest close reason a close frame can carry.
const maxCloseReason = 123

// closeReason makes s a safe close reason: printable UTF-8 of at most 123
// bytes, cut at a rune boundary; "revoked" if nothing is left.
func closeReason(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxCloseReason {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "revoked"
	}
	return b.String()
}
