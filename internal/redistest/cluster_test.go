package redistest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCluster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := StartCluster(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("StartCluster took %v", d)
	}
	if len(c.Nodes) != clusterSize || len(c.Addrs()) != clusterSize {
		t.Fatalf("%d nodes, %d addresses; want %d", len(c.Nodes), len(c.Addrs()), clusterSize)
	}
	// Each node serves its third of the slots, and every node knows it.
	for _, n := range c.Nodes {
		v, err := do(n.Addr, "CLUSTER", "SLOTS")
		if err != nil {
			t.Fatal(err)
		}
		ranges, _ := v.([]any)
		if len(ranges) != clusterSize {
			t.Fatalf("%s: CLUSTER SLOTS has %d ranges, want %d: %v", n.Addr, len(ranges), clusterSize, v)
		}
		for _, r := range ranges {
			r := r.([]any)
			lo, hi, node := r[0].(int64), r[1].(int64), r[2].([]any)
			i := 0
			for i < clusterSize-1 && int(lo) >= (i+1)*clusterSlots/clusterSize {
				i++
			}
			want := c.Nodes[i]
			if int(lo) != i*clusterSlots/clusterSize || int(hi) != (i+1)*clusterSlots/clusterSize-1 ||
				node[0] != "127.0.0.1" || node[1] != int64(want.port) {
				t.Errorf("%s: slots %d-%d served by %v, want %s", n.Addr, lo, hi, node, want.Addr)
			}
		}
	}
	// A key is served by exactly one node; the others redirect to it.
	for i := range 10 {
		key := fmt.Sprintf("key-%d", i)
		served := 0
		for _, n := range c.Nodes {
			_, err := do(n.Addr, "SET", key, "v")
			var re replyError
			switch {
			case err == nil:
				served++
			case errors.As(err, &re) && strings.HasPrefix(string(re), "MOVED "):
			default:
				t.Fatalf("%s: SET %s: %v", n.Addr, key, err)
			}
		}
		if served != 1 {
			t.Errorf("%s served by %d nodes, want 1", key, served)
		}
	}
	for _, n := range c.Nodes {
		for param, want := range map[string]string{"save": "", "appendonly": "no", "cluster-enabled": "yes"} {
			v, err := do(n.Addr, "CONFIG", "GET", param)
			if err != nil {
				t.Fatal(err)
			}
			if got := pairs(v)[param]; got != want {
				t.Errorf("%s: CONFIG GET %s = %q, want %q", n.Addr, param, got, want)
			}
		}
	}
}
