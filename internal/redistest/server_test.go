package redistest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wsauth/wsauth/internal/testmain"
)

func TestMain(m *testing.M) {
	testmain.Parallel(8) // the parallel tests wait on their redis-servers
	testmain.Run(m)
}

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	pid, err := probe(s.Addr)
	if err != nil {
		t.Fatalf("probe after Start: %v", err)
	}
	if got := s.CLI("PING"); got != "PONG\n" {
		t.Fatalf("redis-cli PING = %q", got)
	}
	s.CLI("SET", "k", "v")

	addr := s.Addr
	s.Stop()
	if _, err := probe(s.Addr); err == nil {
		t.Fatal("server answers after Stop")
	}
	s.Stop() // stopping a stopped server is a no-op

	s.Restart()
	if s.Addr != addr {
		t.Fatalf("Addr changed across Restart: %s, was %s", s.Addr, addr)
	}
	pid2, err := probe(s.Addr)
	if err != nil {
		t.Fatalf("probe after Restart: %v", err)
	}
	if pid2 == pid {
		t.Fatalf("same pid %d after Restart", pid)
	}
	if got := s.CLI("GET", "k"); got != "\n" {
		t.Fatalf("GET k after Restart = %q, want nothing (no persistence)", got)
	}
	s.Restart() // restarting a running server replaces it
	if _, err := probe(s.Addr); err != nil {
		t.Fatalf("probe after second Restart: %v", err)
	}
}

func TestNoPersistence(t *testing.T) {
	s := Start(t)
	for param, want := range map[string]string{
		"save":       "save\n\n",
		"appendonly": "appendonly\nno\n",
		"bind":       "bind\n127.0.0.1\n",
		"dir":        "dir\n" + s.dir + "\n",
	} {
		if got := s.CLI("CONFIG", "GET", param); got != want {
			t.Errorf("CONFIG GET %s = %q, want %q", param, got, want)
		}
	}
}

// When the test ends, its server is gone.
func TestCleanupStops(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		addr = Start(t).Addr
	})
	if addr == "" {
		t.Skip("inner test skipped")
	}
	if _, err := probe(addr); err == nil {
		t.Fatalf("server on %s still answers after its test ended", addr)
	}
}

// Several servers at once get their own ports.
func TestParallelServers(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		s := Start(t)
		if seen[s.Addr] {
			t.Fatalf("address %s handed out twice", s.Addr)
		}
		seen[s.Addr] = true
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Skip(args ...any) { r.skipped = fmt.Sprint(args...) }

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestMissingServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for name, start := range map[string]func(testing.TB) bool{
		"Start":         func(t testing.TB) bool { return Start(t) != nil },
		"StartCluster":  func(t testing.TB) bool { return StartCluster(t) != nil },
		"StartSentinel": func(t testing.TB) bool { return StartSentinel(t) != nil },
	} {
		t.Setenv(RequireEnv, "")
		r := &recorder{TB: t}
		if start(r) || r.failed != "" {
			t.Fatalf("%s: started, or failed %q; want a skip", name, r.failed)
		}
		if !strings.Contains(r.skipped, "redis-server not installed: apt-get install redis-server") {
			t.Fatalf("%s: skip message %q", name, r.skipped)
		}

		t.Setenv(RequireEnv, "1")
		r = &recorder{TB: t}
		if start(r) || r.skipped != "" {
			t.Fatalf("%s: started, or skipped %q; want a failure", name, r.skipped)
		}
		if !strings.Contains(r.failed, "redis-server not installed") || !strings.Contains(r.failed, RequireEnv) {
			t.Fatalf("%s: failure message %q", name, r.failed)
		}
	}
}
