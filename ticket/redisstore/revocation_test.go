package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

func TestDenylistMiniredis(t *testing.T) {
	tickettest.TestDenylist(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			m := miniredis.RunT(t)
			// PXAT is absolute: miniredis must read the fake clock too.
			m.SetTime(clock.Now())
			clock.OnAdvance(func(d time.Duration) {
				m.SetTime(clock.Now())
				m.FastForward(d)
			})
			return redisstore.New(newClient(t, m.Addr()), nil)
		},
	})
}

func TestDenylistRedis(t *testing.T) {
	srv := redistest.Start(t)
	tickettest.TestDenylist(t, tickettest.Harness{
		NewStore: func(t *testing.T, _ *tickettest.Clock) ticket.Store {
			c := newClient(t, srv.Addr)
			if err := c.FlushAll(t.Context()).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			return redisstore.New(c, nil)
		},
		RealTime: true,
	})
}

// Deny is one SET … PXAT and Denied one EXISTS, on a key that holds only a
// hash.
func TestDenylistCommands(t *testing.T) {
	backends(t, func(t *testing.T, st *redisstore.Store, c *redis.Client, n *counter) {
		until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		k := ticket.DenyKey("jti-secret")
		key := redisstore.DefaultPrefix + "deny:" + k.String()
		if err := st.Deny(t.Context(), k, until); err != nil {
			t.Fatal(err)
		}
		cmds := wantCommands(t, n, "Deny", "set")
		if got, want := fmt.Sprint(cmds[0]), fmt.Sprint([]any{"set", key, "1", "pxat", until.UnixMilli()}); got != want {
			t.Fatalf("Deny sent %s, want %s", got, want)
		}
		if denied, err := st.Denied(t.Context(), k); err != nil || !denied {
			t.Fatalf("Denied = %v, %v", denied, err)
		}
		cmds = wantCommands(t, n, "Denied", "exists")
		if got, want := fmt.Sprint(cmds[0]), fmt.Sprint([]any{"exists", key}); got != want {
			t.Fatalf("Denied sent %s, want %s", got, want)
		}
		if ttl := c.PTTL(t.Context(), key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("PTTL %v, want about an hour", ttl)
		}
	})
}

func TestDenylistUnavailable(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	s := redisstore.New(c, nil)
	m.Close()
	k := ticket.DenyKey("jti")
	if err := s.Deny(t.Context(), k, time.Now().Add(time.Hour)); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Errorf("Deny with Redis down: %v", err)
	}
	if _, err := s.Denied(t.Context(), k); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Errorf("Denied with Redis down: %v", err)
	}
}

type revocation struct{ subject, reason string }

// subscribe subscribes b until the test ends and returns what it hears.
func subscribe(t *testing.T, b *redisstore.Bus) <-chan revocation {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch := make(chan revocation, 16)
	if err := b.Subscribe(ctx, func(s, r string) { ch <- revocation{s, r} }); err != nil {
		t.Fatal(err)
	}
	return ch
}

func hear(t *testing.T, ch <-chan revocation) revocation {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no revocation heard")
		return revocation{}
	}
}

func testBus(t *testing.T, addr string) {
	a := redisstore.NewBus(newClient(t, addr), nil)
	b := redisstore.NewBus(newClient(t, addr), nil)
	other := redisstore.NewBus(newClient(t, addr), &redisstore.BusOptions{Channel: "another-app"})
	heardA, heardB, heardOther := subscribe(t, a), subscribe(t, b), subscribe(t, other)

	// Garbage on the channel is dropped.
	raw := newClient(t, addr)
	for _, junk := range []string{"not json", `{"reason":"no subject"}`} {
		if err := raw.Publish(t.Context(), redisstore.DefaultChannel, junk).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Publish(t.Context(), "alice", "logged out"); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan revocation{"publisher": heardA, "other node": heardB} {
		if r := hear(t, ch); r != (revocation{"alice", "logged out"}) {
			t.Errorf("%s heard %+v", name, r)
		}
	}
	// A marker published on the other channel after alice's revocation
	// must be the first thing that channel's subscriber hears: Redis
	// delivers to a subscriber in publish order, so a misrouted
	// revocation would arrive before it (a bare non-blocking receive
	// could miss one still in flight).
	if err := other.Publish(t.Context(), "bob", "marker"); err != nil {
		t.Fatal(err)
	}
	if r := hear(t, heardOther); r != (revocation{"bob", "marker"}) {
		t.Errorf("another channel heard %+v", r)
	}
}

func TestBusMiniredis(t *testing.T) { testBus(t, miniredis.RunT(t).Addr()) }

func TestBusRedis(t *testing.T) { testBus(t, redistest.Start(t).Addr) }

// A Bus stops listening when its context ends (goleak checks the
// goroutine is gone).
func TestBusUnsubscribes(t *testing.T) {
	m := miniredis.RunT(t)
	b := redisstore.NewBus(newClient(t, m.Addr()), nil)
	ctx, cancel := context.WithCancel(t.Context())
	if err := b.Subscribe(ctx, func(string, string) {}); err != nil {
		t.Fatal(err)
	}
	cancel()
	down, cancelDown := context.WithCancel(t.Context())
	cancelDown()
	if err := b.Subscribe(down, func(string, string) {}); err == nil {
		t.Error("Subscribe with a done context succeeded")
	}
}
