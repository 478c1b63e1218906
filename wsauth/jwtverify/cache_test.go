package jwtverify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/wsauth"
)

func TestCacheHit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		v := c.verifier(t)
		tok := mint(t, jwt.SigningMethodEdDSA, tk().ed, claims(), nil)
		p1, err := v.Verify(context.Background(), tok, wsauth.Peer{})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := v.Verify(context.Background(), tok, wsauth.Peer{})
		if err != nil {
			t.Fatal(err)
		}
		if n := c.calls.Load(); n != 1 {
			t.Errorf("Keyfunc called %d times, want 1", n)
		}
		if p1.Subject != p2.Subject || !p1.ExpiresAt.Equal(p2.ExpiresAt) || !p1.IssuedAt.Equal(p2.IssuedAt) ||
			!slices.Equal(p1.Scope, p2.Scope) || p2.Claims["name"] != "Alice" {
			t.Errorf("cached %+v, first %+v", p2, p1)
		}
		// A token that is a substring of a larger string hits too.
		big := "xx" + tok + "yy"
		if _, err := v.Verify(context.Background(), big[2:len(big)-2], wsauth.Peer{}); err != nil || c.calls.Load() != 1 {
			t.Errorf("substring token: %v, %d calls", err, c.calls.Load())
		}
		// Appending to a handed-out Scope does not reach the cached one,
		// nor another handed-out copy: no spare capacity to share.
		p3, _ := v.Verify(context.Background(), tok, wsauth.Peer{})
		a, b := append(p2.Scope, "room:evil"), append(p3.Scope, "room:other")
		if a[len(a)-1] != "room:evil" || b[len(b)-1] != "room:other" {
			t.Errorf("two handed-out scopes share their backing array: %q, %q", a, b)
		}
		if cap(p2.Scope) != len(p2.Scope) {
			t.Errorf("a handed-out Scope has spare capacity (%d of %d): an append could write into the cached one", cap(p2.Scope), len(p2.Scope))
		}
		p4, _ := v.Verify(context.Background(), tok, wsauth.Peer{})
		if !slices.Equal(p4.Scope, []string{"room:a", "room:b"}) {
			t.Errorf("cached scope changed: %q", p4.Scope)
		}
	})
}

func TestCacheHonoursExp(t *testing.T) {
	for _, leeway := range []time.Duration{0, 10 * time.Second} {
		t.Run(fmt.Sprint("leeway=", leeway), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				c := baseConfig()
				c.opts.Leeway = leeway
				v := c.verifier(t)
				tok := mintHS(t, claims("exp", t0.Add(time.Minute).Unix()))
				if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Minute + leeway - time.Second)
				if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
					t.Fatalf("a second before exp+leeway: %v", err)
				}
				if n := c.calls.Load(); n != 1 {
					t.Errorf("Keyfunc called %d times, want 1: no cache hit", n)
				}
				time.Sleep(time.Second)
				for range 2 { // served from the cache once, then from a full check
					_, err := v.Verify(context.Background(), tok, wsauth.Peer{})
					if !errors.Is(err, errExpired) {
						t.Fatalf("at exp+leeway: %v, want ErrExpired", err)
					}
					assertRefusal(t, err, tok)
				}
				if n := c.calls.Load(); n != 2 {
					t.Errorf("Keyfunc called %d times, want 2", n)
				}
				if n := v.cache.len(); n != 0 {
					t.Errorf("expired entry kept: %d entries", n)
				}
			})
		})
	}
}

func TestCacheSkipsFailures(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		c.opts.Issuer = "https://good.example"
		v := c.verifier(t)
		tok := mintHS(t, claims("iss", "https://evil.example"))
		for range 3 {
			if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); !errors.Is(err, wsauth.ErrInvalid) {
				t.Fatalf("Verify: %v", err)
			}
		}
		if n := c.calls.Load(); n != 3 {
			t.Errorf("Keyfunc called %d times, want 3: a failure was cached", n)
		}
		if n := v.cache.len(); n != 0 {
			t.Errorf("cache holds %d entries", n)
		}
	})
}

func TestCacheDisabled(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		c.opts.CacheSize = -1
		v := c.verifier(t)
		if v.cache != nil {
			t.Fatal("cache made")
		}
		tok := mintHS(t, claims())
		for range 3 {
			if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
				t.Fatal(err)
			}
		}
		if n := c.calls.Load(); n != 3 {
			t.Errorf("Keyfunc called %d times, want 3", n)
		}
	})
}

func TestCacheBounded(t *testing.T) {
	for _, size := range []int{1, 5, 64, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				c := baseConfig()
				c.opts.CacheSize = size
				v := c.verifier(t)
				toks := make([]string, size+100)
				for i := range toks {
					toks[i] = mintHS(t, claims("jti", fmt.Sprint(i)))
					if _, err := v.Verify(context.Background(), toks[i], wsauth.Peer{}); err != nil {
						t.Fatal(err)
					}
					if n := v.cache.len(); n > size {
						t.Fatalf("after %d tokens: %d entries, want ≤ %d", i+1, n, size)
					}
				}
				if n := v.cache.len(); n == 0 {
					t.Errorf("cache empty")
				}
				// Evicted or not, every token still verifies.
				for _, tok := range toks {
					if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); err != nil {
						t.Fatal(err)
					}
				}
			})
		})
	}
}

// TestCacheLarge: a huge CacheSize allocates as tokens arrive, not up
// front.
func TestCacheLarge(t *testing.T) {
	c := newCache(1 << 40)
	for i := range c.shards {
		if s := &c.shards[i]; cap(s.ring) > maxPrealloc || s.size != (1<<40)/len(c.shards) {
			t.Fatalf("shard %d: cap %d, size %d", i, cap(s.ring), s.size)
		}
	}
}

func TestCacheClock(t *testing.T) {
	c := newCacheShards(3, 1) // one shard, so eviction order is known
	p := func(s string) wsauth.Principal { return wsauth.Principal{Subject: s, ExpiresAt: t0.Add(time.Hour)} }
	for _, s := range []string{"a", "b", "c"} {
		c.put(s, p(s))
	}
	if _, st := c.get("a", t0); st != cacheHit {
		t.Fatalf("a: %v", st)
	}
	c.put("d", p("d")) // a was used: it gets a second chance, b goes
	want := map[string]cacheState{"a": cacheHit, "b": cacheMiss, "c": cacheHit, "d": cacheHit}
	for s, w := range want {
		if got, st := c.get(s, t0); st != w || (st == cacheHit && got.Subject != s) {
			t.Errorf("%s: %v %q, want %v", s, st, got.Subject, w)
		}
	}
	// An expired entry frees its slot for the next insert.
	if _, st := c.get("c", t0.Add(time.Hour)); st != cacheExpired {
		t.Errorf("c at exp: %v", st)
	}
	c.put("e", p("e"))
	if _, st := c.get("a", t0); st != cacheHit || c.len() != 3 {
		t.Errorf("a after e: %v, len %d", st, c.len())
	}
}

// TestStable: Stable hands out the cache's own copy of a cached token, so
// that a per-message connection keeps none of its own, and a copy of any
// other (never the caller's string, which may alias a large frame).
func TestStable(t *testing.T) {
	bubble(t, func(t *testing.T) {
		tok := mintHS(t, claims())
		frame := "xx" + tok + "yy"
		presented := frame[2 : len(frame)-2]

		v := baseConfig().verifier(t)
		var sv wsauth.StableVerifier = v
		if _, err := sv.Verify(context.Background(), presented, wsauth.Peer{}); err != nil {
			t.Fatal(err)
		}
		kept, ok := sv.Stable(presented)
		own, cached := v.cache.key(tok)
		if !ok || !cached || kept != tok || unsafe.StringData(kept) != unsafe.StringData(own) {
			t.Errorf("Stable = %v, %v: not the cache's copy", kept == tok, ok)
		}
		if unsafe.StringData(kept) == unsafe.StringData(presented) {
			t.Errorf("Stable returned the caller's string")
		}

		c := baseConfig()
		c.opts.CacheSize = -1
		nv := c.verifier(t)
		if _, err := nv.Verify(context.Background(), presented, wsauth.Peer{}); err != nil {
			t.Fatal(err)
		}
		kept, ok = nv.Stable(presented)
		if !ok || kept != tok || unsafe.StringData(kept) == unsafe.StringData(presented) {
			t.Errorf("without cache, Stable = %v, %v: want a copy", kept == tok, ok)
		}
	})
}

func TestConcurrent(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := baseConfig()
		c.opts.CacheSize = 16
		v := c.verifier(t)
		k := tk()
		var toks []string
		for i := range 40 {
			toks = append(toks, mint(t, jwt.SigningMethodHS256, k.hmac, claims("jti", fmt.Sprint(i)), nil))
		}
		toks = append(toks, mint(t, jwt.SigningMethodEdDSA, k.ed, claims(), nil))
		bad := mintHS(t, claims("sub", nil))

		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 300 {
					tok := toks[(g*7+i)%len(toks)]
					p, err := v.Verify(context.Background(), tok, wsauth.Peer{})
					if err != nil || p.Subject != testSub || p.Claims["sub"] != testSub {
						errs <- fmt.Errorf("Verify: %+v, %v", p, err)
						return
					}
					if kept, ok := v.Stable(tok); !ok || kept != tok {
						errs <- fmt.Errorf("Stable: %v", ok)
						return
					}
					if i%10 == 0 {
						if _, err := v.Verify(context.Background(), bad, wsauth.Peer{}); !errors.Is(err, wsauth.ErrInvalid) {
							errs <- fmt.Errorf("bad token: %v", err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := v.cache.len(); n > 16 {
			t.Errorf("cache holds %d entries, want ≤ 16", n)
		}
		// Past exp, every goroutine sees ErrExpired, cached or not.
		time.Sleep(2 * time.Hour)
		for g := range 4 {
			wg.Go(func() {
				for _, tok := range toks[g:] {
					if _, err := v.Verify(context.Background(), tok, wsauth.Peer{}); !errors.Is(err, wsauth.ErrExpired) {
						t.Errorf("after exp: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := v.cache.len(); n != 0 {
			t.Errorf("%d expired entries kept", n)
		}
	})
}
