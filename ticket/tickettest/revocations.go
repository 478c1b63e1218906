package tickettest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// TestRevocations checks the ticket.Revocations of the stores built by h,
// each subtest with a fresh store:
//
//   - Denied: a revoked ID is denied, with or without a subject; IDs one
//     bit apart, and credentials without an ID, are not.
//   - Lapse: a revoked ID is denied until its time, and not after.
//   - Past: revoking until a time already past denies nothing.
//   - KeepsLater: revoking an ID again keeps the later of the two times.
//   - Subject: a revoked subject refuses its credentials issued at or
//     before the revocation (to the nanosecond: a store may round up, not
//     down) and accepts those issued after; other subjects are untouched;
//     the empty subject cannot be revoked.
//   - SubjectLatest: revoking a subject twice keeps the later time.
//   - SubjectLifetime: a subject revocation is kept for
//     h.RevocationLifetime after its time, and then dropped.
//   - Since: Since is not after the Check that reports it and stays put
//     while nothing is lost, and a credential issued since is accepted.
//   - Wipe: after h.Wipe, Since is not before the wipe, so a revoked
//     credential issued before it, whose revocation was lost, is refused.
//   - AtomicCheck: Checks racing a wipe each refuse a credential revoked
//     before it, either by its ID or by Since: a Check that reads Since
//     and the ID apart lets it through.
//   - CanceledContext: every method fails with a done context, and
//     revokes nothing.
//   - Concurrent: many goroutines revoking and checking their own IDs and
//     subjects each see their own revocations (run with -race).
//
// Times come from the clock given to h.NewStore, or from time.Now under
// h.RealTime: lapses then take RealTimeTTL and are polled for. Under
// -short, AtomicCheck and Concurrent run fewer rounds.
func TestRevocations(t *testing.T, h Harness) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatal("tickettest: Harness.NewStore is nil")
	}
	lifetime := h.RevocationLifetime
	if lifetime <= 0 {
		lifetime = ticket.DefaultRevocationLifetime
	}
	for _, st := range []struct {
		name string
		fn   func(*testing.T, *revEnv)
	}{
		{"Denied", testDenied},
		{"SecondID", testSecondID},
		{"Lapse", testIDLapse},
		{"Past", testIDPast},
		{"KeepsLater", testIDKeepsLater},
		{"Subject", testSubject},
		{"SubjectLatest", testSubjectLatest},
		{"SubjectLifetime", testSubjectLifetime},
		{"Since", testSince},
		{"Wipe", testWipe},
		{"AtomicCheck", testAtomicCheck},
		{"CanceledContext", testRevocationsCanceled},
		{"Concurrent", testRevocationsConcurrent},
	} {
		t.Run(st.name, func(t *testing.T) {
			clock := NewClock(epoch)
			e := &revEnv{h: h, clock: clock, realTime: h.RealTime, lifetime: lifetime}
			e.use(t, h.NewStore(t, clock))
			st.fn(t, e)
		})
	}
}

// revEnv is what each revocation subtest gets.
type revEnv struct {
	h        Harness
	r        ticket.Revocations
	s        ticket.Store
	clock    *Clock
	realTime bool
	lifetime time.Duration
}

// use makes s the store under test.
func (e *revEnv) use(t *testing.T, s ticket.Store) {
	t.Helper()
	if s == nil {
		t.Fatal("tickettest: the harness returned a nil store")
	}
	r, ok := s.(ticket.Revocations)
	if !ok {
		t.Fatalf("tickettest: %T does not implement ticket.Revocations", s)
	}
	e.s, e.r = s, r
}

func (e *revEnv) now() time.Time {
	if e.realTime {
		return time.Now()
	}
	return e.clock.Now()
}

// lapse is how long a revocation lives in subtests that watch it end.
func (e *revEnv) lapse() time.Duration {
	if e.realTime {
		return RealTimeTTL
	}
	return time.Minute
}

// step is a short while: long enough for any store's clock to tell the
// times either side apart, to the millisecond.
func (e *revEnv) step() time.Duration {
	if e.realTime {
		return 5 * time.Millisecond
	}
	return time.Minute
}

// pass lets d go by: at once on the fake clock, by waiting under real
// time (there is nothing else to wait for).
func (e *revEnv) pass(d time.Duration) {
	if e.realTime {
		time.Sleep(d)
		return
	}
	e.clock.Advance(d)
}

func (e *revEnv) revokeID(t *testing.T, k ticket.Key, until time.Time) {
	t.Helper()
	if err := e.r.RevokeID(t.Context(), k, until); err != nil {
		t.Fatalf("RevokeID: %v", err)
	}
}

func (e *revEnv) revokeSubject(t *testing.T, subject string, at time.Time) {
	t.Helper()
	if err := e.r.RevokeSubject(t.Context(), subject, at); err != nil {
		t.Fatalf("RevokeSubject(%q): %v", subject, err)
	}
}

func (e *revEnv) check(t *testing.T, k ticket.Key, subject string) ticket.Status {
	t.Helper()
	return e.checkBoth(t, [2]ticket.Key{k}, subject)
}

func (e *revEnv) checkBoth(t *testing.T, keys [2]ticket.Key, subject string) ticket.Status {
	t.Helper()
	st, err := e.r.Check(t.Context(), keys, subject)
	if err != nil {
		t.Fatalf("Check(%v, %q): %v", keys, subject, err)
	}
	return st
}

func (e *revEnv) denied(t *testing.T, k ticket.Key) bool {
	t.Helper()
	return e.check(t, k, "").Denied
}

// start has the store's memory begin (a store may note its start on first
// use) and moves past that moment, so that what is issued next is after
// Since.
func (e *revEnv) start(t *testing.T) {
	t.Helper()
	e.check(t, ticket.Key{}, "")
	e.pass(e.step())
}

// watchLapse waits, after something was revoked at revoked for d, until
// gone reports true: on the fake clock by moving to just before and just
// after d; under real time by polling, failing if it goes early or stays
// long after.
func (e *revEnv) watchLapse(t *testing.T, what string, revoked time.Time, d time.Duration, gone func() bool) {
	t.Helper()
	if !e.realTime {
		e.clock.Advance(d - time.Millisecond)
		if gone() {
			t.Fatalf("%s lapsed before its time", what)
		}
		e.clock.Advance(2 * time.Millisecond)
		if !gone() {
			t.Fatalf("%s still in force after its time", what)
		}
		return
	}
	const grace = 5 * time.Second // how late a store may notice
	for {
		// The store judged at some moment between start and end: early
		// only if gone by end, late only if still there at start.
		start := time.Now()
		g := gone()
		end := time.Now()
		if g {
			if early := end.Sub(revoked); early < d-time.Millisecond {
				t.Fatalf("%s lapsed %v after it was revoked for %v", what, early, d)
			}
			return
		}
		if late := start.Sub(revoked); late > d+grace {
			t.Fatalf("%s still in force %v after it was revoked for %v", what, late, d)
		}
		time.Sleep(d / 20) // polling real time, not synchronising
	}
}

// testSecondID: a credential with two IDs (a token ID and a session ID)
// is denied when either is revoked, in one Check.
func testSecondID(t *testing.T, e *revEnv) {
	e.start(t)
	jti, sid := ticket.DenyKey("jti-2"), ticket.DenyKey("sid-2")
	if e.checkBoth(t, [2]ticket.Key{jti, sid}, "alice").Denied {
		t.Fatal("denied before any RevokeID")
	}
	e.revokeID(t, sid, e.now().Add(time.Hour))
	for _, keys := range [][2]ticket.Key{{jti, sid}, {sid, jti}, {{}, sid}} {
		if !e.checkBoth(t, keys, "alice").Denied {
			t.Fatalf("Check(%v) not denied with the session ID revoked", keys)
		}
	}
	if e.checkBoth(t, [2]ticket.Key{jti}, "alice").Denied {
		t.Fatal("the token ID alone is denied, though only the session ID was revoked")
	}
}

func testDenied(t *testing.T, e *revEnv) {
	e.start(t)
	k := ticket.DenyKey("jti-1")
	other := k
	other[len(other)-1] ^= 1
	if e.denied(t, k) {
		t.Fatal("denied before RevokeID")
	}
	e.revokeID(t, k, e.now().Add(time.Hour))
	if !e.denied(t, k) {
		t.Fatal("not denied after RevokeID")
	}
	st := e.check(t, k, "alice")
	if !st.Denied {
		t.Fatal("not denied when checked with a subject")
	}
	if !st.SubjectRevoked.IsZero() {
		t.Fatalf("revoking an ID revoked its subject too: SubjectRevoked = %v", st.SubjectRevoked)
	}
	if !st.Refuses(e.now()) {
		t.Fatal("Status.Refuses accepts a denied credential")
	}
	if e.denied(t, other) {
		t.Fatal("a key one bit apart is denied")
	}
	if e.denied(t, ticket.Key{}) {
		t.Fatal("a credential without an ID is denied")
	}
}

func testIDLapse(t *testing.T, e *revEnv) {
	e.start(t)
	k := ticket.DenyKey("jti-lapse")
	revoked := e.now()
	e.revokeID(t, k, revoked.Add(e.lapse()))
	if !e.denied(t, k) {
		t.Fatal("not denied before its time")
	}
	e.watchLapse(t, "the revoked ID", revoked, e.lapse(), func() bool { return !e.denied(t, k) })
}

func testIDPast(t *testing.T, e *revEnv) {
	e.start(t)
	k := ticket.DenyKey("jti-past")
	e.revokeID(t, k, e.now().Add(-time.Second))
	e.revokeID(t, k, time.Time{})
	if e.denied(t, k) {
		t.Fatal("denied until a time already past")
	}
}

func testIDKeepsLater(t *testing.T, e *revEnv) {
	e.start(t)
	shortened, extended := ticket.DenyKey("jti-shortened"), ticket.DenyKey("jti-extended")
	now := e.now()
	e.revokeID(t, shortened, now.Add(time.Hour))
	e.revokeID(t, shortened, now.Add(e.lapse()))
	e.revokeID(t, extended, now.Add(e.lapse()))
	e.revokeID(t, extended, now.Add(time.Hour))
	e.pass(e.lapse() + e.step())
	if !e.denied(t, shortened) {
		t.Fatal("a second RevokeID with an earlier time cut the first one short")
	}
	if !e.denied(t, extended) {
		t.Fatal("a second RevokeID with a later time did not extend the first one")
	}
}

func testSubject(t *testing.T, e *revEnv) {
	e.start(t)
	before := e.now()
	e.pass(e.step())
	// Not a whole millisecond: a store that rounds the time down accepts
	// credentials issued in the instant before the revocation.
	at := e.now().Add(123456 * time.Nanosecond)
	e.revokeSubject(t, "alice", at)
	st := e.check(t, ticket.Key{}, "alice")
	if before.Before(st.Since) {
		t.Fatalf("Since moved to %v with nothing lost", st.Since)
	}
	if st.SubjectRevoked.Before(at) || st.SubjectRevoked.After(at.Add(time.Millisecond)) {
		t.Fatalf("SubjectRevoked = %v after RevokeSubject at %v, want that time (rounded up to the millisecond at most)",
			st.SubjectRevoked, at)
	}
	if st.Denied {
		t.Fatal("revoking a subject denied a credential without an ID")
	}
	for _, c := range []struct {
		name     string
		issuedAt time.Time
		want     bool
	}{
		{"before the revocation", before, true},
		{"at the revocation", at, true},
		{"a millisecond after the revocation", at.Add(time.Millisecond), false},
	} {
		if got := st.Refuses(c.issuedAt); got != c.want {
			t.Errorf("a credential of alice issued %s: refused = %v, want %v (status %+v)", c.name, got, c.want, st)
		}
	}
	for _, other := range []string{"bob", "Alice", "alice ", "alic", ""} {
		if st := e.check(t, ticket.Key{}, other); !st.SubjectRevoked.IsZero() {
			t.Errorf("revoking alice revoked %q too: SubjectRevoked = %v", other, st.SubjectRevoked)
		}
	}
	if err := e.r.RevokeSubject(t.Context(), "", at); err == nil {
		t.Error("RevokeSubject of the empty subject succeeded")
	}
}

func testSubjectLatest(t *testing.T, e *revEnv) {
	e.start(t)
	t1 := e.now()
	e.pass(e.step())
	between := e.now()
	e.pass(e.step())
	t2 := e.now()
	e.revokeSubject(t, "alice", t2)
	e.revokeSubject(t, "alice", t1)
	e.revokeSubject(t, "bob", t1)
	e.revokeSubject(t, "bob", t2)
	for _, sub := range []string{"alice", "bob"} {
		st := e.check(t, ticket.Key{}, sub)
		if st.SubjectRevoked.Before(t2) {
			t.Errorf("%s revoked at %v and %v: SubjectRevoked = %v, want the later", sub, t1, t2, st.SubjectRevoked)
		}
		if !st.Refuses(between) {
			t.Errorf("%s: a credential issued between the two revocations is accepted", sub)
		}
	}
}

func testSubjectLifetime(t *testing.T, e *revEnv) {
	e.start(t)
	revoked := func(sub string) func() bool {
		return func() bool { return !e.check(t, ticket.Key{}, sub).SubjectRevoked.IsZero() }
	}
	gone := func(sub string) func() bool {
		return func() bool { return !revoked(sub)() }
	}
	// Revoked long enough ago that its lifetime ends in a short while.
	d := e.lapse()
	now := e.now()
	e.revokeSubject(t, "alice", now.Add(-e.lifetime+d))
	if !revoked("alice")() {
		t.Fatal("a subject revocation was dropped before its lifetime passed")
	}
	if !e.realTime {
		e.revokeSubject(t, "carol", now) // kept its whole lifetime
	}
	e.watchLapse(t, "the subject revocation", now, d, gone("alice"))
	if !e.realTime {
		// watchLapse left the clock at now+d+1ms; carol's lifetime ends
		// at now+lifetime, d from here.
		e.clock.Advance(e.lifetime - 2*d - time.Millisecond)
		e.watchLapse(t, "a subject revocation made a lifetime ago", now, d, gone("carol"))
	}
	e.revokeSubject(t, "bob", e.now().Add(-e.lifetime-time.Second))
	if revoked("bob")() {
		t.Fatal("a revocation older than the lifetime was kept")
	}
}

func testSince(t *testing.T, e *revEnv) {
	first := e.check(t, ticket.Key{}, "")
	after := e.now()
	// Stores may keep milliseconds, rounded up.
	if first.Since.After(after.Add(time.Millisecond)) {
		t.Fatalf("Since = %v, after the Check that reported it returned at %v", first.Since, after)
	}
	k := ticket.DenyKey("jti-since")
	e.revokeID(t, k, e.now().Add(time.Hour))
	e.revokeSubject(t, "alice", e.now())
	e.pass(e.lapse())
	issued := e.now()
	for _, c := range []struct {
		k   ticket.Key
		sub string
	}{{k, "alice"}, {ticket.Key{}, "bob"}, {ticket.DenyKey("jti-other"), ""}} {
		st := e.check(t, c.k, c.sub)
		if !st.Since.Equal(first.Since) {
			t.Fatalf("Since moved from %v to %v with nothing lost", first.Since, st.Since)
		}
	}
	if st := e.check(t, ticket.DenyKey("jti-other"), "bob"); st.Refuses(issued) {
		t.Fatalf("a credential issued since, never revoked, is refused: %+v", st)
	}
}

func testWipe(t *testing.T, e *revEnv) {
	if e.h.Wipe == nil {
		t.Skip("tickettest: Harness.Wipe is nil")
	}
	e.start(t)
	issued := e.now()
	k := ticket.DenyKey("jti-wiped")
	e.revokeID(t, k, issued.Add(time.Hour))
	e.revokeSubject(t, "alice", issued)
	e.pass(e.step())
	wiped := e.now()
	e.use(t, e.h.Wipe(t, e.clock, e.s))

	st := e.check(t, k, "alice")
	// Stores keep times to the millisecond.
	if st.Since.Before(wiped.Truncate(time.Millisecond)) {
		t.Fatalf("after a wipe at %v, Since = %v: the store does not tell it lost revocations", wiped, st.Since)
	}
	if !st.Refuses(issued) {
		t.Fatalf("a revoked credential issued before the wipe is accepted after it: %+v", st)
	}
	if again := e.check(t, ticket.Key{}, ""); !again.Since.Equal(st.Since) {
		t.Fatalf("Since moved from %v to %v after the wipe, with nothing more lost", st.Since, again.Since)
	}
	// The store works on after the loss.
	e.pass(e.step())
	fresh := e.now()
	if st := e.check(t, ticket.DenyKey("jti-fresh"), "bob"); st.Refuses(fresh) {
		t.Fatalf("a credential issued after the wipe is refused: %+v", st)
	}
	k2 := ticket.DenyKey("jti-after-wipe")
	e.revokeID(t, k2, fresh.Add(time.Hour))
	if !e.denied(t, k2) {
		t.Fatal("an ID revoked after the wipe is not denied")
	}
}

func testAtomicCheck(t *testing.T, e *revEnv) {
	if e.h.Wipe == nil {
		t.Skip("tickettest: Harness.Wipe is nil")
	}
	const checkers = 8
	rounds := 20
	if testing.Short() {
		rounds = 10
	}
	e.start(t)
	for round := range rounds {
		issued := e.now()
		k := ticket.DenyKey(fmt.Sprintf("jti-%d", round))
		e.revokeID(t, k, issued.Add(time.Hour))
		e.pass(e.step())

		// Checkers check until each has done one Check begun after the
		// wipe. The wipe is after issued, so every answer must refuse
		// the credential: by its ID before the wipe, by Since after.
		r := e.r
		var wiped atomic.Bool
		var ready, done sync.WaitGroup
		ready.Add(checkers)
		for range checkers {
			done.Go(func() {
				first := true
				for {
					after := wiped.Load()
					st, err := r.Check(t.Context(), [2]ticket.Key{k}, "")
					if err != nil {
						t.Errorf("round %d: Check: %v", round, err)
					} else if !st.Refuses(issued) {
						t.Errorf("round %d: a Check racing a wipe accepted a revoked credential: %+v", round, st)
					}
					if first {
						ready.Done()
						first = false
					}
					if after || err != nil {
						return
					}
					// Let the wiper run: spinning checkers
					// would leave it waiting for preemption.
					runtime.Gosched()
				}
			})
		}
		ready.Wait()
		// One yield first, so that the wipe lands while checkers are
		// in the middle of a Check rather than between two.
		runtime.Gosched()
		before := e.s
		after := e.h.Wipe(t, e.clock, before)
		e.use(t, after)
		wiped.Store(true)
		done.Wait()
		if t.Failed() {
			return
		}
		if after != before {
			// The checkers kept the old store, which lost nothing.
			t.Skip("tickettest: Harness.Wipe returns a new store, as a restarted process does: no Check can race the loss, so there is no atomicity to check")
		}
		e.pass(e.step()) // the next credential is issued after this Since
	}
}

func testRevocationsCanceled(t *testing.T, e *revEnv) {
	e.start(t)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancel()
	k := ticket.DenyKey("jti-canceled")
	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"Canceled", canceled, context.Canceled},
		{"DeadlineExceeded", expired, context.DeadlineExceeded},
	} {
		wantErr := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, c.want) && !errors.Is(err, ticket.ErrStoreUnavailable) {
				t.Errorf("%s: %s: err = %v, want %v or ticket.ErrStoreUnavailable", c.name, op, err, c.want)
			}
		}
		wantErr("RevokeID", e.r.RevokeID(c.ctx, k, e.now().Add(time.Hour)))
		wantErr("RevokeSubject", e.r.RevokeSubject(c.ctx, "alice", e.now()))
		_, err := e.r.Check(c.ctx, [2]ticket.Key{k}, "alice")
		wantErr("Check", err)
	}
	st := e.check(t, k, "alice")
	if st.Denied || !st.SubjectRevoked.IsZero() {
		t.Fatalf("revocations with a done context took effect: %+v", st)
	}
}

func testRevocationsConcurrent(t *testing.T, e *revEnv) {
	e.start(t)
	workers, perWorker := 8, 50
	if testing.Short() {
		perWorker = 10
	}
	now := e.now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := ticket.DenyKey(fmt.Sprintf("jti-%d-%d", w, i))
				sub := fmt.Sprintf("user-%d-%d", w, i)
				st, err := e.r.Check(t.Context(), [2]ticket.Key{k}, sub)
				if err != nil || st.Denied || !st.SubjectRevoked.IsZero() {
					t.Errorf("Check before revoking %s: %+v, %v", sub, st, err)
					return
				}
				if err := e.r.RevokeID(t.Context(), k, now.Add(time.Hour)); err != nil {
					t.Errorf("RevokeID: %v", err)
					return
				}
				if err := e.r.RevokeSubject(t.Context(), sub, now); err != nil {
					t.Errorf("RevokeSubject: %v", err)
					return
				}
				st, err = e.r.Check(t.Context(), [2]ticket.Key{k}, sub)
				if err != nil || !st.Denied || st.SubjectRevoked.Before(now) {
					t.Errorf("Check after revoking %s: %+v, %v", sub, st, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
