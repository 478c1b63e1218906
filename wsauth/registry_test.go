package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// node is one server of a cluster in a test: its Registry and the URL of
// its WebSocket endpoint (an in-memory network per node).
type node struct {
	reg *wsauth.Registry
	net *vnet
}

func newNode(t *testing.T, store ticket.Revocations, bus ticket.Bus, v wsauth.Verifier, s wsauth.Strategy, ev *events) *node {
	t.Helper()
	reg := wsauth.NewRegistry(store, bus)
	o := &wsauth.Options{Registry: reg}
	if ev != nil {
		o.Events = ev.hook
	}
	n := &node{reg: reg, net: newVNet(t, wsauth.Handler(wsauth.New(v, s, o), echo))}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := reg.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) dial(t *testing.T, cred string) *websocket.Conn {
	t.Helper()
	c, _, err := transport.DialFirstMessage(vctx(t), vURL, cred, n.net.opts())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

// TestRevokeEverywhere: Revoke on one node closes the subject's
// connections on every node with 4401 and the reason, and no one else's.
func TestRevokeEverywhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bus wsauthtest.Bus
		store := newRevocations()
		var ev events
		a, b := newNode(t, store, &bus, verifier(), wsauth.FirstMessage{}, &ev), newNode(t, store, &bus, verifier(), wsauth.FirstMessage{}, &ev)
		ctx := vctx(t)
		alice1, alice2, bob := a.dial(t, "alice-token"), b.dial(t, "alice-token"), b.dial(t, "bob-token")
		defer alice1.CloseNow()
		defer alice2.CloseNow()
		defer bob.CloseNow()
		if err := a.reg.Revoke(ctx, "alice", "logged out"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*websocket.Conn{alice1, alice2} {
			if code, reason := closeOf(ctx, c); code != transport.CloseUnauthenticated || reason != "logged out" {
				t.Fatalf("alice closed with %v %q", code, reason)
			}
		}
		if got := roundTrip(t, ctx, bob, "still here"); got != "bob: still here" {
			t.Fatalf("bob: %q", got)
		}
		synctest.Wait()
		n := 0
		for _, e := range ev.of(wsauth.EventClosed) {
			if e.Reason == "revoked" && e.Subject == "alice" {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d revoked events for alice, want 2", n)
		}
	})
}

// TestRevokeRefusesEarlierCredentials: after Revoke, a credential issued
// to the subject before it is refused on every node sharing the store,
// including one that connects later; one issued after is accepted.
func TestRevokeRefusesEarlierCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		v := verifier() // alice-token issued at the start
		a, b := newNode(t, store, nil, v, wsauth.Query{}, nil), newNode(t, store, nil, v, wsauth.Query{}, nil)
		ctx := vctx(t)
		time.Sleep(time.Second)
		if err := a.reg.Revoke(ctx, "alice", ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute) // long past any in-memory window
		for _, n := range []*node{a, b} {
			if _, resp, _ := transport.DialQuery(ctx, vURL, "alice-token", n.net.opts()); resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("an earlier credential: %v", resp)
			}
		}
		v.Set("new-token", wsauth.Principal{Subject: "alice", IssuedAt: time.Now()})
		c, _, err := transport.DialQuery(ctx, vURL, "new-token", b.net.opts())
		if err != nil {
			t.Fatalf("a credential issued after the revocation: %v", err)
		}
		c.CloseNow()
	})
}

// TestRevokeWithoutStore: a Registry with no store closes live
// connections and refuses attempts in flight, but keeps nothing.
func TestRevokeWithoutStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newNode(t, nil, nil, verifier(), wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		c := a.dial(t, "alice-token")
		defer c.CloseNow()
		if err := a.reg.Revoke(ctx, "alice", ""); err != nil {
			t.Fatal(err)
		}
		if code, reason := closeOf(ctx, c); code != 4401 || reason != "revoked" {
			t.Fatalf("closed with %v %q", code, reason)
		}
		if err := a.reg.RevokeToken(ctx, "j1", time.Now().Add(time.Hour), ""); err == nil {
			t.Fatal("RevokeToken without a store succeeded")
		}
	})
}

// TestRevokeTokenClosesLiveConnections: RevokeToken refuses the token and
// ends the connections carrying it, on every node, and no other.
func TestRevokeTokenClosesLiveConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bus wsauthtest.Bus
		store := newRevocations()
		now := time.Now()
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
			"tab1": {Subject: "alice", IssuedAt: now, Claims: map[string]any{"jti": "j1"}},
			"tab2": {Subject: "alice", IssuedAt: now, Claims: map[string]any{"jti": "j2"}},
		})
		a, b := newNode(t, store, &bus, v, wsauth.FirstMessage{}, nil), newNode(t, store, &bus, v, wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		c1, c2 := b.dial(t, "tab1"), b.dial(t, "tab2")
		defer c1.CloseNow()
		defer c2.CloseNow()
		if err := a.reg.RevokeToken(ctx, "j1", now.Add(time.Hour), ""); err != nil {
			t.Fatal(err)
		}
		wantClose(t, ctx, c1, transport.CloseUnauthenticated)
		if got := roundTrip(t, ctx, c2, "x"); got != "alice: x" {
			t.Fatalf("the other tab: %q", got)
		}
		if _, code, _ := dialFirst(ctx, vURL, "tab1", a.net.opts()); code != transport.CloseUnauthenticated {
			t.Fatalf("revoked token reconnecting: %v", code)
		}
	})
}

// TestRefreshToARevokedTokenEnds: a connection that refreshes to a token
// being revoked is ended too: the Registry follows its token ID.
func TestRefreshToARevokedTokenEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		now := time.Now()
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
			"old": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Claims: map[string]any{"jti": "j1"}},
			"new": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Hour), Claims: map[string]any{"jti": "j2"}},
		})
		a := newNode(t, store, nil, v, wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		c := a.dial(t, "old")
		defer c.CloseNow()
		transport.Refresh(ctx, c, "new")
		if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), "auth_ok") {
			t.Fatalf("refresh: %q %v", b, err)
		}
		if err := a.reg.RevokeToken(ctx, "j1", now.Add(time.Hour), ""); err != nil {
			t.Fatal(err)
		}
		if got := roundTrip(t, ctx, c, "x"); got != "alice: x" {
			t.Fatalf("after revoking the old token: %q", got)
		}
		if err := a.reg.RevokeToken(ctx, "j2", now.Add(time.Hour), ""); err != nil {
			t.Fatal(err)
		}
		wantClose(t, ctx, c, transport.CloseUnauthenticated)
	})
}

// unlistened returns a FirstMessage echo node over reg, whose Listen the
// test calls itself.
func unlistened(t *testing.T, reg *wsauth.Registry) *node {
	t.Helper()
	return &node{reg: reg, net: newVNet(t, wsauth.Handler(wsauth.New(verifier(), wsauth.FirstMessage{}, &wsauth.Options{Registry: reg}), echo))}
}

// dialMany opens n connections as token, closed when t ends.
func (n *node) dialMany(t *testing.T, token string, count int) []*websocket.Conn {
	t.Helper()
	conns := make([]*websocket.Conn, count)
	for i := range conns {
		conns[i] = n.dial(t, token)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.CloseNow()
		}
	})
	return conns
}

// revokedWhileCut starts two nodes over store and one bus, connects alice
// and bob to the second, and revokes alice on the first while the bus is
// cut. The connections are closed when t ends.
func revokedWhileCut(t *testing.T, store *revocations) (bus *wsauthtest.Bus, alice, bob *websocket.Conn) {
	t.Helper()
	bus = new(wsauthtest.Bus)
	a, b := newNode(t, store, bus, verifier(), wsauth.FirstMessage{}, nil), newNode(t, store, bus, verifier(), wsauth.FirstMessage{}, nil)
	alice, bob = b.dial(t, "alice-token"), b.dial(t, "bob-token")
	t.Cleanup(func() { alice.CloseNow(); bob.CloseNow() })
	time.Sleep(time.Second)
	bus.Cut()
	if err := a.reg.Revoke(vctx(t), "alice", ""); err == nil {
		t.Fatal("Revoke through a cut bus reported no error")
	}
	return bus, alice, bob
}

// TestCatchUpAfterAnInterruption: a node whose bus was cut while a
// subject was revoked closes that subject's connections when the bus is
// back, from the store.
func TestCatchUpAfterAnInterruption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		bus, c, bob := revokedWhileCut(t, store)
		ctx := vctx(t)
		if got := roundTrip(t, ctx, c, "x"); got != "alice: x" {
			t.Fatalf("before the bus is back: %q", got)
		}
		bus.Restore()
		wantClose(t, ctx, c, transport.CloseUnauthenticated)
		if got := roundTrip(t, ctx, bob, "x"); got != "bob: x" {
			t.Fatalf("bob after the catch-up: %q", got)
		}
	})
}

// TestCatchUpRetriesWhatTheStoreCannotAnswer: a catch-up whose checks
// fail because the store is down at that moment tries them again until
// the store answers, and then closes the connections revoked meanwhile.
func TestCatchUpRetriesWhatTheStoreCannotAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		bus, c, bob := revokedWhileCut(t, store)
		ctx := vctx(t)
		store.setErr(errors.New("redis: i/o timeout"))
		checks := store.checks.Load()
		bus.Restore()
		time.Sleep(3 * time.Second)
		if n := store.checks.Load() - checks; n < 2*4 {
			t.Fatalf("%d checks in 3 s of a failing store: the catch-up did not try again", n)
		}
		store.setErr(nil)
		wantClose(t, ctx, c, transport.CloseUnauthenticated)
		if got := roundTrip(t, ctx, bob, "x"); got != "bob: x" {
			t.Fatalf("bob after the catch-up: %q", got)
		}
	})
}

// TestCatchUpEndsWhatItCannotCheck: connections the store cannot answer
// for through the whole of a catch-up's grace end with 1011, as an attempt
// it cannot vouch for is refused.
func TestCatchUpEndsWhatItCannotCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bus wsauthtest.Bus
		store := newRevocations()
		b := newNode(t, store, &bus, verifier(), wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		c := b.dial(t, "alice-token")
		defer c.CloseNow()
		bus.Cut()
		store.setErr(errors.New("redis: connection refused"))
		start := time.Now()
		bus.Restore()
		wantClose(t, ctx, c, websocket.StatusInternalError)
		if d := time.Since(start); d < 30*time.Second || d > 31*time.Second {
			t.Fatalf("closed %v after the catch-up began, want 30 s", d)
		}
	})
}

// slowRevocations fails as a Redis that does not answer does: while
// failing, each Check takes its client's timeout before it errs.
type slowRevocations struct {
	*revocations
	timeout time.Duration
	failing atomic.Bool
	// listens: the Check of Listen's start, which names no subject,
	// answers while failing.
	listens bool
	// slowOnly: while failing, a Check answers after timeout instead.
	slowOnly bool
}

func (s *slowRevocations) Check(ctx context.Context, keys [2]ticket.Key, sub string) (ticket.Status, error) {
	if s.failing.Load() && !(s.listens && sub == "") {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ticket.Status{}, ctx.Err()
		}
		if !s.slowOnly {
			return ticket.Status{}, errors.New("redis: i/o timeout")
		}
	}
	return s.revocations.Check(ctx, keys, sub)
}

// TestCatchUpGraceBoundsAPass: a store whose checks each take 3 s to fail
// would hold one pass over 40 connections for 2 minutes; the grace bounds
// the pass too, and every connection ends with 1011 by 30 s and the check
// under way then.
func TestCatchUpGraceBoundsAPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bus wsauthtest.Bus
		store := &slowRevocations{revocations: newRevocations(), timeout: 3 * time.Second}
		b := newNode(t, store, &bus, verifier(), wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		conns := b.dialMany(t, "bob-token", 40)
		bus.Cut()
		store.failing.Store(true)
		start := time.Now()
		bus.Restore()
		for i, c := range conns {
			wantClose(t, ctx, c, websocket.StatusInternalError)
			// The grace, and the one check under way at its end.
			if d := time.Since(start); d > 33*time.Second {
				t.Fatalf("connection %d ended %v after the catch-up began, want 30 s and one check's 3 s", i, d)
			}
		}
	})
}

// listenBus is a Bus that keeps each Subscribe's catchUp, for the test to
// call when a real bus would, after a re-subscription.
type listenBus struct {
	mu       sync.Mutex
	catchUps []func()
	fail     bool // the next Subscribe fails
}

func (b *listenBus) Publish(context.Context, ticket.Revocation) error { return nil }

func (b *listenBus) Subscribe(_ context.Context, _ func(ticket.Revocation), catchUp func()) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		b.fail = false
		return errors.New("redis: connection refused")
	}
	b.catchUps = append(b.catchUps, catchUp)
	return nil
}

func (b *listenBus) catchUp(i int) {
	b.mu.Lock()
	f := b.catchUps[i]
	b.mu.Unlock()
	f()
}

// TestCatchUpOfAnEndedListenIsIgnored: the last re-subscription of an
// ended Listen, reported late (a Bus may, after its context has ended),
// does not take over the catch-up of the live Listen, which still closes
// the connection the store says is revoked once the store answers.
func TestCatchUpOfAnEndedListenIsIgnored(t *testing.T) {
	for _, stale := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale=%v", stale), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bus := &listenBus{}
				store := &slowRevocations{revocations: newRevocations(), listens: true}
				reg := wsauth.NewRegistry(store, bus)
				n := unlistened(t, reg)
				ctx1, cancel1 := context.WithCancel(context.Background())
				if err := reg.Listen(ctx1); err != nil {
					t.Fatal(err)
				}
				ctx := vctx(t)
				alice := n.dial(t, "alice-token")
				defer alice.CloseNow()
				time.Sleep(time.Second)
				// Revoked on another node while this one's bus was down:
				// only the store knows.
				if err := store.RevokeSubject(ctx, "alice", time.Now()); err != nil {
					t.Fatal(err)
				}
				cancel1()
				ctx2, cancel2 := context.WithCancel(context.Background())
				defer cancel2()
				store.failing.Store(true)
				// Listening again catches up: it retries while the store
				// fails.
				if err := reg.Listen(ctx2); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				if stale {
					bus.catchUp(0) // the ended Listen's, late
				}
				time.Sleep(time.Second)
				store.failing.Store(false)
				if code, _ := closeOf(ctx, alice); code != transport.CloseUnauthenticated {
					t.Fatalf("alice, revoked in the store, closed with %v once it answered, want 4401", code)
				}
			})
		})
	}
}

// TestCatchUpOutlivesAnotherListen: a second Listen that fails, or that
// ends, while the first lives does not switch off the first's catch-ups.
func TestCatchUpOutlivesAnotherListen(t *testing.T) {
	for _, fails := range []bool{false, true} {
		t.Run(fmt.Sprintf("fails=%v", fails), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bus := &listenBus{}
				store := newRevocations()
				reg := wsauth.NewRegistry(store, bus)
				n := unlistened(t, reg)
				ctx1, cancel1 := context.WithCancel(context.Background())
				defer cancel1()
				if err := reg.Listen(ctx1); err != nil {
					t.Fatal(err)
				}
				ctx := vctx(t)
				alice := n.dial(t, "alice-token")
				defer alice.CloseNow()
				time.Sleep(time.Second)
				ctx2, cancel2 := context.WithCancel(context.Background())
				bus.fail = fails
				if err := reg.Listen(ctx2); (err != nil) != fails {
					t.Fatalf("second Listen: %v", err)
				}
				cancel2()
				// Revoked on another node while the first Listen's bus was
				// down: only the store knows.
				if err := store.RevokeSubject(ctx, "alice", time.Now()); err != nil {
					t.Fatal(err)
				}
				bus.catchUp(0)
				if code, _ := closeOf(ctx, alice); code != transport.CloseUnauthenticated {
					t.Fatalf("alice, revoked in the store, closed with %v after the live Listen's catch-up, want 4401", code)
				}
			})
		})
	}
}

// TestCatchUpWaitsForASlowStore: a store that answers every check, after
// 1 s each, takes longer than the grace over 40 connections; none ends,
// since it answered for each.
func TestCatchUpWaitsForASlowStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bus wsauthtest.Bus
		store := &slowRevocations{revocations: newRevocations(), timeout: time.Second, slowOnly: true}
		b := newNode(t, store, &bus, verifier(), wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		conns := b.dialMany(t, "bob-token", 40)
		bus.Cut()
		store.failing.Store(true)
		checks := store.checks.Load()
		bus.Restore()
		time.Sleep(45 * time.Second)
		synctest.Wait()
		if n := store.checks.Load() - checks; n != 40 {
			t.Fatalf("%d checks in the catch-up, want one per connection: 40", n)
		}
		store.failing.Store(false)
		for i, c := range conns {
			if got := roundTrip(t, ctx, c, "x"); got != "bob: x" {
				t.Fatalf("connection %d after a slow catch-up that answered for it: %q", i, got)
			}
		}
	})
}

// hungRevocations: while hung, a Check naming a subject (not Listen's)
// answers only when its ctx ends, as a store client without a timeout of
// its own over a server that stopped answering.
type hungRevocations struct {
	*revocations
	hung atomic.Bool
}

func (s *hungRevocations) Check(ctx context.Context, keys [2]ticket.Key, sub string) (ticket.Status, error) {
	if s.hung.Load() && sub != "" {
		<-ctx.Done()
		return ticket.Status{}, ctx.Err()
	}
	return s.revocations.Check(ctx, keys, sub)
}

// TestCatchUpOverAHungStore: a check the store never answers is given
// up: the connection ends with 1011 by the grace and one check's 5 s.
func TestCatchUpOverAHungStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &hungRevocations{revocations: newRevocations()}
		bus := new(wsauthtest.Bus)
		a, b := newNode(t, store, bus, verifier(), wsauth.FirstMessage{}, nil), newNode(t, store, bus, verifier(), wsauth.FirstMessage{}, nil)
		alice := b.dial(t, "alice-token")
		defer alice.CloseNow()
		time.Sleep(time.Second)
		bus.Cut()
		if err := a.reg.Revoke(vctx(t), "alice", ""); err == nil {
			t.Fatal("Revoke through a cut bus reported no error")
		}
		store.hung.Store(true)
		start := time.Now()
		bus.Restore()
		wantClose(t, vctx(t), alice, websocket.StatusInternalError)
		if d := time.Since(start); d > 35*time.Second {
			t.Fatalf("closed %v after the catch-up began, want 30 s and one check's 5 s", d)
		}
	})
}

// phasedRevocations: in phase 1 a Check naming a subject answers after
// slow, not watching its ctx (a store client that ignores it); in phase 2
// it fails at once. Listen's Check (no subject) always answers.
type phasedRevocations struct {
	*revocations
	phase atomic.Int32
	slow  time.Duration
}

func (s *phasedRevocations) Check(ctx context.Context, keys [2]ticket.Key, sub string) (ticket.Status, error) {
	if sub != "" {
		switch s.phase.Load() {
		case 1:
			time.Sleep(s.slow)
		case 2:
			return ticket.Status{}, errors.New("redis: connection refused")
		}
	}
	return s.revocations.Check(ctx, keys, sub)
}

// TestCatchUpAfterAnEndedPassHasItsGrace: a pass that answered for every
// connection, though the Listen it ran under ended meanwhile, leaves no
// deadline behind: a catch-up the other Listen asked for during it has 30
// s of retries of its own.
func TestCatchUpAfterAnEndedPassHasItsGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &listenBus{}
		store := &phasedRevocations{revocations: newRevocations(), slow: 35 * time.Second}
		reg := wsauth.NewRegistry(store, bus)
		n := unlistened(t, reg)
		ctx1, cancel1 := context.WithCancel(context.Background())
		defer cancel1()
		if err := reg.Listen(ctx1); err != nil {
			t.Fatal(err)
		}
		alice := n.dial(t, "alice-token")
		defer alice.CloseNow()
		time.Sleep(time.Second)
		store.phase.Store(1)
		ctx2, cancel2 := context.WithCancel(context.Background())
		start := time.Now()
		if err := reg.Listen(ctx2); err != nil { // listening again: a catch-up, under ctx2
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		cancel2() // during the check, which answers all the same at +35 s
		time.Sleep(5 * time.Second)
		store.phase.Store(2)
		bus.catchUp(0) // the first Listen's bus is back, at +15 s
		wantClose(t, vctx(t), alice, websocket.StatusInternalError)
		if d := time.Since(start); d < 65*time.Second {
			t.Fatalf("closed %v after the first catch-up began, want the second's 30 s after the first's pass (+35 s)", d)
		}
	})
}

// TestRevocationsFailClosed: a store that cannot be consulted refuses
// (503, 1011); a store that lost its data refuses every credential issued
// before the loss; a credential with no issue time is refused.
func TestRevocationsFailClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		v := verifier()
		v.Set("undated", wsauth.Principal{Subject: "carol"})
		a := newNode(t, store, nil, v, wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		if _, code, _ := dialFirst(ctx, vURL, "undated", a.net.opts()); code != transport.CloseUnauthenticated {
			t.Fatalf("no issue time: %v", code)
		}
		store.err = errors.New("redis: connection refused")
		if _, code, _ := dialFirst(ctx, vURL, "alice-token", a.net.opts()); code != websocket.StatusInternalError {
			t.Fatalf("store down: %v", code)
		}
		store.err = nil
		time.Sleep(time.Second)
		store.lose()
		if _, code, _ := dialFirst(ctx, vURL, "alice-token", a.net.opts()); code != transport.CloseUnauthenticated {
			t.Fatalf("issued before the store lost its data: %v", code)
		}
		v.Set("after", wsauth.Principal{Subject: "alice", IssuedAt: time.Now().Add(time.Second)})
		c, _, err := transport.DialFirstMessage(ctx, vURL, "after", a.net.opts())
		if err != nil {
			t.Fatalf("issued after the loss: %v", err)
		}
		c.CloseNow()
	})
}

// TestRegistryForgetsEndedConnections: every way a connection ends takes
// it out of the Registry, so a later Revoke has nothing to close.
func TestRegistryForgetsEndedConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		a := newNode(t, nil, nil, expiring(), wsauth.FirstMessage{}, &ev)
		ctx := vctx(t)
		for _, end := range []func(c *websocket.Conn){
			func(c *websocket.Conn) { c.Close(websocket.StatusNormalClosure, "") },
			func(c *websocket.Conn) { c.CloseNow() },
			func(c *websocket.Conn) { c.Read(ctx); wantClose(t, ctx, c, 4401) }, // expiry
		} {
			c := a.dial(t, "t1")
			end(c)
			c.CloseNow()
		}
		synctest.Wait()
		closed := len(ev.of(wsauth.EventClosed))
		if err := a.reg.Revoke(ctx, "alice", ""); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(ev.of(wsauth.EventClosed)); n != 3 || closed != 3 {
			t.Fatalf("%d closed events before Revoke, %d after; want 3", closed, n)
		}
	})
}

// TestRevokeReasonIsSanitised: a reason is cut to a valid close reason.
func TestRevokeReasonIsSanitised(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newNode(t, nil, nil, verifier(), wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		c := a.dial(t, "alice-token")
		defer c.CloseNow()
		a.reg.Revoke(ctx, "alice", "bye\x00\n"+strings.Repeat("é", 100))
		_, reason := closeOf(ctx, c)
		if len(reason) > 123 || strings.ContainsAny(reason, "\x00\n") || !strings.HasPrefix(reason, "byeé") {
			t.Fatalf("reason %q (%d bytes)", reason, len(reason))
		}
	})
}

// TestRevokeSession: RevokeToken with a session ID ("sid") ends every
// connection of that session, whatever its token, refuses its credentials
// from then on, and leaves the subject's other sessions alone.
func TestRevokeSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		now := time.Now()
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
			"phone-1":  {Subject: "alice", IssuedAt: now, Claims: map[string]any{"jti": "a1", "sid": "phone"}},
			"phone-2":  {Subject: "alice", IssuedAt: now, Claims: map[string]any{"jti": "a2", "sid": "phone"}},
			"laptop-1": {Subject: "alice", IssuedAt: now, Claims: map[string]any{"jti": "a3", "sid": "laptop"}},
		})
		a := newNode(t, store, nil, v, wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		p1, p2, l1 := a.dial(t, "phone-1"), a.dial(t, "phone-2"), a.dial(t, "laptop-1")
		defer p1.CloseNow()
		defer p2.CloseNow()
		defer l1.CloseNow()
		if err := a.reg.RevokeToken(ctx, "phone", now.Add(time.Hour), "logged out"); err != nil {
			t.Fatal(err)
		}
		wantClose(t, ctx, p1, transport.CloseUnauthenticated)
		wantClose(t, ctx, p2, transport.CloseUnauthenticated)
		if got := roundTrip(t, ctx, l1, "x"); got != "alice: x" {
			t.Fatalf("the other session: %q", got)
		}
		time.Sleep(2 * time.Minute) // past the Registry's own memory: the store refuses
		if _, code, _ := dialFirst(ctx, vURL, "phone-2", a.net.opts()); code != transport.CloseUnauthenticated {
			t.Fatalf("a credential of the revoked session: %v", code)
		}
		c := a.dial(t, "laptop-1")
		c.CloseNow()
	})
}

// heldBus is a Bus whose deliveries the test makes: a message published on
// another node that reaches this one late (Pub/Sub lag).
type heldBus struct {
	mu      sync.Mutex
	deliver func(ticket.Revocation)
}

func (b *heldBus) Publish(context.Context, ticket.Revocation) error { return nil }

func (b *heldBus) Subscribe(_ context.Context, deliver func(ticket.Revocation), _ func()) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deliver = deliver
	return nil
}

func (b *heldBus) send(r ticket.Revocation) {
	b.mu.Lock()
	f := b.deliver
	b.mu.Unlock()
	f(r)
}

// TestLateRevocationSparesLaterCredentials: alice is revoked at T on
// another node (the store, then the bus). Her connection of a credential
// issued at T is ended by the bus message; the one she opens at T+2 s,
// after logging in again (a credential issued at T+1 s, which the store
// accepts), is not, though the message reaches this node after it: a
// subject's credentials issued after its revocation are not revoked. It
// was ended with 4401 too.
func TestLateRevocationSparesLaterCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		bus := &heldBus{}
		v := verifier()
		b := newNode(t, store, bus, v, wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		old := b.dial(t, "alice-token") // issued at T
		defer old.CloseNow()
		revokedAt := time.Now()
		if err := store.RevokeSubject(ctx, "alice", revokedAt); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		v.Set("alice-new", wsauth.Principal{Subject: "alice", IssuedAt: time.Now()})
		time.Sleep(time.Second)
		c := b.dial(t, "alice-new")
		defer c.CloseNow()
		bus.send(ticket.Revocation{Subject: "alice", Reason: "logged out", At: revokedAt})
		if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
			t.Fatalf("the credential issued after the revocation: %q", got)
		}
		if code, reason := closeOf(ctx, old); code != transport.CloseUnauthenticated || reason != "logged out" {
			t.Fatalf("the credential issued at the revocation: closed %v %q, want 4401 \"logged out\"", code, reason)
		}
	})
}

// TestRevocationFromAClockAheadEndsWhatItCovers: node A, issuer and
// revoker, runs 2 s ahead of this node B. alice's credential is issued by
// A at B+1 s; A revokes alice at B+2 s (the store, then the bus). The store
// refuses the credential, issued before the revocation, and B ends its
// connection as well; B took the revocation's time as its own now and
// spared it.
func TestRevocationFromAClockAheadEndsWhatItCovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		bus := &heldBus{}
		v := verifier()
		v.Set("alice-ahead", wsauth.Principal{Subject: "alice", IssuedAt: time.Now().Add(time.Second)})
		b := newNode(t, store, bus, v, wsauth.FirstMessage{}, nil)
		ctx := vctx(t)
		c := b.dial(t, "alice-ahead")
		defer c.CloseNow()
		revokedAt := time.Now().Add(2 * time.Second) // A's clock
		if err := store.RevokeSubject(ctx, "alice", revokedAt); err != nil {
			t.Fatal(err)
		}
		st, _ := store.Check(ctx, [2]ticket.Key{}, "alice")
		if !st.Refuses(time.Now().Add(time.Second)) {
			t.Fatal("setup: the store does not refuse the credential")
		}
		bus.send(ticket.Revocation{Subject: "alice", Reason: "logged out", At: revokedAt})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if code, _ := closeOf(cctx, c); code != transport.CloseUnauthenticated {
			t.Fatalf("connection of a credential issued before the revocation (the store refuses it): closed %v, want 4401", code)
		}
	})
}
