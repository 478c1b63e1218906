package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// MasterName is the name under which the Sentinel of [StartSentinel]
// monitors its primary, for redis.FailoverOptions.MasterName.
const MasterName = "redistest"

// failoverTimeout bounds a Failover; the Sentinel's own failover-timeout.
const failoverTimeout = 10 * time.Second

// Sentinel is a primary, one replica of it, and one Redis Sentinel
// monitoring them, started by [StartSentinel].
type Sentinel struct {
	// Addr is the Sentinel's address, for
	// redis.FailoverOptions.SentinelAddrs.
	Addr string

	t        testing.TB
	sentinel *Server

	mu      sync.Mutex
	servers [2]*Server
	primary int // index in servers; the other is the replica
}

// StartSentinel starts a primary and a replica of it on free loopback
// ports, then a Sentinel monitoring them (quorum 1), and returns once the
// replica is in sync and the Sentinel could promote it: well under a
// second. Nothing is kept on disk but the Sentinel's configuration, in its
// temporary directory; all three are stopped when t ends. The Sentinel's
// down-after-milliseconds is the default 30 s, so it fails over only when
// asked (Failover) in a short test. Without redis-server, StartSentinel
// skips or fails t like Start.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	primary := Start(t)
	if primary == nil {
		return nil
	}
	replica := launch(t, func(s *Server) ([]string, error) {
		return append(s.baseArgs(), "--replicaof", "127.0.0.1", strconv.Itoa(primary.port)), nil
	})
	if replica == nil {
		return nil
	}
	s := &Sentinel{t: t, servers: [2]*Server{primary, replica}}
	if err := waitReplica(replica); err != nil {
		t.Fatalf("redistest: sentinel: %v", err)
		return nil
	}
	s.sentinel = launch(t, func(srv *Server) ([]string, error) {
		conf := filepath.Join(srv.dir, "sentinel.conf") // Sentinel rewrites it
		body := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\nsentinel failover-timeout %[1]s %[3]d\n",
			MasterName, primary.port, failoverTimeout.Milliseconds())
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, err
		}
		return append([]string{conf, "--sentinel"}, srv.baseArgs()...), nil
	})
	if s.sentinel == nil {
		return nil
	}
	s.Addr = s.sentinel.Addr
	if err := s.waitReady(); err != nil {
		t.Fatalf("redistest: sentinel: %v", err)
		return nil
	}
	return s
}

// Primary returns the server that is the primary now.
func (s *Sentinel) Primary() *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.servers[s.primary]
}

// Replica returns the server that is the replica now.
func (s *Sentinel) Replica() *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.servers[1-s.primary]
}

// Failover has the Sentinel promote the replica (SENTINEL FAILOVER), and
// returns once the Sentinel names it the primary and the old primary
// replicates from it: after Failover, Primary and Replica have swapped.
// The Sentinel itself would turn the old primary into a replica some ten
// seconds later (+convert-to-slave); Failover does it at once, the way the
// Sentinel does: REPLICAOF, and CLIENT KILL of its normal and Pub/Sub
// clients, which then find the new primary. The data is the replica's:
// what it had not received is lost. Failover fails the test if any step
// does not happen in time, so call it from the goroutine running the test.
func (s *Sentinel) Failover() {
	s.t.Helper()
	if err := s.failover(); err != nil {
		s.t.Fatalf("redistest: failover: %v", err)
	}
}

func (s *Sentinel) failover() error {
	if err := s.waitReady(); err != nil {
		return err
	}
	old, next := s.Primary(), s.Replica()
	// The Sentinel refuses (NOGOODSLAVE, doing nothing) until it judges
	// the replica fit, by rules waitReady can only approach (its link to
	// a replica killed by the last Failover comes back within a second,
	// for one): ask again.
	err := poll(failoverTimeout, func() error {
		_, err := do(s.Addr, "SENTINEL", "FAILOVER", MasterName)
		if err != nil {
			v, _ := do(s.Addr, "SENTINEL", "REPLICAS", MasterName)
			err = fmt.Errorf("SENTINEL FAILOVER: %w (replicas: %v)", err, v)
		}
		return err
	})
	if err != nil {
		return err
	}
	err = poll(failoverTimeout, func() error {
		addr, err := s.masterAddr()
		if err == nil && addr != next.Addr {
			err = fmt.Errorf("the sentinel names %s the primary", addr)
		}
		return err
	})
	if err != nil {
		return err
	}
	c, err := dial(old.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, cmd := range [][]string{
		{"MULTI"},
		{"REPLICAOF", "127.0.0.1", strconv.Itoa(next.port)},
		{"CLIENT", "KILL", "TYPE", "normal"}, // not this connection: SKIPME yes
		{"CLIENT", "KILL", "TYPE", "pubsub"},
		{"EXEC"},
	} {
		if _, err := c.do(cmd...); err != nil {
			return fmt.Errorf("%s: %v: %w", old.Addr, cmd, err)
		}
	}
	if err := waitReplica(old); err != nil {
		return err
	}
	s.mu.Lock()
	s.primary = 1 - s.primary
	s.mu.Unlock()
	return nil
}

// masterAddr asks the Sentinel which server is the primary.
func (s *Sentinel) masterAddr() (string, error) {
	v, err := do(s.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName)
	if err != nil {
		return "", err
	}
	hp, _ := v.([]any)
	if len(hp) != 2 {
		return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME answered %v", v)
	}
	host, _ := hp[0].(string)
	port, _ := hp[1].(string)
	return host + ":" + port, nil
}

// waitReady waits until the Sentinel names the primary and would pick the
// replica to promote: it sees the replica up and has its INFO (the
// Sentinel skips replicas whose INFO is older than three INFO periods).
func (s *Sentinel) waitReady() error {
	primary, replica := s.Primary(), s.Replica()
	return poll(startTimeout, func() error {
		addr, err := s.masterAddr()
		if err != nil {
			return err
		}
		if addr != primary.Addr {
			return fmt.Errorf("the sentinel names %s the primary, not %s", addr, primary.Addr)
		}
		v, err := do(s.Addr, "SENTINEL", "REPLICAS", MasterName)
		if err != nil {
			return err
		}
		vs, _ := v.([]any)
		for _, r := range vs {
			f := pairs(r)
			if f["name"] != replica.Addr {
				continue
			}
			refresh, _ := strconv.Atoi(f["info-refresh"])
			if f["flags"] != "slave" || refresh > 30000 {
				return fmt.Errorf("the sentinel sees replica %s with flags %q, INFO %sms old", replica.Addr, f["flags"], f["info-refresh"])
			}
			return nil
		}
		return fmt.Errorf("the sentinel does not know replica %s yet", replica.Addr)
	})
}

// waitReplica waits until r is a replica in sync with its primary, and
// acknowledging its writes: a write (PUBLISH, which replicates without
// touching the data) and WAIT 1 on one connection, until WAIT sees it. A
// primary streams commands to a freshly synced replica only after its
// first acknowledgement, a moment after the replica reports itself up.
func waitReplica(r *Server) error {
	return poll(startTimeout, func() error {
		f, err := info(r.Addr, "replication")
		if err != nil {
			return err
		}
		if f["role"] != "slave" || f["master_link_status"] != "up" || f["master_sync_in_progress"] != "0" {
			return fmt.Errorf("replica %s: role:%s, master_link_status:%s, master_sync_in_progress:%s",
				r.Addr, f["role"], f["master_link_status"], f["master_sync_in_progress"])
		}
		c, err := dial(f["master_host"] + ":" + f["master_port"])
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.do("PUBLISH", "redistest:sync", ""); err != nil {
			return err
		}
		if n, err := c.do("WAIT", "1", "100"); err != nil || n != int64(1) {
			return fmt.Errorf("replica %s: WAIT 1 = %v, %v", r.Addr, n, err)
		}
		return nil
	})
}
