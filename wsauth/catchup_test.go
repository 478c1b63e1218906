package wsauth_test

import (
	"context"
	"errors"
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

// watch reads c until it ends and records when and with what code.
type watched struct {
	mu   sync.Mutex
	done bool
	code websocket.StatusCode
	at   time.Duration
}

func watch(c *websocket.Conn, start time.Time) *watched {
	w := &watched{}
	go func() {
		code, _ := closeOf(context.Background(), c)
		w.mu.Lock()
		w.done, w.code, w.at = true, code, time.Since(start)
		w.mu.Unlock()
	}()
	return w
}

func (w *watched) get() (bool, websocket.StatusCode, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done, w.code, w.at
}

// holder holds alice's attempts in the Authorizer (a slow room lookup),
// from dialAlice on until letGo.
type holder struct {
	held    atomic.Bool
	release chan struct{}
}

func newHolder() *holder { return &holder{release: make(chan struct{})} }

func (h *holder) authorize(_ context.Context, p wsauth.Principal, _ *http.Request) error {
	if h.held.Load() && p.Subject == "alice" {
		<-h.release
	}
	return nil
}

func (h *holder) letGo() { close(h.release) }

// dialAlice starts alice's first-message attempt on n and returns once it
// is held in the Authorizer, its store check made; her connection comes on
// the channel after letGo. With revoked, the attempt may also be refused
// with 4401 (nil on the channel): a connection ended between its
// registration and auth_ok hears the close instead of auth_ok.
func (h *holder) dialAlice(t *testing.T, ctx context.Context, n *node, revoked bool) <-chan *websocket.Conn {
	t.Helper()
	h.held.Store(true)
	done := make(chan *websocket.Conn, 1)
	go func() {
		c, _, err := transport.DialFirstMessage(ctx, vURL, "alice-token", n.net.opts())
		if err != nil && !(revoked && websocket.CloseStatus(err) == transport.CloseUnauthenticated) {
			t.Errorf("dial: %v", err)
		}
		done <- c
	}()
	synctest.Wait()
	return done
}

// TestCatchUpChecksWhatRegistersDuringIt: an attempt that checked the
// store before a revocation the bus missed, and registers after the
// catch-up took its list of live connections, is checked too: it closes
// 4401.
func TestCatchUpChecksWhatRegistersDuringIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRevocations()
		bus := new(wsauthtest.Bus)
		a := newNode(t, store, bus, verifier(), wsauth.FirstMessage{}, nil)
		h := newHolder()
		regB := wsauth.NewRegistry(store, bus)
		nb := &node{reg: regB, net: newVNet(t, wsauth.Handler(wsauth.New(verifier(), wsauth.FirstMessage{}, &wsauth.Options{Registry: regB, Authorizer: h.authorize}), echo))}
		lctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := regB.Listen(lctx); err != nil {
			t.Fatal(err)
		}
		ctx := vctx(t)
		time.Sleep(time.Second)
		done := h.dialAlice(t, ctx, nb, true) // her store check passed; she is in the Authorizer
		bus.Cut()
		if err := a.reg.Revoke(ctx, "alice", ""); err == nil {
			t.Fatal("Revoke through a cut bus reported no error")
		}
		bus.Restore() // B's catch-up, while alice is not yet registered
		synctest.Wait()
		h.letGo()
		alice := <-done
		if alice == nil {
			return
		}
		defer alice.CloseNow()
		if code, _ := closeOf(ctx, alice); code != transport.CloseUnauthenticated {
			t.Fatalf("alice, revoked in the store, registered after B's catch-up took its list: closed %v, want 4401", code)
		}
	})
}

// scriptedRevocations answers after slow each check naming a subject,
// except those fail says fail (at once).
type scriptedRevocations struct {
	*revocations
	slow time.Duration
	mu   sync.Mutex
	fail func(sub string) bool
}

func (s *scriptedRevocations) Check(ctx context.Context, keys [2]ticket.Key, sub string) (ticket.Status, error) {
	if sub != "" {
		s.mu.Lock()
		f := s.fail
		s.mu.Unlock()
		if f != nil && f(sub) {
			s.revocations.checks.Add(1)
			return ticket.Status{}, errors.New("redis: connection reset")
		}
		if s.slow > 0 {
			time.Sleep(s.slow)
		}
	}
	return s.revocations.Check(ctx, keys, sub)
}

// TestCatchUpRetriesAnEarlyFailureOfALongPass: one check that fails at the
// start of a pass that outlasts the grace (a slow store that answers every
// other check) is tried again, and its connection stays.
func TestCatchUpRetriesAnEarlyFailureOfALongPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bus wsauthtest.Bus
		store := &scriptedRevocations{revocations: newRevocations()}
		b := newNode(t, store, &bus, verifier(), wsauth.FirstMessage{}, nil)
		conns := b.dialMany(t, "bob-token", 40)
		bus.Cut()
		var first atomic.Bool
		store.mu.Lock()
		store.slow = time.Second
		store.fail = func(string) bool { return !first.Swap(true) } // the pass's first check only
		store.mu.Unlock()
		start := time.Now()
		ws := make([]*watched, len(conns))
		for i, c := range conns {
			ws[i] = watch(c, start)
		}
		bus.Restore()
		time.Sleep(45 * time.Second)
		synctest.Wait()
		closed := 0
		for i, w := range ws {
			if done, code, at := w.get(); done {
				closed++
				t.Logf("connection %d ended with %v at +%v", i, code, at)
			}
		}
		t.Logf("%d of 40 ended; checks made: %d", closed, store.checks.Load())
		if closed != 0 {
			t.Fatalf("%d connection(s) ended with one failed check at +0 s and every later check answered (in 1 s each)", closed)
		}
	})
}

// TestCatchUpGraceIsPerConnection: a catch-up asked for while an earlier
// one still has a connection unanswered (alice) gives bob, whom the store
// answered for in the first, a grace of his own: a 300 ms blip of the
// store just after the first's grace is retried, and bob stays.
func TestCatchUpGraceIsPerConnection(t *testing.T) {
	for _, leftover := range []bool{true, false} {
		name := "leftover"
		if !leftover {
			name = "control"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var bus wsauthtest.Bus
				store := &scriptedRevocations{revocations: newRevocations()}
				b := newNode(t, store, &bus, verifier(), wsauth.FirstMessage{}, nil)
				bob := b.dial(t, "bob-token")
				defer bob.CloseNow()
				if leftover {
					alice := b.dial(t, "alice-token")
					defer alice.CloseNow()
				}
				time.Sleep(time.Second)
				bus.Cut()
				start := time.Now()
				wb := watch(bob, start)
				var blip atomic.Bool
				store.mu.Lock()
				store.fail = func(sub string) bool { return sub == "alice" || blip.Load() }
				store.mu.Unlock()
				bus.Restore() // catch-up 1: bob answered, alice failing
				time.Sleep(29*time.Second + 500*time.Millisecond)
				bus.Cut()
				bus.Restore() // catch-up 2, at +29.5 s
				time.Sleep(400 * time.Millisecond)
				blip.Store(true) // +29.9 s .. +30.2 s
				time.Sleep(300 * time.Millisecond)
				blip.Store(false)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				done, code, at := wb.get()
				t.Logf("at +%v: bob ended: %v, code %v at +%v", time.Since(start), done, code, at)
				if done {
					t.Fatal("bob, answered for by the store in the first catch-up, ended 0.5 s into the second over a 300 ms blip")
				}
			})
		})
	}
}

// flakyBus fails its first Subscribe, as a bus whose server is down at
// startup, then works; it keeps each catchUp.
type flakyBus struct {
	listenBus
	subs []func(ticket.Revocation)
}

func (b *flakyBus) Subscribe(ctx context.Context, deliver func(ticket.Revocation), catchUp func()) error {
	if err := b.listenBus.Subscribe(ctx, deliver, catchUp); err != nil {
		return err
	}
	b.mu.Lock()
	b.subs = append(b.subs, deliver)
	b.mu.Unlock()
	return nil
}

// TestCatchUpAfterAFailedListen: a Listen that succeeds after the node's
// first one failed (the bus down at startup, retried by the application)
// catches up: a revocation published while the node was not subscribed
// closes the connection.
func TestCatchUpAfterAFailedListen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &flakyBus{}
		bus.fail = true
		store := newRevocations()
		reg := wsauth.NewRegistry(store, bus)
		n := unlistened(t, reg)
		lctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := reg.Listen(lctx); err == nil {
			t.Fatal("first Listen succeeded")
		}
		ctx := vctx(t)
		alice := n.dial(t, "alice-token")
		defer alice.CloseNow()
		time.Sleep(time.Second)
		// Revoked on another node while this one was not subscribed.
		if err := store.RevokeSubject(ctx, "alice", time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := reg.Listen(lctx); err != nil { // the application's retry
			t.Fatal(err)
		}
		if code, _ := closeOf(ctx, alice); code != transport.CloseUnauthenticated {
			t.Fatalf("alice, revoked in the store while the node was not subscribed: closed %v after Listen succeeded, want 4401", code)
		}
	})
}

// TestCatchUpAfterAListenOnAnEmptyNode: the node's Listen ended (or
// failed); while it was not subscribed alice was revoked (store only).
// Alice's attempt checked the store before the revocation and registers
// after a new Listen succeeded: that Listen's catch-up, though it found
// nobody registered, hands her to itself, and she closes 4401, with or
// without another connection registered.
func TestCatchUpAfterAListenOnAnEmptyNode(t *testing.T) {
	for _, tc := range []struct {
		name            string
		withBob, failed bool
	}{{"control-bob-registered", true, false}, {"nobody-else", false, false}, {"first-listen-failed", false, true}} {
		withBob, failed := tc.withBob, tc.failed
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := newRevocations()
				var bus ticket.Bus = new(wsauthtest.Bus)
				if failed {
					fb := &flakyBus{}
					fb.fail = true // the bus is down at startup
					bus = fb
				}
				h := newHolder()
				reg := wsauth.NewRegistry(store, bus)
				n := &node{reg: reg, net: newVNet(t, wsauth.Handler(wsauth.New(verifier(), wsauth.FirstMessage{}, &wsauth.Options{Registry: reg, Authorizer: h.authorize}), echo))}
				ctx1, cancel1 := context.WithCancel(context.Background())
				if err := reg.Listen(ctx1); (err != nil) != failed {
					t.Fatal(err)
				}
				ctx := vctx(t)
				if withBob {
					bob := n.dial(t, "bob-token")
					defer bob.CloseNow()
				}
				time.Sleep(time.Second)
				cancel1() // the Listen ends: the node is no longer subscribed
				time.Sleep(time.Second)
				done := h.dialAlice(t, ctx, n, true) // her store check passed; she is in the Authorizer
				time.Sleep(time.Second)
				// Revoked on another node while this one is not subscribed.
				if err := store.RevokeSubject(ctx, "alice", time.Now()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				ctx2, cancel2 := context.WithCancel(context.Background())
				defer cancel2()
				if err := reg.Listen(ctx2); err != nil { // the application's retry
					t.Fatal(err)
				}
				synctest.Wait()
				h.letGo()
				alice := <-done
				if alice == nil {
					return
				}
				defer alice.CloseNow()
				time.Sleep(time.Minute) // the store answers all along
				synctest.Wait()
				// A write and a read: an open connection echoes, a closed one
				// reports its close code.
				if err := alice.Write(ctx, websocket.MessageText, []byte("x")); err != nil {
					t.Logf("write: %v", err)
				}
				_, b, err := alice.Read(ctx)
				var ce websocket.CloseError
				code := websocket.StatusCode(-1)
				if errors.As(err, &ce) {
					code = ce.Code
				}
				t.Logf("alice 1 min after Listen: read %q, err %v", b, err)
				if err == nil || code != transport.CloseUnauthenticated {
					t.Fatalf("alice, revoked in the store while the node was unsubscribed, her store check before it: still served (%q) after a new Listen, want 4401", b)
				}
			})
		})
	}
}

// TestCatchUpAnsweredByARefresh: alice is pending in a catch-up (the
// store failing for her). At +20 s the store answers her refresh, after
// the bus came back, and fails again after: the refresh answered for her,
// and she does not end with 1011 at +30 s, her old deadline, also when a
// second catch-up is asked for at +20.5 s, before the first has used the
// answer (the store comes back at +35.5 s). Without the refresh she does
// end then.
func TestCatchUpAnsweredByARefresh(t *testing.T) {
	for _, tc := range []struct {
		name             string
		refresh, recheck bool
	}{{"refresh", true, false}, {"refresh-then-recheck", true, true}, {"control-no-refresh", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var bus wsauthtest.Bus
				store := &scriptedRevocations{revocations: newRevocations()}
				now := time.Now()
				v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
					"old": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Claims: map[string]any{"jti": "j1"}},
					"new": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Hour), Claims: map[string]any{"jti": "j2"}},
				})
				b := newNode(t, store, &bus, v, wsauth.FirstMessage{}, nil)
				ctx := vctx(t)
				c := b.dial(t, "old")
				defer c.CloseNow()
				time.Sleep(time.Second)
				var down atomic.Bool
				down.Store(true)
				store.mu.Lock()
				store.fail = func(string) bool { return down.Load() }
				store.mu.Unlock()
				bus.Cut()
				start := time.Now()
				bus.Restore() // a catch-up: alice pending, deadline +30 s
				time.Sleep(20 * time.Second)
				if tc.refresh {
					down.Store(false) // the store answers, for a moment
					transport.Refresh(ctx, c, "new")
					_, msg, err := c.Read(ctx)
					if err != nil || !strings.Contains(string(msg), "auth_ok") {
						t.Fatalf("refresh: %q %v", msg, err)
					}
					down.Store(true)
				}
				if tc.recheck {
					time.Sleep(500 * time.Millisecond)
					bus.Cut()
					bus.Restore() // a second catch-up at +20.5 s
				}
				w := watch(c, start)
				time.Sleep(start.Add(35*time.Second + 500*time.Millisecond).Sub(time.Now()))
				down.Store(false)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				isDone, code, at := w.get()
				if tc.refresh && isDone {
					t.Fatalf("alice, whose refresh the store answered at +20 s, ended with %v at +%v", code, at)
				}
				if !tc.refresh && (!isDone || code != websocket.StatusInternalError) {
					t.Fatalf("control: want 1011 at +30 s, got ended=%v %v", isDone, code)
				}
			})
		})
	}
}

// TestCatchUpOfALateRegistrationBacksOff: alice's attempt passed its store
// check and sits in a slow Authorizer while a bus blip's catch-up runs
// (nobody registered: the pass ends at once). The store then goes down;
// alice registers, is handed to a new catch-up, and its check fails. That
// catch-up backs off (100 ms, doubling): a handful of checks in a second,
// not thousands at one instant.
func TestCatchUpOfALateRegistrationBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &scriptedRevocations{revocations: newRevocations()}
		bus := new(wsauthtest.Bus)
		h := newHolder()
		reg := wsauth.NewRegistry(store, bus)
		n := &node{reg: reg, net: newVNet(t, wsauth.Handler(wsauth.New(verifier(), wsauth.FirstMessage{}, &wsauth.Options{Registry: reg, Authorizer: h.authorize}), echo))}
		lctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := reg.Listen(lctx); err != nil {
			t.Fatal(err)
		}
		ctx := vctx(t)
		time.Sleep(time.Second)
		done := h.dialAlice(t, ctx, n, false) // her store check passed; she is in the Authorizer
		bus.Cut()
		bus.Restore() // a catch-up with nobody registered: its pass ends at once
		synctest.Wait()
		// The store goes down, for 10,000 checks at most (then it answers,
		// so that a catch-up that does not back off still ends).
		var fails atomic.Int64
		store.mu.Lock()
		store.fail = func(string) bool { return fails.Add(1) <= 10000 }
		store.mu.Unlock()
		before := store.checks.Load()
		start := time.Now()
		h.letGo()
		alice := <-done
		if alice == nil {
			return
		}
		defer alice.CloseNow()
		time.Sleep(time.Second)
		synctest.Wait()
		got := store.checks.Load() - before
		t.Logf("checks of alice in the first %v (virtual) of a store outage: %d", time.Since(start), got)
		if got > 20 {
			t.Fatalf("the late catch-up made %d checks in 1 s of a store outage, none of them waiting: it does not back off", got)
		}
	})
}

// TestAttemptSlowerThanTheRecentWindowIsRefused: alice's attempt passed its
// store check and spends 62 s in the Authorizer (a slow database), while
// Revoke(alice) runs at +1 s on this node and, in one case, another
// revocation at +61.5 s makes the Registry forget hers (recentWindow).
// The attempt is refused: checks that take longer than the Registry
// remembers revocations do not register.
func TestAttemptSlowerThanTheRecentWindowIsRefused(t *testing.T) {
	for _, other := range []bool{false, true} {
		name := "no-other-revocation"
		if other {
			name = "another-revocation-at-61s"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := newRevocations()
				bus := new(wsauthtest.Bus)
				var slow atomic.Bool
				authz := func(ctx context.Context, p wsauth.Principal, r *http.Request) error {
					if slow.Load() && p.Subject == "alice" {
						time.Sleep(62 * time.Second)
					}
					return nil
				}
				reg := wsauth.NewRegistry(store, bus)
				n := &node{reg: reg, net: newVNet(t, wsauth.Handler(wsauth.New(verifier(), wsauth.Query{}, &wsauth.Options{Registry: reg, Authorizer: authz}), echo))}
				lctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if err := reg.Listen(lctx); err != nil {
					t.Fatal(err)
				}
				ctx := vctx(t)
				time.Sleep(time.Second)
				slow.Store(true)
				status := make(chan int, 1)
				go func() {
					c, resp, _ := transport.DialQuery(ctx, vURL, "alice-token", n.net.opts())
					if c != nil {
						c.CloseNow()
					}
					code := 0
					if resp != nil {
						code = resp.StatusCode
					}
					status <- code
				}()
				synctest.Wait() // alice is in the Authorizer, her store check passed
				time.Sleep(time.Second)
				if err := reg.Revoke(ctx, "alice", "logged out"); err != nil {
					t.Fatal(err)
				}
				time.Sleep(60*time.Second + 500*time.Millisecond)
				if other {
					if err := reg.Revoke(ctx, "carol", ""); err != nil {
						t.Fatal(err)
					}
				}
				if code := <-status; code != http.StatusServiceUnavailable {
					t.Fatalf("alice's attempt, 62 s in the Authorizer with Revoke(alice) at +1 s: HTTP %d, want 503", code)
				}
			})
		})
	}
}
