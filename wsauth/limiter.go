package wsauth

import (
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
// IPv6 addresses share a budget per /64, the smallest network a client
// usually controls. At most 10000 addresses are tracked: when full, the
// ones that have earned their whole budget back are forgotten first, then
// arbitrary ones, so an attacker spraying addresses can reset budgets but
// not exhaust memory.
//
// A Limiter is safe for concurrent use; share one between Authenticators
// to pool their budgets.
type Limiter struct {
	burst float64
	every time.Duration // zero: no limit

	mu sync.Mutex
	m  map[netip.Addr]*bucket
}

// bucket is a token bucket: tokens at time at.
type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a Limiter allowing each address burst failed
// attempts, then one more per every. A burst below 1 or an every of zero
// or less makes a Limiter that never limits: the one way to turn the limit
// off (Options.Limiter, when nil, is a default Limiter of 20 failures and
// one more per second).
func NewLimiter(burst int, every time.Duration) *Limiter {
	if burst < 1 || every <= 0 {
		return &Limiter{}
	}
	return &Limiter{burst: float64(burst), every: every, m: make(map[netip.Addr]*bucket)}
}

// off reports whether l never limits.
func (l *Limiter) off() bool { return l.every == 0 }

// level returns the bucket of addr brought up to now, creating it if
// create is set (nil otherwise when unknown). l.mu is held.
func (l *Limiter) level(addr netip.Addr, now time.Time, create bool) *bucket {
	k := limitKey(addr)
	b := l.m[k]
	if b == nil {
		if !create {
			return nil
		}
		if len(l.m) >= limitAddrs {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.m[k] = b
		return b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
	return b
}

// limited reports whether addr has no budget left now.
func (l *Limiter) limited(addr netip.Addr) bool {
	if l.off() {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.level(addr, time.Now(), false)
	return b != nil && b.tokens < 1
}

// reserve takes one unit of addr's budget for an attempt about to reach
// the Verifier, or reports that there is none.
func (l *Limiter) reserve(addr netip.Addr) bool {
	if l.off() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.level(addr, time.Now(), true)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refund gives back the unit a successful attempt reserved.
func (l *Limiter) refund(addr netip.Addr) {
	if l.off() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.level(addr, time.Now(), false); b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// spend takes one unit for an attempt refused before the Verifier.
func (l *Limiter) spend(addr netip.Addr) {
	if l.off() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.level(addr, time.Now(), true)
	b.tokens = max(0, b.tokens-1)
}

// evict makes room: first the addresses whose budget is whole again (they
// are as good as new), then arbitrary ones, down to 7/8 of the cap so the
// walk runs at most once per cap/8 new addresses. l.mu is held.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.m {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
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
