package jwtverify

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/wsauth/wsauth/wsauth"
)

// cache remembers verified tokens so that the per-message strategy does
// not pay for a signature check on every frame. It is split into shards,
// each with its own lock, so concurrent connections rarely contend; each
// shard evicts with the CLOCK algorithm (a second chance for entries used
// since the hand last passed), which costs O(1) and no allocation per hit.
// Failures are never stored. Entries are keyed by the whole token, so a
// hit is only ever the very token verified before.
type cache struct {
	seed   maphash.Seed
	mask   uint64
	shards []shard
}

type shard struct {
	mu    sync.Mutex
	index map[string]int // token → slot in ring
	ring  []entry
	free  []int // slots emptied by expiry
	hand  int
	size  int      // capacity of ring
	_     [64]byte // keep neighbouring shards' locks off one cache line
}

type entry struct {
	token string // "" marks a free slot; Verify never caches ""
	p     wsauth.Principal
	used  bool
}

type cacheState int

const (
	cacheMiss cacheState = iota
	cacheHit
	cacheExpired
)

const (
	// maxShards bounds the shard count; more buys little.
	maxShards = 16
	// maxPrealloc bounds what a shard allocates up front, so a large
	// CacheSize costs memory only as tokens arrive.
	maxPrealloc = 256
)

// newCache returns a cache of at most size entries (size > 0).
func newCache(size int) *cache {
	n := 1
	for n*2 <= maxShards && n*2 <= size {
		n *= 2
	}
	return newCacheShards(size, n)
}

// newCacheShards returns a cache of at most size entries in n shards; n is
// a power of two, 0 < n <= size.
func newCacheShards(size, n int) *cache {
	c := &cache{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]shard, n),
	}
	for i := range c.shards {
		// Rounding down keeps the total within size.
		per := size / n
		pre := min(per, maxPrealloc)
		c.shards[i].size = per
		c.shards[i].index = make(map[string]int, pre)
		c.shards[i].ring = make([]entry, 0, pre)
	}
	return c
}

func (c *cache) shard(token string) *shard {
	return &c.shards[maphash.String(c.seed, token)&c.mask]
}

// get returns the Principal cached for token. An entry past its
// ExpiresAt (exp plus leeway, as in verification) is dropped and reported
// as expired.
func (c *cache) get(token string, now time.Time) (wsauth.Principal, cacheState) {
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[token]
	if !ok {
		return wsauth.Principal{}, cacheMiss
	}
	e := &s.ring[i]
	if !now.Before(e.p.ExpiresAt) {
		delete(s.index, token)
		*e = entry{}
		s.free = append(s.free, i)
		return wsauth.Principal{}, cacheExpired
	}
	e.used = true
	return e.p, cacheHit
}

// key returns the cache's own copy of token, if it holds one.
func (c *cache) key(token string) (string, bool) {
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[token]
	if !ok {
		return "", false
	}
	return s.ring[i].token, true
}

// put stores p for token, evicting an entry if the shard is full.
func (c *cache) put(token string, p wsauth.Principal) {
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[token]; ok {
		// Another goroutine verified the same token concurrently.
		s.ring[i].p = p
		return
	}
	// Clone: token may be a slice of a large frame we must not retain.
	e := entry{token: strings.Clone(token), p: p}
	var i int
	switch {
	case len(s.free) > 0:
		i = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
	case len(s.ring) < s.size:
		i = len(s.ring)
		s.ring = append(s.ring, entry{})
	default:
		// Full ring, no free slot: every slot holds a token. The sweep
		// ends within two turns, as it clears used bits as it goes.
		for s.ring[s.hand].used {
			s.ring[s.hand].used = false
			s.hand = (s.hand + 1) % s.size
		}
		i = s.hand
		delete(s.index, s.ring[i].token)
		s.hand = (s.hand + 1) % s.size
	}
	s.ring[i] = e
	s.index[e.token] = i
}

// len returns the number of cached tokens.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}
