package redisstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

// On a real Redis Cluster of three primaries: the store and revocation
// suites, the Bus, the two-node race, and where the keys land.
func TestCluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t)
	newCluster := func(t *testing.T) redis.UniversalClient {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
		t.Cleanup(func() { c.Close() })
		return c
	}
	admin := newCluster(t).(*redis.ClusterClient)
	onEach := func(t *testing.T, what string, fn func(ctx context.Context, c *redis.Client) error) {
		t.Helper()
		if err := admin.ForEachMaster(t.Context(), fn); err != nil {
			t.Fatalf("%s on every primary: %v", what, err)
		}
	}
	h := realHarness(newCluster, func(t *testing.T) {
		onEach(t, "FLUSHALL", func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() })
	})

	t.Run("Store", func(t *testing.T) { tickettest.TestStore(t, h) })
	t.Run("Revocations", func(t *testing.T) { tickettest.TestRevocations(t, h) })
	t.Run("Bus", func(t *testing.T) { testBus(t, newCluster, false) })
	t.Run("BusCatchUp", func(t *testing.T) {
		testBusCatchUp(t, newCluster, func(t *testing.T) {
			onEach(t, "CLIENT KILL TYPE pubsub", func(ctx context.Context, c *redis.Client) error {
				return c.ClientKillByFilter(ctx, "TYPE", "pubsub").Err()
			})
		}, 2)
	})
	t.Run("TwoNodes", func(t *testing.T) {
		testTwoNodes(t, redisstore.New(newCluster(t), nil), redisstore.New(newCluster(t), nil))
	})
	t.Run("Layout", func(t *testing.T) { testClusterLayout(t, newCluster(t).(*redis.ClusterClient), onEach) })
}

// Revocation keys share one slot, so Check is one command, while tickets
// spread over the primaries.
func testClusterLayout(t *testing.T, c *redis.ClusterClient, onEach func(*testing.T, string, func(context.Context, *redis.Client) error)) {
	ctx := t.Context()
	n := &counter{keep: true}
	c.AddHook(n)
	st := redisstore.New(c, nil)
	k := ticket.DenyKey("jti-cluster")
	if err := st.RevokeID(ctx, k, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeSubject(ctx, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Check(ctx, [2]ticket.Key{k}, "alice"); err != nil { // loads the script
		t.Fatal(err)
	}
	n.reset()
	s, err := st.Check(ctx, [2]ticket.Key{k}, "alice")
	if err != nil || !s.Denied || s.SubjectRevoked.IsZero() {
		t.Fatalf("Check = %+v, %v", s, err)
	}
	wantCommands(t, n, "Check", "evalsha")

	for range 30 {
		_, key := ticket.NewID()
		if err := st.Put(ctx, key, sample("alice"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex // ForEachMaster runs on the primaries at once
	slots := map[int64]bool{}
	nodesWithTickets := 0
	onEach(t, "KEYS", func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, "*").Result()
		if err != nil {
			return err
		}
		tickets := 0
		for _, key := range keys {
			if !strings.Contains(key, "{revocations}") {
				tickets++
				continue
			}
			slot, err := node.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			slots[slot] = true
			mu.Unlock()
		}
		if tickets > 0 {
			mu.Lock()
			nodesWithTickets++
			mu.Unlock()
		}
		return nil
	})
	if len(slots) != 1 {
		t.Errorf("revocation keys in %d slots, want 1", len(slots))
	}
	if nodesWithTickets < 2 {
		t.Errorf("30 tickets on %d primaries, want them spread", nodesWithTickets)
	}
}
