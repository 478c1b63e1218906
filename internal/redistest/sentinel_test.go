package redistest

import (
	"testing"
	"time"
)

func TestSentinel(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := StartSentinel(t)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("StartSentinel took %v", d)
	}
	wantRoles(t, s)
	// Replicated before the failover: the replica has what WAIT saw.
	c, err := dial(s.Primary().Addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.do("SET", "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if n, err := c.do("WAIT", "1", "900"); err != nil || n != int64(1) {
		t.Fatalf("WAIT 1 = %v, %v; want the replica", n, err)
	}
	c.Close()
	for round := range 2 {
		old := s.Primary()
		start := time.Now()
		s.Failover()
		t.Logf("failover %d took %v", round, time.Since(start))
		if s.Primary() == old || s.Replica() != old {
			t.Fatalf("failover %d: Primary and Replica did not swap", round)
		}
		wantRoles(t, s)
		// What was written before the failover is on the new primary,
		// which takes writes, and they reach the new replica.
		if v, err := do(s.Primary().Addr, "GET", "k"); err != nil || v != "v1" {
			t.Fatalf("failover %d: GET k on the new primary = %v, %v", round, v, err)
		}
		if _, err := do(s.Primary().Addr, "SET", "k2", "v2"); err != nil {
			t.Fatalf("failover %d: SET on the new primary: %v", round, err)
		}
		err := poll(5*time.Second, func() error {
			v, err := do(s.Replica().Addr, "GET", "k2")
			if err == nil && v != "v2" {
				return errTimeout
			}
			return err
		})
		if err != nil {
			t.Fatalf("failover %d: the write did not reach the replica: %v", round, err)
		}
	}
}

// wantRoles checks that the servers and the Sentinel agree on who is the
// primary, and that the replica is in sync.
func wantRoles(t *testing.T, s *Sentinel) {
	t.Helper()
	if addr, err := s.masterAddr(); err != nil || addr != s.Primary().Addr {
		t.Fatalf("the sentinel names %q (%v) the primary, want %s", addr, err, s.Primary().Addr)
	}
	p, err := info(s.Primary().Addr, "replication")
	if err != nil || p["role"] != "master" || p["connected_slaves"] != "1" {
		t.Fatalf("primary: role:%s connected_slaves:%s (%v)", p["role"], p["connected_slaves"], err)
	}
	if err := waitReplica(s.Replica()); err != nil {
		t.Fatal(err)
	}
}

// A paused server answers nothing, a resumed one answers again, and one
// left paused is still shut down promptly when its test ends.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("inner", func(t *testing.T) {
		s := Start(t)
		addr = s.Addr
		s.Pause()
		if _, err := probe(s.Addr); err == nil {
			t.Fatal("a paused server answers")
		}
		s.Resume()
		if _, err := probe(s.Addr); err != nil {
			t.Fatalf("a resumed server does not answer: %v", err)
		}
		s.Pause()
	})
	if addr == "" {
		t.Skip("inner test skipped")
	}
	if _, err := probe(addr); err == nil {
		t.Fatalf("server on %s still answers after its test ended", addr)
	}
}
