package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
)

// backends runs fn against miniredis and, where installed, a real
// redis-server, with a counting client.
func backends(t *testing.T, fn func(t *testing.T, st *redisstore.Store, c *redis.Client, n *counter)) {
	t.Run("miniredis", func(t *testing.T) {
		m := miniredis.RunT(t)
		run(t, m.Addr(), fn)
	})
	t.Run("redis", func(t *testing.T) {
		run(t, redistest.Start(t).Addr, fn)
	})
}

func run(t *testing.T, addr string, fn func(t *testing.T, st *redisstore.Store, c *redis.Client, n *counter)) {
	c := newClient(t, addr)
	n := &counter{keep: true}
	c.AddHook(n)
	// The connection handshake (HELLO, CLIENT SETINFO) goes through the
	// hook too: get it over with before anything is counted.
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	n.reset()
	fn(t, redisstore.New(c, nil), c, n)
}

// wantCommands fails unless exactly the commands want (by name) were sent
// since the last reset, and resets.
func wantCommands(t *testing.T, n *counter, op string, want ...string) [][]any {
	t.Helper()
	cmds := n.commands()
	var names []string
	for _, args := range cmds {
		names = append(names, fmt.Sprint(args[0]))
	}
	if !slices.Equal(names, want) || n.n.Load() != int64(len(want)) {
		t.Fatalf("%s sent %d round trips %q, want %q", op, n.n.Load(), names, want)
	}
	n.reset()
	return cmds
}

// Put is one SET … PX … NX and Take one GETDEL, hit or miss.
func TestOneRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, st *redisstore.Store, c *redis.Client, n *counter) {
		ctx := t.Context()
		_, key := ticket.NewID()
		tk := sample("alice")
		val, _ := tk.MarshalBinary()

		if err := st.Put(ctx, key, tk, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		cmds := wantCommands(t, n, "Put", "set")
		want := []any{"set", redisstore.DefaultPrefix + key.String(), val, "px", int64(30000), "nx"}
		if got := cmds[0]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Put sent %q, want %q", got, want)
		}

		if err := st.Put(ctx, key, tk, 30*time.Second); !errors.Is(err, ticket.ErrKeyExists) {
			t.Fatalf("second Put: err = %v, want ErrKeyExists", err)
		}
		wantCommands(t, n, "refused Put", "set")

		if _, ok, err := st.Take(ctx, key); !ok || err != nil {
			t.Fatalf("Take = ok %v, err %v", ok, err)
		}
		cmds = wantCommands(t, n, "Take", "getdel")
		if got := cmds[0]; fmt.Sprint(got) != fmt.Sprint([]any{"getdel", redisstore.DefaultPrefix + key.String()}) {
			t.Fatalf("Take sent %q", got)
		}

		if _, ok, err := st.Take(ctx, key); ok || err != nil {
			t.Fatalf("second Take = ok %v, err %v; want false, nil", ok, err)
		}
		wantCommands(t, n, "missing Take", "getdel")
	})
}

// The TTL goes to Redis in milliseconds, rounded down, and Redis keeps it.
func TestPutTTL(t *testing.T) {
	backends(t, func(t *testing.T, st *redisstore.Store, c *redis.Client, n *counter) {
		for _, tc := range []struct {
			ttl  time.Duration
			want int64
		}{
			{time.Millisecond, 1},
			{1500 * time.Millisecond, 1500},
			{2*time.Second + 999*time.Microsecond, 2000},
			{time.Hour, 3_600_000},
		} {
			_, key := ticket.NewID()
			if err := st.Put(t.Context(), key, sample("alice"), tc.ttl); err != nil {
				t.Fatalf("Put(ttl %v): %v", tc.ttl, err)
			}
			cmds := wantCommands(t, n, "Put", "set")
			if got := cmds[0][4]; got != tc.want {
				t.Errorf("Put(ttl %v) sent PX %v, want %d", tc.ttl, got, tc.want)
			}
			if tc.ttl < time.Second {
				continue // may be gone already
			}
			pttl, err := c.PTTL(t.Context(), redisstore.DefaultPrefix+key.String()).Result()
			if err != nil {
				t.Fatal(err)
			}
			if pttl <= 0 || pttl > time.Duration(tc.want)*time.Millisecond {
				t.Errorf("Put(ttl %v): PTTL = %v", tc.ttl, pttl)
			}
			n.reset()
		}
	})
}

// A TTL Redis cannot hold is refused before anything is sent.
func TestPutShortTTL(t *testing.T) {
	st, m, n := newMini(t)
	for _, ttl := range []time.Duration{0, -time.Second, time.Millisecond - 1} {
		_, key := ticket.NewID()
		err := st.Put(t.Context(), key, sample("alice"), ttl)
		if err == nil {
			t.Errorf("Put(ttl %v): err = nil", ttl)
		}
		if errors.Is(err, ticket.ErrStoreUnavailable) || errors.Is(err, ticket.ErrKeyExists) {
			t.Errorf("Put(ttl %v): err = %v, want a plain usage error", ttl, err)
		}
	}
	if got := n.n.Load(); got != 0 {
		t.Errorf("%d commands sent for refused TTLs", got)
	}
	if keys := m.Keys(); len(keys) != 0 {
		t.Errorf("keys after refused Puts: %q", keys)
	}
}

// A done context fails both operations with its error, as unavailable, and
// nothing is sent.
func TestDoneContextSendsNothing(t *testing.T) {
	st, m, n := newMini(t)
	_, key := ticket.NewID()
	if err := st.Put(t.Context(), key, sample("alice"), time.Minute); err != nil {
		t.Fatal(err)
	}
	n.reset()

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancel()
	for name, c := range map[string]struct {
		ctx  context.Context
		want error
	}{
		"canceled": {canceled, context.Canceled},
		"expired":  {expired, context.DeadlineExceeded},
	} {
		_, other := ticket.NewID()
		err := st.Put(c.ctx, other, sample("bob"), time.Minute)
		if !errors.Is(err, c.want) || !errors.Is(err, ticket.ErrStoreUnavailable) {
			t.Errorf("%s: Put: err = %v, want %v and ErrStoreUnavailable", name, err, c.want)
		}
		_, ok, err := st.Take(c.ctx, key)
		if ok || !errors.Is(err, c.want) || !errors.Is(err, ticket.ErrStoreUnavailable) {
			t.Errorf("%s: Take: ok %v, err = %v, want %v and ErrStoreUnavailable", name, ok, err, c.want)
		}
	}
	if got := n.n.Load(); got != 0 {
		t.Errorf("%d commands sent with a done context", got)
	}
	if !m.Exists(redisstore.DefaultPrefix + key.String()) {
		t.Error("ticket consumed by a Take with a done context")
	}
}

// An error reply is unavailability, with the reply kept in the chain, and
// the store works again once Redis does.
func TestErrorReply(t *testing.T) {
	st, m, _ := newMini(t)
	_, key := ticket.NewID()
	m.SetError("ERR injected failure")

	err := st.Put(t.Context(), key, sample("alice"), time.Minute)
	var rerr redis.Error
	if !errors.Is(err, ticket.ErrStoreUnavailable) || !errors.As(err, &rerr) {
		t.Fatalf("Put: err = %v, want ErrStoreUnavailable wrapping a redis.Error", err)
	}
	_, ok, err := st.Take(t.Context(), key)
	if ok || !errors.Is(err, ticket.ErrStoreUnavailable) || !errors.As(err, &rerr) {
		t.Fatalf("Take: ok %v, err = %v, want ErrStoreUnavailable wrapping a redis.Error", ok, err)
	}

	m.SetError("")
	if err := st.Put(t.Context(), key, sample("alice"), time.Minute); err != nil {
		t.Fatalf("Put after recovery: %v", err)
	}
	if _, ok, err := st.Take(t.Context(), key); !ok || err != nil {
		t.Fatalf("Take after recovery: ok %v, err %v", ok, err)
	}
}

// A value that does not decode fails closed, and is gone.
func TestCorruptValue(t *testing.T) {
	st, m, _ := newMini(t)
	_, key := ticket.NewID()
	rkey := redisstore.DefaultPrefix + key.String()
	m.Set(rkey, "not a ticket")
	tk, ok, err := st.Take(t.Context(), key)
	if ok || tk.Subject != "" || !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Fatalf("Take = %+v, ok %v, err %v; want ErrStoreUnavailable", tk, ok, err)
	}
	if m.Exists(rkey) {
		t.Fatal("corrupt value left in place")
	}
}

var keyPattern = regexp.MustCompile(`^wsauth:ticket:[0-9a-f]{64}$`)

// Keys are the prefix and the hex SHA-256 of the ID; Options are copied.
func TestPrefix(t *testing.T) {
	m := miniredis.RunT(t)
	c := newClient(t, m.Addr())
	ctx := t.Context()

	_, k1 := ticket.NewID()
	if err := redisstore.New(c, nil).Put(ctx, k1, sample("a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	opts := &redisstore.Options{}
	if err := redisstore.New(c, opts).Put(ctx, k1, sample("a"), time.Minute); !errors.Is(err, ticket.ErrKeyExists) {
		t.Fatalf("empty Prefix is not the default: err = %v", err)
	}
	if opts.Prefix != "" {
		t.Fatalf("New changed its options to %+v", *opts)
	}
	custom := redisstore.New(c, &redisstore.Options{Prefix: "app2:"})
	if err := custom.Put(ctx, k1, sample("b"), time.Minute); err != nil {
		t.Fatalf("same key under another prefix: %v", err)
	}
	keys := m.Keys()
	slices.Sort(keys)
	want := []string{"app2:" + k1.String(), "wsauth:ticket:" + k1.String()}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys = %q, want %q", keys, want)
	}
	if !keyPattern.MatchString(keys[1]) {
		t.Fatalf("key %q does not match %v", keys[1], keyPattern)
	}
	if tk, ok, err := custom.Take(ctx, k1); !ok || err != nil || tk.Subject != "b" {
		t.Fatalf("Take under custom prefix = %+v, %v, %v", tk, ok, err)
	}
}
