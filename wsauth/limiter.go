package wsauth

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Defaults of the failure budget (see Limiter).
const (
	defaultLimitBurst = 20
	defaultLimitEvery = time.Second
	limitAddrs        = 10000
)

// Limiter limits failed authentications per client address: each address
// has a budget of burst failures, earned back at one per every. Past it,
// attempts are refused with 429 before the upgrade or 4429 after, without
// their credential being looked at, so an address can burn neither CPU
// nor tickets.
//
// The budget is exact: an attempt reserves one unit before its credential
// reaches the Verifier and gets it back if it succeeds (or fails on the
// server's side, such as a store outage), so however many attempts arrive
// at once, at most burst reach the Verifier. Attempts refused before the
// Verifier (malformed, no credential, timeout) spend one unit too.
//
// A credential refused once is refused the same way again, for half a
// minute, without being checked or charged again: a client that retries
// one expired or revoked token in a loop spends one unit, not the whole
// budget of the address, so the other users behind the same address (a
// NAT, a proxy wsauth was not told about) go on connecting. Only
// distinct failing credentials spend the budget, which is what an attacker
// guessing has to send; against one, the users sharing its address share
// its budget, and earn back one attempt a second while it lasts. Telling
// wsauth the real client addresses (Options.ClientIP) keeps them apart.
//
// IPv6 addresses share a budget per /64, the smallest network a client
// usually controls. At most 10000 addresses are tracked: when full, the
// ones that have earned their whole budget back are forgotten first, then
// arbitrary ones, so an attacker spraying addresses can reset budgets but
// not exhaust memory.
//
// A Limiter is safe for concurrent use; share one between Authenticators
// to pool their budgets.
type Limiter struct {
	burst int
	every time.Duration // zero: no limit
	seed  maphash.Seed

	mu sync.Mutex
	m  map[netip.Addr]*bucket
}

// bucket is an address's budget as the time when it is whole again
// (GCRA): each unit spent moves full one interval on, and the address is
// limited while full is more than burst intervals away. Durations, unlike
// fractional tokens, add up exactly.
type bucket struct {
	full    time.Time
	refused [refusedKept]refused
	next    int // the slot refused overwrites next
}

// refused is a credential (by hash) refused from an address, and how.
type refused struct {
	h  uint64
	k  kind
	at time.Time
}

const (
	refusedKept = 8                // per address
	refusedFor  = 30 * time.Second // how long a refusal is repeated
)

// NewLimiter returns a Limiter allowing each address burst failed
// attempts, then one more per every. A burst below 1 or an every of zero
// or less makes a Limiter that never limits: the one way to turn the limit
// off (Options.Limiter, when nil, is a default Limiter of 20 failures and
// one more per second).
func NewLimiter(burst int, every time.Duration) *Limiter {
	if burst < 1 || every <= 0 {
		return &Limiter{}
	}
	return &Limiter{burst: burst, every: every, seed: maphash.MakeSeed(), m: make(map[netip.Addr]*bucket)}
}

// off reports whether l never limits.
func (l *Limiter) off() bool { return l.every == 0 }

// window is how far ahead full may be while a unit is left.
func (l *Limiter) window() time.Duration { return time.Duration(l.burst-1) * l.every }

// bucketOf returns addr's bucket, creating it if create is set (nil
// otherwise when unknown). l.mu is held.
func (l *Limiter) bucketOf(addr netip.Addr, now time.Time, create bool) *bucket {
	k := limitKey(addr)
	b := l.m[k]
	if b == nil && create {
		if len(l.m) >= limitAddrs {
			l.evict(now)
		}
		b = &bucket{full: now}
		l.m[k] = b
	}
	return b
}

// hasUnit reports whether b has a unit to spend now.
func (l *Limiter) hasUnit(b *bucket, now time.Time) bool {
	return b.full.Sub(now) <= l.window()
}

// take spends one unit of b; with none left, b stays empty rather than
// owing more.
func (l *Limiter) take(b *bucket, now time.Time) {
	if b.full.Before(now) {
		b.full = now
	}
	b.full = b.full.Add(l.every)
	if most := now.Add(l.window() + l.every); b.full.After(most) {
		b.full = most
	}
}

// limited reports whether addr has no budget left now.
func (l *Limiter) limited(addr netip.Addr) bool {
	if l.off() {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.bucketOf(addr, now, false)
	return b != nil && !l.hasUnit(b, now)
}

// reserve takes one unit of addr's budget for an attempt with the
// credential hashed h about to reach the Verifier, or reports that there is
// none. If addr had h refused recently, it reports that refusal instead
// (ok false, repeated set): it is repeated, not checked again.
func (l *Limiter) reserve(addr netip.Addr, h uint64) (ok bool, repeated kind) {
	if l.off() {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.bucketOf(addr, now, true)
	for _, r := range b.refused {
		if r.h == h && r.at.After(now.Add(-refusedFor)) {
			return false, r.k
		}
	}
	if !l.hasUnit(b, now) {
		return false, kindRateLimited
	}
	l.take(b, now)
	return true, 0
}

// settle ends an attempt reserve let through: a success, or a failure on
// the server's side, gets its unit back; a failure that is the client's
// keeps it spent, and is remembered to be repeated.
func (l *Limiter) settle(addr netip.Addr, h uint64, err error) {
	if l.off() {
		return
	}
	k := kindOf(err)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.bucketOf(addr, now, false)
	if b == nil {
		return
	}
	if err == nil || !refusals[k].spends {
		b.full = b.full.Add(-l.every)
		return
	}
	switch k {
	case kindInvalid, kindExpired, kindRevoked:
		// The same credential will fail the same way: repeat it. (Not
		// forbidden: that depends on the route, such as its room.)
		b.refused[b.next] = refused{h: h, k: k, at: now}
		b.next = (b.next + 1) % refusedKept
	}
}

// hash is the hash a credential's refusals are remembered by.
func (l *Limiter) hash(cred string) uint64 {
	if l.off() {
		return 0
	}
	return maphash.String(l.seed, cred)
}

// spend takes one unit for an attempt refused before the Verifier.
func (l *Limiter) spend(addr netip.Addr) {
	if l.off() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.take(l.bucketOf(addr, now, true), now)
}

// evict makes room: first the addresses whose budget is whole again (they
// are as good as new), then arbitrary ones, down to 7/8 of the cap so the
// walk runs at most once per cap/8 new addresses. l.mu is held.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.m {
		if !b.full.After(now) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) <= limitAddrs-limitAddrs/8 {
			break
		}
		delete(l.m, k)
	}
}

// tracked is how many addresses l tracks; for tests.
func (l *Limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// limitKey is the budget of addr: itself for IPv4, its /64 for IPv6.
func limitKey(addr netip.Addr) netip.Addr {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.Addr()
	}
	return addr
}
