package wsauth

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of LimiterOptions.
const (
	DefaultLimitBurst = 20
	DefaultLimitEvery = time.Second
	DefaultLimitAddrs = 10000
)

// LimiterOptions configures NewLimiter. The zero value, and nil, give the
// defaults.
type LimiterOptions struct {
	// Burst is how many failed attempts an address may make in a row
	// before it is limited. Default DefaultLimitBurst (20).
	Burst int
	// Every is how long it takes to earn back one attempt. Default
	// DefaultLimitEvery (1 s).
	Every time.Duration
	// MaxAddrs bounds how many addresses are tracked at once. Default
	// DefaultLimitAddrs (10000).
	MaxAddrs int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Limiter limits failed authentications per client address with a token
// bucket (golang.org/x/time/rate) per address. Only failures spend the
// budget: a client that authenticates is never slowed down. An address
// that has spent it is refused, with 429 before the upgrade or 4429 after,
// without its credential being looked at, so it can burn neither CPU nor
// tickets.
//
// IPv6 addresses are limited per /64, the smallest network a client
// usually controls. Memory is bounded by MaxAddrs: when full, addresses
// that have earned their whole budget back are forgotten first, and then
// arbitrary ones, so an attacker spraying addresses can reset others'
// budgets but not exhaust memory.
//
// A Limiter is safe for concurrent use and may be shared by strategies.
type Limiter struct {
	burst int
	every rate.Limit
	max   int
	now   func() time.Time

	mu sync.Mutex
	m  map[netip.Addr]*rate.Limiter
}

// NewLimiter returns a Limiter configured by opts, which may be nil.
func NewLimiter(opts *LimiterOptions) *Limiter {
	var o LimiterOptions
	if opts != nil {
		o = *opts
	}
	if o.Burst <= 0 {
		o.Burst = DefaultLimitBurst
	}
	if o.Every <= 0 {
		o.Every = DefaultLimitEvery
	}
	if o.MaxAddrs <= 0 {
		o.MaxAddrs = DefaultLimitAddrs
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{
		burst: o.Burst,
		every: rate.Every(o.Every),
		max:   o.MaxAddrs,
		now:   o.Now,
		m:     make(map[netip.Addr]*rate.Limiter),
	}
}

// Len returns how many addresses are tracked; at most MaxAddrs.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// Limited reports whether addr has failed too often to be heard now.
func (l *Limiter) Limited(addr netip.Addr) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	lim := l.m[limitKey(addr)]
	l.mu.Unlock()
	return lim != nil && lim.TokensAt(l.now()) < 1
}

// Fail spends one attempt of addr's budget.
func (l *Limiter) Fail(addr netip.Addr) {
	if l == nil {
		return
	}
	k, now := limitKey(addr), l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[k]
	if lim == nil {
		if len(l.m) >= l.max {
			l.evict(now)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[k] = lim
	}
	lim.AllowN(now, 1)
}

// evict makes room: first the addresses whose bucket is full again (they
// are as good as new), then arbitrary ones, down to 7/8 of the cap so
// the O(n) walk runs at most once per max/8 new addresses. l.mu is held.
func (l *Limiter) evict(now time.Time) {
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) <= l.max-max(l.max/8, 1) {
			break
		}
		delete(l.m, k)
	}
}

// limitKey is the bucket of addr: itself for IPv4, its /64 for IPv6.
func limitKey(addr netip.Addr) netip.Addr {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.Addr()
	}
	return addr
}

// limited reports whether attempts from addr are refused unheard.
func (o *Options) limited(addr netip.Addr) bool { return o.Limiter.Limited(addr) }

// failed counts a refusal against addr when it is the client's fault: a
// store outage or a panic on our side is not.
func (o *Options) failed(addr netip.Addr, err error) {
	for _, s := range []error{ErrUnavailable, ErrInternal, ErrOrigin, ErrSubprotocol, ErrRateLimited} {
		if errors.Is(err, s) {
			return
		}
	}
	o.Limiter.Fail(addr)
}
