package tickettest

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// refStore is the simplest correct store: one mutex, one map. Its flaws,
// switched on one at a time, are the bugs the suite must catch.
type refStore struct {
	now  func() time.Time
	flaw string

	mu sync.Mutex
	m  map[[32]byte]refEntry
}

type refEntry struct {
	t        ticket.Ticket
	deadline time.Time
}

func newRefStore(now func() time.Time, flaw string) *refStore {
	return &refStore{now: now, flaw: flaw, m: make(map[[32]byte]refEntry)}
}

func (s *refStore) mapKey(k ticket.Key) [32]byte {
	if s.flaw == "KeyPrefix" {
		clear(k[16:])
	}
	return k
}

func (s *refStore) Put(ctx context.Context, k ticket.Key, t ticket.Ticket, ttl time.Duration) error {
	if err := ctx.Err(); err != nil && s.flaw != "PutIgnoresContext" {
		return err
	}
	now := s.now()
	if s.flaw == "TruncatesTimes" {
		t.IssuedAt = t.IssuedAt.Truncate(time.Second)
	}
	if s.flaw == "DropsMetadata" && len(t.Metadata) > 100 {
		t.Metadata = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := s.mapKey(k)
	if e, ok := s.m[mk]; ok && now.Before(e.deadline) && s.flaw != "Overwrites" {
		if s.flaw == "RefreshesTTL" {
			e.deadline = now.Add(ttl)
			s.m[mk] = e
		}
		return ticket.ErrKeyExists
	}
	s.m[mk] = refEntry{t: t, deadline: now.Add(ttl)}
	return nil
}

func (s *refStore) Take(ctx context.Context, k ticket.Key) (ticket.Ticket, bool, error) {
	if err := ctx.Err(); err != nil && s.flaw != "TakeConsumesOnError" {
		return ticket.Ticket{}, false, err
	}
	now := s.now()
	if s.flaw == "NonAtomicTake" {
		s.mu.Lock()
		e, ok := s.m[k]
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
		delete(s.m, k)
		s.mu.Unlock()
		return e.t, ok && now.Before(e.deadline), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := s.mapKey(k)
	e, ok := s.m[mk]
	if s.flaw != "TakeKeeps" {
		delete(s.m, mk)
	}
	if err := ctx.Err(); err != nil {
		return ticket.Ticket{}, false, err
	}
	if !ok || (!now.Before(e.deadline) && s.flaw != "IgnoresTTL") {
		return ticket.Ticket{}, false, nil
	}
	return e.t, true, nil
}

// TestRefStore runs the suite against the reference store, which passes;
// TestSuiteCatches runs it again in a child process with a flaw put in.
func TestRefStore(t *testing.T) {
	flaw := os.Getenv(brokenEnv)
	TestStore(t, Harness{NewStore: func(t *testing.T, clock *Clock) ticket.Store {
		return newRefStore(clock.Now, flaw)
	}})
}

func TestRefStoreRealTime(t *testing.T) {
	TestStore(t, Harness{
		NewStore: func(t *testing.T, clock *Clock) ticket.Store {
			return newRefStore(time.Now, "")
		},
		RealTime: true,
	})
}

// brokenEnv names the flaw TestRefStore puts in the reference store, in a
// child process started by TestSuiteCatches.
const brokenEnv = "TICKETTEST_FLAW"

// TestSuiteCatches runs the suite against stores with one bug each and
// checks that the subtest meant to catch it fails.
func TestSuiteCatches(t *testing.T) {
	catches(t, "TestRefStore", map[string]string{
		"Overwrites":          "KeyExists",
		"RefreshesTTL":        "KeyExists",
		"IgnoresTTL":          "TTL",
		"TakeKeeps":           "RoundTrip",
		"PutIgnoresContext":   "CanceledContext",
		"TakeConsumesOnError": "CanceledContext",
		"TruncatesTimes":      "RoundTrip",
		"DropsMetadata":       "LargeMetadata",
		"KeyPrefix":           "Independence",
		"NonAtomicTake":       "TakeOnce",
	})
}

// catches runs ref, a test of the suite against the reference store, in a
// child process once per flaw of flaws, and checks that the child fails
// and that the subtest named for the flaw is among its failures.
func catches(t *testing.T, ref string, flaws map[string]string) {
	for flaw, subtest := range flaws {
		t.Run(flaw, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+ref+"$", "-test.short", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+flaw)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a reference whose flaw is %s", flaw)
			}
			if want := "--- FAIL: " + ref + "/" + subtest + " "; !strings.Contains(string(out), want) {
				t.Fatalf("subtest %s did not fail; output:\n%s", subtest, out)
			}
		})
	}
}
