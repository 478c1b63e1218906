package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

const (
	clusterSize  = 3     // primaries of a Cluster
	clusterSlots = 16384 // hash slots of any Redis Cluster
)

// Cluster is a Redis Cluster of three primaries, without replicas, started
// by [StartCluster].
type Cluster struct {
	// Nodes are the primaries, in the order of the slots they serve: a
	// third of them each, from slot 0 up.
	Nodes []*Server

	bus []int // the nodes' cluster bus ports
}

// StartCluster starts three redis-servers in cluster mode on free loopback
// ports (the cluster bus too), gives each a third of the slots, joins them
// and returns once every node reports the cluster ok: about two seconds,
// which Redis makes a freshly started primary wait before it serves. The
// nodes keep nothing on disk but their cluster configuration, in their
// temporary directories, and are stopped when t ends. Without redis-server,
// StartCluster skips or fails t like Start.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{bus: make([]int, clusterSize)}
	for i := range clusterSize {
		n := launch(t, func(s *Server) ([]string, error) {
			bus, err := freePort()
			if err != nil {
				return nil, fmt.Errorf("pick a cluster bus port: %w", err)
			}
			c.bus[i] = bus
			conf := filepath.Join(s.dir, "nodes.conf")
			os.Remove(conf) // left by an attempt on a port that was taken
			return append(s.baseArgs(),
				"--cluster-enabled", "yes",
				"--cluster-config-file", conf,
				"--cluster-port", strconv.Itoa(bus),
			), nil
		})
		if n == nil {
			return nil
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := c.form(); err != nil {
		t.Fatalf("redistest: form the cluster: %v", err)
		return nil
	}
	return c
}

// Addrs returns the nodes' addresses, for redis.ClusterOptions.Addrs.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// form assigns the slots, introduces the nodes to each other and waits
// until each sees the whole cluster.
func (c *Cluster) form() error {
	n := len(c.Nodes)
	for i, node := range c.Nodes {
		lo, hi := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if _, err := do(node.Addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE: %w", node.Addr, err)
		}
		// Distinct epochs spare the nodes resolving a collision first.
		if _, err := do(node.Addr, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return fmt.Errorf("%s: CLUSTER SET-CONFIG-EPOCH: %w", node.Addr, err)
		}
	}
	// Every pair meets directly, rather than through gossip: the nodes
	// agree sooner, with no step left to a later ping.
	for i, a := range c.Nodes {
		for j, b := range c.Nodes[i+1:] {
			_, err := do(a.Addr, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(b.port), strconv.Itoa(c.bus[i+1+j]))
			if err != nil {
				return fmt.Errorf("%s: CLUSTER MEET %s: %w", a.Addr, b.Addr, err)
			}
		}
	}
	err := poll(startTimeout, func() error {
		for _, node := range c.Nodes {
			v, err := do(node.Addr, "CLUSTER", "INFO")
			if err != nil {
				return err
			}
			s, _ := v.(string)
			f := fields(s)
			if f["cluster_state"] != "ok" || f["cluster_known_nodes"] != strconv.Itoa(n) ||
				f["cluster_slots_ok"] != strconv.Itoa(clusterSlots) {
				return fmt.Errorf("%s: cluster_state:%s, cluster_known_nodes:%s, cluster_slots_ok:%s",
					node.Addr, f["cluster_state"], f["cluster_known_nodes"], f["cluster_slots_ok"])
			}
		}
		return nil
	})
	if err != nil {
		// What each node believes, to tell why they did not agree.
		for _, node := range c.Nodes {
			v, _ := do(node.Addr, "CLUSTER", "NODES")
			err = fmt.Errorf("%w\nCLUSTER NODES on %s:\n%v", err, node.Addr, v)
		}
	}
	return err
}
