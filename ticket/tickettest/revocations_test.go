package tickettest

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// refRevocations is the simplest correct ticket.Revocations: one mutex,
// two maps. Its flaws, switched on one at a time, are the bugs
// TestRevocations must catch.
type refRevocations struct {
	*refStore
	lifetime time.Duration

	mu       sync.Mutex
	since    time.Time
	ids      map[ticket.Key]time.Time // until
	subjects map[string]time.Time     // the latest revocation
}

func newRefRevocations(now func() time.Time, flaw string) *refRevocations {
	r := &refRevocations{refStore: newRefStore(now, flaw), lifetime: ticket.DefaultRevocationLifetime}
	r.wipe()
	r.since = now()
	return r
}

// wipe loses everything, as a flushed server would.
func (r *refRevocations) wipe() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = make(map[ticket.Key]time.Time)
	r.subjects = make(map[string]time.Time)
	if r.flaw != "NeverReportsLoss" {
		r.since = r.now()
	}
}

func (r *refRevocations) idKey(k ticket.Key) ticket.Key {
	if r.flaw == "KeyPrefix" {
		clear(k[16:])
	}
	return k
}

func (r *refRevocations) subjectKey(s string) string {
	if r.flaw == "FoldsCase" {
		return strings.ToLower(s)
	}
	return s
}

func (r *refRevocations) RevokeID(ctx context.Context, k ticket.Key, until time.Time) error {
	if err := ctx.Err(); err != nil && r.flaw != "RevokeIgnoresContext" {
		return err
	}
	if !r.now().Before(until) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k = r.idKey(k)
	if cur, ok := r.ids[k]; !ok || until.After(cur) || r.flaw == "ShortensID" {
		r.ids[k] = until
	}
	return nil
}

func (r *refRevocations) RevokeSubject(ctx context.Context, subject string, at time.Time) error {
	if err := ctx.Err(); err != nil && r.flaw != "RevokeIgnoresContext" {
		return err
	}
	if subject == "" {
		return errors.New("empty subject")
	}
	switch r.flaw {
	case "TruncatesSubjectTime":
		at = at.Truncate(time.Second)
	case "SubjectTimeIsNow":
		at = r.now()
	}
	if !r.now().Before(at.Add(r.lifetime)) && r.flaw != "SubjectForever" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	subject = r.subjectKey(subject)
	if cur, ok := r.subjects[subject]; !ok || at.After(cur) || r.flaw == "SubjectKeepsLast" {
		r.subjects[subject] = at
	}
	return nil
}

func (r *refRevocations) Check(ctx context.Context, keys [2]ticket.Key, subject string) (ticket.Status, error) {
	if err := ctx.Err(); err != nil {
		return ticket.Status{}, err
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := ticket.Status{Since: r.since}
	if r.flaw == "SinceIsNow" {
		st.Since = now
	}
	if r.flaw == "NonAtomicCheck" {
		r.mu.Unlock()
		runtime.Gosched()
		r.mu.Lock()
	}
	for i, k := range keys {
		if k == (ticket.Key{}) || i == 1 && r.flaw == "IgnoresSecondID" {
			continue
		}
		if until, ok := r.ids[r.idKey(k)]; ok && (now.Before(until) || r.flaw == "IDNeverLapses") {
			st.Denied = true
		}
	}
	if subject != "" {
		at, ok := r.subjects[r.subjectKey(subject)]
		if ok && (now.Before(at.Add(r.lifetime)) || r.flaw == "SubjectForever") && r.flaw != "SubjectForgetsTime" {
			st.SubjectRevoked = at
		}
	}
	return st, nil
}

// TestRefRevocations runs the suite against the reference, which passes;
// TestRevocationsSuiteCatches runs it again in a child process with a flaw
// put in.
func TestRefRevocations(t *testing.T) {
	flaw := os.Getenv(brokenEnv)
	TestRevocations(t, Harness{
		NewStore: func(t *testing.T, clock *Clock) ticket.Store {
			return newRefRevocations(clock.Now, flaw)
		},
		Wipe: func(t *testing.T, _ *Clock, s ticket.Store) ticket.Store {
			s.(*refRevocations).wipe()
			return s
		},
	})
}

func TestRefRevocationsRealTime(t *testing.T) {
	TestRevocations(t, Harness{
		NewStore: func(t *testing.T, _ *Clock) ticket.Store { return newRefRevocations(time.Now, "") },
		Wipe: func(t *testing.T, _ *Clock, s ticket.Store) ticket.Store {
			s.(*refRevocations).wipe()
			return s
		},
		RealTime: true,
	})
}

// TestRevocationsSuiteCatches runs the suite against references with one
// bug each and checks that the subtest meant to catch it fails.
func TestRevocationsSuiteCatches(t *testing.T) {
	catches(t, "TestRefRevocations", map[string]string{
		"NeverReportsLoss":     "Wipe",
		"NonAtomicCheck":       "AtomicCheck",
		"SinceIsNow":           "Since",
		"SubjectForgetsTime":   "Subject",
		"SubjectTimeIsNow":     "Subject",
		"TruncatesSubjectTime": "Subject",
		"FoldsCase":            "Subject",
		"SubjectKeepsLast":     "SubjectLatest",
		"SubjectForever":       "SubjectLifetime",
		"IDNeverLapses":        "Lapse",
		"ShortensID":           "KeepsLater",
		"KeyPrefix":            "Denied",
		"IgnoresSecondID":      "SecondID",
		"RevokeIgnoresContext": "CanceledContext",
	})
}
