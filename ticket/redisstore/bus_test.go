package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
)

// listener is what a Subscribe heard.
type listener struct {
	revs     chan ticket.Revocation
	catchUps chan struct{}
}

// subscribe subscribes b until the test ends.
func subscribe(t *testing.T, b *redisstore.Bus) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &listener{revs: make(chan ticket.Revocation, 16), catchUps: make(chan struct{}, 16)}
	if err := b.Subscribe(ctx, func(r ticket.Revocation) { l.revs <- r }, func() { l.catchUps <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *listener) hear(t *testing.T) ticket.Revocation {
	t.Helper()
	select {
	case r := <-l.revs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no revocation heard")
		return ticket.Revocation{}
	}
}

func (l *listener) caughtUp(t *testing.T) {
	t.Helper()
	select {
	case <-l.catchUps:
	case <-time.After(10 * time.Second):
		t.Fatal("catchUp not called after the subscription was cut")
	}
}

// testBus checks the Bus over clients of one deployment from newClient.
// ordered says a subscriber hears in publish order, as from one server; on
// Cluster, go-redis sends each PUBLISH to any node, and messages reach the
// subscriber's node over different links.
func testBus(t *testing.T, newClient func(t *testing.T) redis.UniversalClient, ordered bool) {
	a := redisstore.NewBus(newClient(t), nil)
	b := redisstore.NewBus(newClient(t), nil)
	other := redisstore.NewBus(newClient(t), &redisstore.BusOptions{Channel: "another-app"})
	heardA, heardB, heardOther := subscribe(t, a), subscribe(t, b), subscribe(t, other)
	ctx := t.Context()

	// Garbage on the channel is dropped.
	raw := newClient(t)
	for _, junk := range []string{
		"not json",
		`{"reason":"neither subject nor ID"}`,
		`{"id":"zz","reason":"an ID that is not hex"}`,
		`{"id":"abcd","reason":"an ID too short"}`,
		`{"sub":7}`,
	} {
		if err := raw.Publish(ctx, redisstore.DefaultChannel, junk).Err(); err != nil {
			t.Fatal(err)
		}
	}
	both := ticket.Revocation{Subject: "alice", ID: ticket.DenyKey("jti-1"), Reason: "logged out"}
	idOnly := ticket.Revocation{ID: ticket.DenyKey("jti-2")}
	for _, r := range []ticket.Revocation{both, idOnly} {
		if err := a.Publish(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// What a node that knows only subjects publishes.
	if err := raw.Publish(ctx, redisstore.DefaultChannel, `{"sub":"bob","reason":"older node"}`).Err(); err != nil {
		t.Fatal(err)
	}
	older := ticket.Revocation{Subject: "bob", Reason: "older node"}
	published := []ticket.Revocation{both, idOnly, older}
	for name, l := range map[string]*listener{"publisher": heardA, "other node": heardB} {
		var heard []ticket.Revocation
		for range published {
			heard = append(heard, l.hear(t))
		}
		if !ordered {
			slices.SortFunc(heard, byReason)
			published = slices.SortedFunc(slices.Values(published), byReason)
		}
		if !slices.Equal(heard, published) {
			t.Errorf("%s heard %+v, want %+v", name, heard, published)
		}
	}
	// A marker published on the other channel after all that must be
	// the first thing that channel's subscriber hears: in publish order,
	// a misrouted revocation would arrive before it (unordered, it may
	// come after, unseen).
	marker := ticket.Revocation{Subject: "carol", Reason: "marker"}
	if err := other.Publish(ctx, marker); err != nil {
		t.Fatal(err)
	}
	if r := heardOther.hear(t); r != marker {
		t.Errorf("another channel heard %+v", r)
	}
	if err := a.Publish(ctx, ticket.Revocation{Reason: "no one"}); err == nil {
		t.Error("Publish of a revocation naming no one succeeded")
	}
	for name, l := range map[string]*listener{"publisher": heardA, "other node": heardB, "other channel": heardOther} {
		if n := len(l.catchUps); n != 0 {
			t.Errorf("%s: catchUp called %d times without an interruption", name, n)
		}
	}
}

func byReason(a, b ticket.Revocation) int { return strings.Compare(a.Reason, b.Reason) }

// testBusCatchUp checks that a subscription cut by cut (CLIENT KILL TYPE
// pubsub, a failover) is re-established by itself, with a catchUp, and
// delivers again, cuts times over.
func testBusCatchUp(t *testing.T, newClient func(t *testing.T) redis.UniversalClient, cut func(t *testing.T), cuts int) {
	sub := redisstore.NewBus(newClient(t), nil)
	pub := redisstore.NewBus(newClient(t), nil)
	l := subscribe(t, sub)
	ctx := t.Context()
	first := ticket.Revocation{Subject: "alice", Reason: "before the cut"}
	if err := pub.Publish(ctx, first); err != nil {
		t.Fatal(err)
	}
	if r := l.hear(t); r != first {
		t.Fatalf("heard %+v, want %+v", r, first)
	}
	// Messages and catchUps share one ordered stream: one for the first
	// subscription would have come before the revocation.
	if n := len(l.catchUps); n != 0 {
		t.Fatalf("catchUp called %d times before any interruption", n)
	}
	for range cuts {
		cut(t)
		l.caughtUp(t)
		after := ticket.Revocation{Subject: "bob", Reason: "after the cut"}
		if err := pub.Publish(ctx, after); err != nil {
			t.Fatal(err)
		}
		if r := l.hear(t); r != after {
			t.Fatalf("heard %+v after the cut, want %+v", r, after)
		}
	}
}

// killPubSub cuts every Pub/Sub connection of c's server.
func killPubSub(c *redis.Client) func(t *testing.T) {
	return func(t *testing.T) {
		if err := c.ClientKillByFilter(t.Context(), "TYPE", "pubsub").Err(); err != nil {
			t.Fatalf("CLIENT KILL TYPE pubsub: %v", err)
		}
	}
}

func TestBusMiniredis(t *testing.T) {
	m := miniredis.RunT(t)
	testBus(t, func(t *testing.T) redis.UniversalClient { return newClient(t, m.Addr()) }, true)
}

func TestBusRedis(t *testing.T) {
	srv := redistest.Start(t)
	newRedis := func(t *testing.T) redis.UniversalClient { return newClient(t, srv.Addr) }
	t.Run("Deliver", func(t *testing.T) { testBus(t, newRedis, true) })
	t.Run("CatchUp", func(t *testing.T) { testBusCatchUp(t, newRedis, killPubSub(newClient(t, srv.Addr)), 2) })
}

// The message is the documented JSON, with the ID's hash, never an ID.
func TestBusWire(t *testing.T) {
	m := miniredis.RunT(t)
	raw := newClient(t, m.Addr())
	ps := raw.Subscribe(t.Context(), redisstore.DefaultChannel)
	defer ps.Close()
	if _, err := ps.Receive(t.Context()); err != nil {
		t.Fatal(err)
	}
	k := ticket.DenyKey("jti-secret")
	b := redisstore.NewBus(newClient(t, m.Addr()), nil)
	at := time.UnixMilli(1764627000123)
	if err := b.Publish(t.Context(), ticket.Revocation{Subject: "alice", ID: k, Reason: "logged out", At: at.Add(456 * time.Microsecond)}); err != nil {
		t.Fatal(err)
	}
	msg, err := ps.ReceiveMessage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"sub":"alice","id":"` + k.String() + `","reason":"logged out","at":1764627000123}`; msg.Payload != want {
		t.Fatalf("published %s, want %s", msg.Payload, want)
	}
	// And back: the time to the millisecond, and a message of a node that
	// sends none means "when received".
	got := make(chan ticket.Revocation, 2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := b.Subscribe(ctx, func(r ticket.Revocation) { got <- r }, nil); err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{msg.Payload, `{"sub":"bob","reason":"r"}`} {
		if err := raw.Publish(t.Context(), redisstore.DefaultChannel, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	next := func() ticket.Revocation {
		t.Helper()
		select {
		case r := <-got:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no revocation decoded within 5 s")
			return ticket.Revocation{}
		}
	}
	if r := next(); r.Subject != "alice" || r.ID != k || !r.At.Equal(at) {
		t.Errorf("decoded %+v, want alice at %v", r, at)
	}
	if r := next(); r.Subject != "bob" || !r.At.IsZero() {
		t.Errorf("decoded %+v, want bob with no time", r)
	}
}

// A Bus stops listening when its context ends (goleak checks the
// goroutine is gone), and fails closed when it cannot subscribe or
// publish.
func TestBusUnsubscribes(t *testing.T) {
	m := miniredis.RunT(t)
	c := shortClient(m.Addr())
	t.Cleanup(func() { c.Close() })
	b := redisstore.NewBus(c, nil)
	ctx, cancel := context.WithCancel(t.Context())
	if err := b.Subscribe(ctx, func(ticket.Revocation) {}, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	down, cancelDown := context.WithCancel(t.Context())
	cancelDown()
	if err := b.Subscribe(down, func(ticket.Revocation) {}, nil); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Errorf("Subscribe with a done context: err = %v, want ErrStoreUnavailable", err)
	}
	if err := b.Publish(down, ticket.Revocation{Subject: "alice"}); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Errorf("Publish with a done context: err = %v, want ErrStoreUnavailable", err)
	}
	m.Close()
	if err := b.Publish(t.Context(), ticket.Revocation{Subject: "alice"}); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Errorf("Publish with Redis down: err = %v, want ErrStoreUnavailable", err)
	}
}
