package tickettest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// Harness describes the store under test for [TestStore] and
// [TestRevocations].
type Harness struct {
	// NewStore returns a new, empty store for one subtest. Unless
	// RealTime is set, the store must take its time from clock, for
	// example by passing clock.Now to its options or by following
	// [Clock.OnAdvance]. Register cleanup with t.Cleanup. Subtests run one
	// after another, never in parallel, so NewStore may reuse one server
	// and empty it each time.
	NewStore func(t *testing.T, clock *Clock) ticket.Store

	// RealTime says the store's TTLs run on real time and cannot follow
	// clock, as with a real redis-server. The TTL subtest then puts
	// tickets with a TTL of RealTimeTTL and polls until they are gone,
	// instead of advancing the clock; TestRevocations likewise revokes
	// for RealTimeTTL where it watches a revocation lapse.
	RealTime bool

	// Wipe makes s, a store NewStore returned for clock, lose everything
	// it holds, as a restart of its backend without persistence, a
	// FLUSHALL or a failover to an empty replica would, and returns the
	// store to use from then on: s itself if it lives on (a redisstore
	// over a flushed server), or a new store if the loss replaces it (a
	// memstore, which a process restart replaces). It may be called while
	// other goroutines Check s. TestRevocations needs it for its Wipe and
	// AtomicCheck subtests, which it skips without; TestStore does not
	// use it.
	Wipe func(t *testing.T, clock *Clock, s ticket.Store) ticket.Store

	// RevocationLifetime is the revocation lifetime of the stores
	// NewStore returns (see ticket.Revocations.RevokeSubject). Zero means
	// ticket.DefaultRevocationLifetime, the shipped stores' default.
	RevocationLifetime time.Duration
}

// RealTimeTTL is the TTL the TTL subtest uses under [Harness.RealTime]:
// short enough to keep the suite fast, long enough to observe a ticket
// before it expires.
const RealTimeTTL = 200 * time.Millisecond

// ttl is the TTL used wherever a subtest does not care about expiry: the
// default ticket TTL.
const ttl = 30 * time.Second

// epoch is where every subtest's clock starts.
var epoch = time.Date(2025, 11, 25, 8, 30, 0, 0, time.UTC)

// TestStore runs the conformance suite against the store built by h, each
// subtest (t.Run) with a fresh store:
//
//   - RoundTrip: Take returns what Put stored, field by field (times to the
//     millisecond), once; a second Take finds nothing.
//   - UnknownKey: Take of a key never put is ok == false with a nil error.
//   - KeyExists: Put over a live key fails with ticket.ErrKeyExists and
//     leaves the first ticket (and its TTL) as it was.
//   - TakeOnce: many goroutines released together take one key; exactly one
//     gets the ticket, round after round.
//   - TTL: a ticket is there before its TTL passes and gone after; its key
//     can then be put again.
//   - CanceledContext: Put and Take with a done context fail, and neither
//     stores nor consumes anything.
//   - LargeMetadata: 64 KiB of metadata and a long scope round-trip.
//   - ConcurrentKeys: many goroutines putting and taking distinct keys all
//     get their own tickets back (run with -race).
//   - Independence: keys differing in one bit do not collide.
//
// Under -short, the concurrency subtests run fewer rounds.
func TestStore(t *testing.T, h Harness) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatal("tickettest: Harness.NewStore is nil")
	}
	subtests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"RoundTrip", testRoundTrip},
		{"UnknownKey", testUnknownKey},
		{"KeyExists", testKeyExists},
		{"TakeOnce", testTakeOnce},
		{"TTL", testTTL},
		{"CanceledContext", testCanceledContext},
		{"LargeMetadata", testLargeMetadata},
		{"ConcurrentKeys", testConcurrentKeys},
		{"Independence", testIndependence},
	}
	for _, st := range subtests {
		t.Run(st.name, func(t *testing.T) {
			clock := NewClock(epoch)
			s := h.NewStore(t, clock)
			if s == nil {
				t.Fatal("tickettest: Harness.NewStore returned nil")
			}
			st.fn(t, &env{s: s, clock: clock, realTime: h.RealTime})
		})
	}
}

// env is what each subtest gets.
type env struct {
	s        ticket.Store
	clock    *Clock
	realTime bool
}

func (e *env) put(t *testing.T, k ticket.Key, tk ticket.Ticket, ttl time.Duration) {
	t.Helper()
	if err := e.s.Put(t.Context(), k, tk, ttl); err != nil {
		t.Fatalf("Put(%v): %v", k, err)
	}
}

func (e *env) take(t *testing.T, k ticket.Key) (ticket.Ticket, bool) {
	t.Helper()
	tk, ok, err := e.s.Take(t.Context(), k)
	if err != nil {
		t.Fatalf("Take(%v): %v", k, err)
	}
	return tk, ok
}

// mustTake takes k and fails unless it holds a ticket equal to want.
func (e *env) mustTake(t *testing.T, k ticket.Key, want ticket.Ticket) {
	t.Helper()
	got, ok := e.take(t, k)
	if !ok {
		t.Fatalf("Take(%v): ok = false, want the ticket of %q", k, want.Subject)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("Take(%v) returned another ticket than was put:\n%s", k, d)
	}
}

// mustBeGone takes k and fails if it holds a ticket.
func (e *env) mustBeGone(t *testing.T, k ticket.Key, why string) {
	t.Helper()
	if got, ok := e.take(t, k); ok {
		t.Fatalf("Take(%v) %s: got the ticket of %q, want ok = false", k, why, got.Subject)
	}
}

func newKey() ticket.Key {
	_, k := ticket.NewID()
	return k
}

// sample returns a typical ticket issued now (to the millisecond).
func (e *env) sample(subject string) ticket.Ticket {
	now := e.clock.Now().Truncate(time.Millisecond)
	return ticket.Ticket{
		Subject:   subject,
		ClientIP:  netip.MustParseAddr("192.0.2.10"),
		IssuedAt:  now,
		ExpiresAt: now.Add(ttl),
		Scope:     []string{"room:general"},
		Metadata:  map[string]string{"name": subject},
	}
}

// diff describes how got differs from want, or returns "" if it does not.
// Times are compared with Equal, so a store may return another location;
// nil and empty scopes and metadata are equal, as the wire encoding omits
// them.
func diff(got, want ticket.Ticket) string {
	var b strings.Builder
	if got.Subject != want.Subject {
		fmt.Fprintf(&b, "\tSubject = %q, want %q\n", got.Subject, want.Subject)
	}
	if got.ClientIP != want.ClientIP {
		fmt.Fprintf(&b, "\tClientIP = %v, want %v\n", got.ClientIP, want.ClientIP)
	}
	if !got.IssuedAt.Equal(want.IssuedAt) {
		fmt.Fprintf(&b, "\tIssuedAt = %v, want %v\n", got.IssuedAt, want.IssuedAt)
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		fmt.Fprintf(&b, "\tExpiresAt = %v, want %v\n", got.ExpiresAt, want.ExpiresAt)
	}
	if !slices.Equal(got.Scope, want.Scope) {
		fmt.Fprintf(&b, "\tScope = %q, want %q\n", got.Scope, want.Scope)
	}
	if !maps.Equal(got.Metadata, want.Metadata) {
		fmt.Fprintf(&b, "\tMetadata differs: %d entries, want %d", len(got.Metadata), len(want.Metadata))
		for k, v := range want.Metadata {
			if gv, ok := got.Metadata[k]; !ok || gv != v {
				fmt.Fprintf(&b, "; first difference at %q", k)
				break
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func testRoundTrip(t *testing.T, e *env) {
	now := e.clock.Now().Truncate(time.Millisecond)
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	tickets := []ticket.Ticket{
		{
			Subject:   "alice",
			ClientIP:  netip.MustParseAddr("203.0.113.7"),
			IssuedAt:  now.Add(123 * time.Millisecond),
			ExpiresAt: now.Add(ttl + 123*time.Millisecond),
			Scope:     []string{"room:general", "room:random"},
			Metadata:  map[string]string{"role": "admin", "name": "Alice Ünïcødé"},
		},
		{
			Subject:   "bob",
			ClientIP:  netip.MustParseAddr("2001:db8::1"),
			IssuedAt:  now.In(zone),
			ExpiresAt: now.Add(ttl).In(zone),
			Scope:     []string{"room:general"},
		},
		{
			// An IPv4-mapped IPv6 address stays one: it is not the same
			// address as 192.0.2.1 to netip.
			Subject:   "carol",
			ClientIP:  netip.MustParseAddr("::ffff:192.0.2.1"),
			IssuedAt:  now,
			ExpiresAt: now.Add(ttl),
			Metadata:  map[string]string{"k": "v"},
		},
		{
			// Not bound to an address, no scope, no metadata.
			Subject:   "dave",
			IssuedAt:  now,
			ExpiresAt: now.Add(ttl),
		},
		{
			// Expiry by ExpiresAt is judged by package ticket, not by
			// the store: within its TTL the store must return it.
			Subject:   "erin",
			ClientIP:  netip.MustParseAddr("198.51.100.1"),
			IssuedAt:  now.Add(-time.Hour),
			ExpiresAt: now.Add(-time.Minute),
		},
	}
	keys := make([]ticket.Key, len(tickets))
	for i, tk := range tickets {
		keys[i] = newKey()
		e.put(t, keys[i], tk, ttl)
	}
	for i, tk := range tickets {
		e.mustTake(t, keys[i], tk)
		e.mustBeGone(t, keys[i], "a second time")
	}
}

func testUnknownKey(t *testing.T, e *env) {
	e.mustBeGone(t, newKey(), "on an empty store")
	e.put(t, newKey(), e.sample("alice"), ttl)
	e.mustBeGone(t, newKey(), "of a key never put")
}

func testKeyExists(t *testing.T, e *env) {
	k := newKey()
	orig, other := e.sample("alice"), e.sample("mallory")
	e.put(t, k, orig, ttl)
	err := e.s.Put(t.Context(), k, other, ttl)
	if !errors.Is(err, ticket.ErrKeyExists) {
		t.Fatalf("Put over a live key: err = %v, want ticket.ErrKeyExists", err)
	}
	e.mustTake(t, k, orig)

	if e.realTime {
		return
	}
	// A refused Put must not refresh the TTL of the ticket it left alone.
	k = newKey()
	e.put(t, k, orig, ttl)
	e.clock.Advance(ttl * 2 / 3)
	if err := e.s.Put(t.Context(), k, other, ttl); !errors.Is(err, ticket.ErrKeyExists) {
		t.Fatalf("Put over a live key: err = %v, want ticket.ErrKeyExists", err)
	}
	e.clock.Advance(ttl/3 + time.Millisecond)
	e.mustBeGone(t, k, "after the first TTL passed (did the refused Put extend it?)")
}

func testTakeOnce(t *testing.T, e *env) {
	// 64 takers per round make a non-atomic Take lose within a few rounds
	// (suite_test.go's NonAtomicTake is caught under -short's 20); more
	// rounds only cost time on network-backed stores.
	const takers = 64
	rounds := 50
	if testing.Short() {
		rounds = 20
	}
	for r := range rounds {
		k := newKey()
		want := e.sample(fmt.Sprintf("round-%d", r))
		e.put(t, k, want, ttl)

		start := make(chan struct{})
		won := make(chan ticket.Ticket, takers)
		var wg sync.WaitGroup
		for range takers {
			wg.Go(func() {
				<-start
				tk, ok, err := e.s.Take(t.Context(), k)
				if err != nil {
					t.Errorf("round %d: Take: %v", r, err)
					return
				}
				if ok {
					won <- tk
				}
			})
		}
		close(start)
		wg.Wait()
		close(won)
		if n := len(won); n != 1 {
			t.Fatalf("round %d: %d of %d concurrent Takes got the ticket, want exactly 1", r, n, takers)
		}
		if d := diff(<-won, want); d != "" {
			t.Fatalf("round %d: the winning Take returned another ticket:\n%s", r, d)
		}
	}
}

func testTTL(t *testing.T, e *env) {
	if e.realTime {
		testRealTimeTTL(t, e)
		return
	}
	before, after := newKey(), newKey()
	tk := e.sample("alice")
	// The store times the entry by ttl, not by the ticket's own ExpiresAt.
	tk.ExpiresAt = tk.IssuedAt.Add(time.Hour)
	e.put(t, before, tk, ttl)
	e.put(t, after, tk, ttl)

	e.clock.Advance(ttl - time.Millisecond)
	e.mustTake(t, before, tk)
	e.clock.Advance(2 * time.Millisecond)
	e.mustBeGone(t, after, "after its TTL passed")

	// An expired key may be put again.
	fresh := e.sample("bob")
	e.put(t, after, fresh, ttl)
	e.mustTake(t, after, fresh)
}

// testRealTimeTTL puts a batch of tickets with a short TTL and takes one per
// tick: each must be there while the TTL cannot have passed, and gone soon
// after it has.
func testRealTimeTTL(t *testing.T, e *env) {
	const (
		ttl   = RealTimeTTL
		tick  = ttl / 10
		grace = ttl // how late a store may notice expiry
	)
	keys := make([]ticket.Key, int((2*ttl+grace)/tick)+2)
	tk := e.sample("alice")
	putStart := time.Now()
	for i := range keys {
		keys[i] = newKey()
		e.put(t, keys[i], tk, ttl)
	}
	putEnd := time.Now()
	if putEnd.Sub(putStart) > ttl/2 {
		t.Skipf("putting %d tickets took %v: too slow to time a %v TTL", len(keys), putEnd.Sub(putStart), ttl)
	}

	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for i, k := range keys {
		if i > 0 {
			<-ticker.C
		}
		takeStart := time.Now()
		_, ok := e.take(t, k)
		takeEnd := time.Now()
		if ok {
			if late := takeStart.Sub(putEnd); late > ttl+grace {
				t.Fatalf("ticket still there %v after it was put with a TTL of %v", late, ttl)
			}
			continue
		}
		if early := takeEnd.Sub(putStart); early < ttl {
			t.Fatalf("ticket gone %v after it was put with a TTL of %v", early, ttl)
		}
		// An expired key may be put again.
		fresh := e.sample("bob")
		e.put(t, k, fresh, ttl)
		e.mustTake(t, k, fresh)
		return
	}
	t.Fatalf("tickets still there %v after they were put with a TTL of %v", time.Since(putEnd), ttl)
}

func testCanceledContext(t *testing.T, e *env) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancel()

	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"Canceled", canceled, context.Canceled},
		{"DeadlineExceeded", expired, context.DeadlineExceeded},
	} {
		k := newKey()
		err := e.s.Put(c.ctx, k, e.sample("alice"), ttl)
		if !errors.Is(err, c.want) && !errors.Is(err, ticket.ErrStoreUnavailable) {
			t.Errorf("%s: Put: err = %v, want %v or ticket.ErrStoreUnavailable", c.name, err, c.want)
		}
		e.mustBeGone(t, k, fmt.Sprintf("after a Put with a %s context", c.name))

		k = newKey()
		want := e.sample("bob")
		e.put(t, k, want, ttl)
		_, ok, err := e.s.Take(c.ctx, k)
		if !errors.Is(err, c.want) && !errors.Is(err, ticket.ErrStoreUnavailable) {
			t.Errorf("%s: Take: err = %v, want %v or ticket.ErrStoreUnavailable", c.name, err, c.want)
		}
		if ok {
			t.Errorf("%s: Take: ok = true, want false", c.name)
		}
		// A Take that failed must not have consumed the ticket.
		e.mustTake(t, k, want)
	}
}

func testLargeMetadata(t *testing.T, e *env) {
	tk := e.sample("alice")
	tk.Metadata = map[string]string{
		"":          "empty key",
		"empty":     "",
		"unicode":   "héllo, 世界 🎉",
		"escapes":   "\"quoted\" back\\slash\nnewline\ttab\x00nul",
		"html":      "<script>alert('&amp;')</script>",
		"key.dot:s": "{\"json\": [1, 2]}",
	}
	for i := range 256 { // 256 × 256 B = 64 KiB
		tk.Metadata[fmt.Sprintf("k%03d", i)] = strings.Repeat(string(rune('a'+i%26)), 256)
	}
	tk.Scope = make([]string, 100)
	for i := range tk.Scope {
		tk.Scope[i] = fmt.Sprintf("room:%d", i)
	}
	k := newKey()
	e.put(t, k, tk, ttl)
	e.mustTake(t, k, tk)
}

func testConcurrentKeys(t *testing.T, e *env) {
	workers, perWorker := 16, 64
	if testing.Short() {
		perWorker = 16
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			keys := make([]ticket.Key, perWorker)
			tickets := make([]ticket.Ticket, perWorker)
			for i := range keys {
				keys[i] = newKey()
				tickets[i] = e.sample(fmt.Sprintf("w%d-%d", w, i))
				if err := e.s.Put(t.Context(), keys[i], tickets[i], ttl); err != nil {
					t.Errorf("Put(%v): %v", keys[i], err)
					return
				}
			}
			// Take in reverse, so puts of some goroutines meet takes
			// of others.
			for i := len(keys) - 1; i >= 0; i-- {
				got, ok, err := e.s.Take(t.Context(), keys[i])
				switch {
				case err != nil:
					t.Errorf("Take(%v): %v", keys[i], err)
				case !ok:
					t.Errorf("Take(%v): ok = false, want the ticket of %q", keys[i], tickets[i].Subject)
				default:
					if d := diff(got, tickets[i]); d != "" {
						t.Errorf("Take(%v) returned another ticket than was put:\n%s", keys[i], d)
					}
				}
			}
		})
	}
	wg.Wait()
}

func testIndependence(t *testing.T, e *env) {
	base := newKey()
	lastBit, firstBit := base, base
	lastBit[len(lastBit)-1] ^= 1
	firstBit[0] ^= 0x80
	var zero, ones ticket.Key
	for i := range ones {
		ones[i] = 0xff
	}
	keys := []ticket.Key{base, lastBit, firstBit, zero, ones}
	tickets := make([]ticket.Ticket, len(keys))
	for i, k := range keys {
		tickets[i] = e.sample(fmt.Sprintf("user-%d", i))
		e.put(t, k, tickets[i], ttl)
	}
	for i := len(keys) - 1; i >= 0; i-- {
		e.mustTake(t, keys[i], tickets[i])
	}
	for _, k := range keys {
		e.mustBeGone(t, k, "after every key was taken")
	}
}
