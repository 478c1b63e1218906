package wsauth

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/wsauth/wsauth/ticket"
)

// TestRegistryIndexes adds and removes connections in random order, with
// shared subjects, shared and equal jti and sid claims and re-indexing,
// and checks after every step that each live connection is found exactly
// where its positions say, and that a revocation finds exactly the live
// connections it names.
func TestRegistryIndexes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := NewRegistry(nil, nil)
	live := map[*life]*Principal{}
	principal := func() *Principal {
		c := map[string]any{}
		if rng.IntN(3) > 0 {
			c["jti"] = fmt.Sprint("j", rng.IntN(5))
		}
		switch rng.IntN(3) {
		case 0:
			c["sid"] = fmt.Sprint("s", rng.IntN(3))
		case 1:
			if j, ok := c["jti"]; ok {
				c["sid"] = j // the same ID under both claims
			}
		}
		return &Principal{Subject: fmt.Sprint("u", rng.IntN(4)), Claims: c}
	}
	check := func(step int) {
		t.Helper()
		n := 0
		for k, ls := range r.bySubject.all(t) {
			for i, l := range ls {
				if l.principal.Load().Subject != k || int(l.pos[0]) != i || live[l] == nil {
					t.Fatalf("step %d: bySubject[%s][%d] misfiled", step, k, i)
				}
				n++
			}
		}
		if n != len(live) || r.len() != n {
			t.Fatalf("step %d: %d filed, %d counted, %d live", step, n, r.len(), len(live))
		}
		want := map[idSlot]int{}
		for l := range live {
			if l.ids[1] == l.ids[0] && l.ids[0] != 0 {
				t.Fatalf("step %d: the same ID filed twice", step)
			}
			for j, k := range l.ids {
				if k == 0 {
					continue
				}
				want[k]++
				if ls := r.byID.appendTo(nil, k); int(l.pos[1+j]) >= len(ls) || ls[l.pos[1+j]] != l {
					t.Fatalf("step %d: byID slot %d misfiled", step, j)
				}
			}
		}
		for k, ls := range r.byID.all(t) {
			if len(ls) != want[k] {
				t.Fatalf("step %d: %d filed under an ID, %d live", step, len(ls), want[k])
			}
		}
		// Each ID in use, and one in no use, finds exactly the live
		// connections whose principal carries it (every 50th step: the
		// walk is the slow part).
		if step%50 != 0 {
			return
		}
		for _, id := range []string{"j0", "j1", "j4", "s0", "s2", "unused"} {
			k := ticket.DenyKey(id)
			r.mu.Lock()
			got := r.coveredLocked(ticket.Revocation{ID: k}, time.Now())
			r.mu.Unlock()
			n := 0
			for l, p := range live {
				if p.Claims["jti"] == id || p.Claims["sid"] == id {
					n++
					if !slices.Contains(got, l) {
						t.Fatalf("step %d: revoking %s misses a connection that carries it", step, id)
					}
				}
			}
			if len(got) != n {
				t.Fatalf("step %d: revoking %s covers %d connections, %d carry it", step, id, len(got), n)
			}
		}
	}
	for step := range 3000 {
		op := rng.IntN(10)
		if op < 5 && len(live) >= 64 {
			// Hold the population near 64, so keys keep moving between
			// one and many without check's walk growing each step.
			op = 9
		}
		switch {
		case op < 5 || len(live) == 0:
			l, p := new(life), principal()
			l.principal.Store(p) // as init does: the Registry files l by its principal's subject
			if !r.add(l, p, p.revocationIDs(), 0) {
				t.Fatalf("step %d: add refused without a revocation", step)
			}
			live[l] = p
		case op < 7:
			for l, p := range live {
				q := *principal()
				q.Subject = p.Subject
				l.principal.Store(&q) // as set does, before reindexing
				if !r.reindex(l, &q, q.revocationIDs(), 0) {
					t.Fatalf("step %d: reindex refused", step)
				}
				live[l] = &q
				break
			}
		default:
			for l := range live {
				r.remove(l)
				r.remove(l) // idempotent
				delete(live, l)
				break
			}
		}
		check(step)
	}
}

// all yields each key of x with its connections, and fails t if a key is
// in both maps, or one with fewer than two connections is in many.
func (x index[K]) all(t *testing.T) iter.Seq2[K, []*life] {
	t.Helper()
	for k, ls := range x.many {
		if _, ok := x.one[k]; ok || len(ls) < 2 {
			t.Fatalf("a key with %d connections in many (and in one: %v)", len(ls), ok)
		}
	}
	return func(yield func(K, []*life) bool) {
		for k, l := range x.one {
			if !yield(k, []*life{l}) {
				return
			}
		}
		for k, ls := range x.many {
			if !yield(k, ls) {
				return
			}
		}
	}
}

// TestIDSlotShared: two revocation IDs that share an idSlot (the first 8
// bytes of their keys) are told apart: revoking one covers only the
// connection that carries it.
func TestIDSlotShared(t *testing.T) {
	r := NewRegistry(nil, nil)
	carrier := &Principal{Subject: "alice", Claims: map[string]any{"jti": "a"}}
	other := &Principal{Subject: "bob", Claims: map[string]any{"jti": "b"}}
	ka := ticket.DenyKey("a")
	lookalike := ka
	lookalike[31] ^= 1 // same slot, another key: what another ID would hash to
	la, lb := new(life), new(life)
	la.principal.Store(carrier)
	lb.principal.Store(other)
	if !r.add(la, carrier, carrier.revocationIDs(), 0) || !r.add(lb, other, [2]ticket.Key{lookalike}, 0) {
		t.Fatal("add refused without a revocation")
	}
	if la.ids[0] != lb.ids[0] {
		t.Fatal("the two keys are not in one slot")
	}
	r.mu.Lock()
	got := r.coveredLocked(ticket.Revocation{ID: ka}, time.Now())
	r.mu.Unlock()
	if len(got) != 1 || got[0] != la {
		t.Fatalf("revoking a covers %d connections, want alice's only", len(got))
	}
	if idSlotOf(ticket.Key{}) != 0 || idSlotOf(ticket.Key{31: 1}) == 0 {
		t.Error("idSlotOf: 0 must mean no ID, and only that")
	}
}

// TestIDSlotsCollide: connections whose revocation IDs share slots, even
// a connection's own two IDs, are filed and removed in any order without
// a position going stale: four keys in one slot, random pairs of them,
// random adds, re-indexes and removes.
func TestIDSlotsCollide(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var keys [4]ticket.Key
	for i := range keys {
		keys[i] = ticket.DenyKey("k")
		keys[i][31] ^= byte(i + 1)
	}
	pair := func() [2]ticket.Key { return [2]ticket.Key{keys[rng.IntN(4)], keys[rng.IntN(4)]} }
	r := NewRegistry(nil, nil)
	live := map[*life]bool{}
	for step := range 2000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(live) == 0:
			l, p := new(life), &Principal{Subject: "alice"}
			l.principal.Store(p)
			if !r.add(l, p, pair(), 0) {
				t.Fatalf("step %d: add refused", step)
			}
			live[l] = true
		case op < 7:
			for l := range live {
				if !r.reindex(l, l.principal.Load(), pair(), 0) {
					t.Fatalf("step %d: reindex refused", step)
				}
				break
			}
		default:
			for l := range live {
				r.remove(l)
				delete(live, l)
				break
			}
		}
		n := 0
		for k, ls := range r.byID.all(t) {
			for i, l := range ls {
				if !live[l] || l.ids[0] != k || int(l.pos[1]) != i || l.ids[1] != 0 {
					t.Fatalf("step %d: a connection misfiled under its slot", step)
				}
				n++
			}
		}
		if n != len(live) {
			t.Fatalf("step %d: %d filed, %d live", step, n, len(live))
		}
	}
}

// TestRevocationTimeIsTheRevocations: a subject revocation that reaches a
// node late (the bus) covers the credentials issued before it was made,
// not those issued before it arrived; one made by a clock ahead of this
// node's covers what was issued before it by that clock, as the store's
// record does.
func TestRevocationTimeIsTheRevocations(t *testing.T) {
	r := NewRegistry(nil, nil)
	made := time.Now().Add(-time.Second) // made a second ago, arriving now
	r.apply(ticket.Revocation{Subject: "alice", At: made})
	for _, tc := range []struct {
		issued time.Time
		want   bool
	}{
		{made.Add(-time.Millisecond), false},
		{made, false},
		{made.Add(time.Millisecond), true}, // issued while the message was on its way
	} {
		if got := r.add(new(life), &Principal{Subject: "alice", IssuedAt: tc.issued}, [2]ticket.Key{}, 0); got != tc.want {
			t.Errorf("issued %v after the revocation: registered %v, want %v", tc.issued.Sub(made), got, tc.want)
		}
	}
	// A time ahead of this node's clock is taken as it is, as the store
	// takes it: the node that revoked issues by that clock.
	r.apply(ticket.Revocation{Subject: "bob", At: time.Now().Add(time.Hour)})
	if r.add(new(life), &Principal{Subject: "bob", IssuedAt: time.Now().Add(time.Minute)}, [2]ticket.Key{}, 0) {
		t.Error("a revocation from a clock an hour ahead let in a credential issued before it by that clock")
	}
}

// TestConnSize keeps a Conn, the one allocation a connection's life
// costs, in the 208-byte size class (BENCHMARKS.md, section 4).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 208 {
		t.Errorf("a Conn is %d bytes, over the 208-byte size class", n)
	}
}

// TestRecentRevocationsAreForgotten: the Registry remembers a revocation
// for recentWindow from the last time it applied it, then forgets it, and
// keeps no entry of it in its list of the order they came in.
func TestRecentRevocationsAreForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewRegistry(nil, nil)
		k := ticket.DenyKey("jti-1")
		r.apply(ticket.Revocation{Subject: "a"})
		r.apply(ticket.Revocation{Subject: "c"})
		time.Sleep(30 * time.Second)
		r.apply(ticket.Revocation{ID: k})
		r.apply(ticket.Revocation{Subject: "c", At: time.Now().Add(-time.Hour)}) // again, older: its time stays
		time.Sleep(31 * time.Second)
		r.apply(ticket.Revocation{Subject: "b"}) // 61 s after a's
		_, a := r.subjects["a"]
		_, id := r.ids[k]
		c, cok := r.subjects["c"]
		if a || !id || !cok || !c.at.Before(c.applied) || len(r.recent) != 3 {
			t.Fatalf("at 61 s: a kept %v, the ID kept %v, c %+v kept %v, %d entries listed; want false, true, its first time, true, 3", a, id, c, cok, len(r.recent))
		}
		time.Sleep(recentWindow + time.Second)
		r.apply(ticket.Revocation{Subject: "d"})
		if len(r.subjects) != 1 || len(r.ids) != 0 || len(r.recent) != 1 {
			t.Fatalf("61 s later: %d subjects, %d IDs, %d entries listed; want 1, 0, 1", len(r.subjects), len(r.ids), len(r.recent))
		}
	})
}

// BenchmarkApplyWithManyRecent: a revocation's cost does not grow with
// the revocations of the last minute (forgetOld walks only what it
// forgets); it held the Registry's lock for a walk over all of them.
func BenchmarkApplyWithManyRecent(b *testing.B) {
	for _, n := range []int{0, 20000} {
		b.Run(fmt.Sprintf("recent-%d", n), func(b *testing.B) {
			r := NewRegistry(nil, nil)
			for i := range n {
				r.apply(ticket.Revocation{ID: ticket.DenyKey(fmt.Sprint("warm-", i))})
			}
			keys := make([]ticket.Key, 1024)
			for i := range keys {
				keys[i] = ticket.DenyKey(fmt.Sprint("k-", i))
			}
			i := 0
			for b.Loop() {
				r.apply(ticket.Revocation{ID: keys[i%len(keys)]})
				i++
			}
		})
	}
}
