package redisstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

// Against miniredis, whose clock follows the fake one; a wipe is its
// FLUSHALL.
func TestRevocationsMiniredis(t *testing.T) {
	t.Parallel()               // a server of its own
	var m *miniredis.Miniredis // of the current subtest: they run one at a time
	tickettest.TestRevocations(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			m = miniredis.RunT(t)
			followClock(m, clock)
			return redisstore.New(newClient(t, m.Addr()), &redisstore.Options{Now: clock.Now})
		},
		Wipe: func(t *testing.T, _ *tickettest.Clock, s ticket.Store) ticket.Store {
			m.FlushAll()
			return s
		},
	})
}

// Against a real redis-server, emptied by FLUSHALL for each subtest and
// for each wipe.
func TestRevocationsRedis(t *testing.T) {
	t.Parallel() // a server of its own
	srv := redistest.Start(t)
	admin := newClient(t, srv.Addr)
	tickettest.TestRevocations(t, realHarness(
		func(t *testing.T) redis.UniversalClient { return newClient(t, srv.Addr) },
		func(t *testing.T) {
			if err := admin.FlushAll(t.Context()).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
		},
	))
}

// The revocation keys: the prefix, one hash tag, and hashes only.
var revocationKeyPattern = regexp.MustCompile(`^wsauth:ticket:\{revocations\}:(since|run|id:[0-9a-f]{64}|sub:[0-9a-f]{64})$`)

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Each operation is one script (EVALSHA; EVAL the first time a server
// sees it), on keys that hold only hashes; without replicas, no WAIT.
func TestRevocationCommands(t *testing.T) {
	backends(t, func(t *testing.T, st *redisstore.Store, c *redis.Client, n *counter) {
		ctx := t.Context()
		const jti, subject = "jti-secret", "alice@example.com"
		k := ticket.DenyKey(jti)
		tag := redisstore.DefaultPrefix + "{revocations}:"
		marker, runKey, idKey, subKey := tag+"since", tag+"run", tag+"id:"+k.String(), tag+"sub:"+sha256Hex(subject)
		var sent [][]any // every command of the store's
		wantCommands := func(t *testing.T, n *counter, op string, want ...string) [][]any {
			t.Helper()
			cmds := wantCommands(t, n, op, want...)
			sent = append(sent, cmds...)
			return cmds
		}

		before := time.Now()
		if _, err := st.Check(ctx, [2]ticket.Key{k}, subject); err != nil {
			t.Fatal(err)
		}
		wantCommands(t, n, "the first Check", "evalsha", "eval")
		st0, err := st.Check(ctx, [2]ticket.Key{k}, subject)
		if err != nil || st0.Denied || !st0.SubjectRevoked.IsZero() {
			t.Fatalf("Check = %+v, %v", st0, err)
		}
		cmds := wantCommands(t, n, "Check", "evalsha")
		if got, want := fmt.Sprint(cmds[0][2:]), fmt.Sprint([]any{5, marker, runKey, subKey, idKey, marker, "check", "1", "1", "0", "0"}); got != want {
			t.Fatalf("Check sent EVALSHA … %s, want %s", got, want)
		}
		// The marker is the time of the first Check, in Unix ms, the run
		// key the server's run_id where INFO tells it; neither expires.
		v, err := c.Get(ctx, marker).Result()
		if err != nil {
			t.Fatalf("GET marker: %v", err)
		}
		run := c.Get(ctx, runKey).Val()
		if want := runID(t, c); run != want {
			t.Fatalf("run key %q, want the server's run_id %q", run, want)
		}
		ms, _ := strconv.ParseInt(v, 10, 64)
		if since := time.UnixMilli(ms); !since.Equal(st0.Since) || since.Before(before.Truncate(time.Millisecond)) || since.After(time.Now().Add(time.Millisecond)) {
			t.Fatalf("marker %q, Since %v; want the time of the first Check", v, st0.Since)
		}
		if ttl := c.PTTL(ctx, marker).Val(); ttl != -1 {
			t.Fatalf("marker PTTL %v, want none", ttl)
		}

		n.reset() // of the inspection above
		// A microsecond past a whole millisecond: RevokeID rounds it up.
		until := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(time.Microsecond)
		// One script for every operation: the server knows it already.
		if err := st.RevokeID(ctx, k, until); err != nil {
			t.Fatal(err)
		}
		cmds = wantCommands(t, n, "RevokeID", "evalsha")
		// How long, in ms by this node's clock, rounded up.
		ttl, _ := strconv.ParseInt(fmt.Sprint(cmds[0][len(cmds[0])-2]), 10, 64)
		if got, want := fmt.Sprint(cmds[0][2:len(cmds[0])-2]), fmt.Sprint([]any{3, marker, runKey, idKey, "id"}); got != want || ttl < 59*60*1000 || ttl > 60*60*1000+1 || cmds[0][len(cmds[0])-1] != "0" {
			t.Fatalf("RevokeID sent EVALSHA … %v, want %s <about an hour in ms> 0", cmds[0][2:], want)
		}
		if ttl := c.PTTL(ctx, idKey).Val(); ttl <= 59*time.Minute || ttl > time.Hour+time.Millisecond {
			t.Fatalf("ID PTTL %v, want about an hour", ttl)
		}

		n.reset()
		at := time.Now().Truncate(time.Millisecond)
		if err := st.RevokeSubject(ctx, subject, at); err != nil {
			t.Fatal(err)
		}
		cmds = wantCommands(t, n, "RevokeSubject", "evalsha")
		ttl, _ = strconv.ParseInt(fmt.Sprint(cmds[0][len(cmds[0])-2]), 10, 64)
		if got, want := fmt.Sprint(cmds[0][2:len(cmds[0])-2]), fmt.Sprint([]any{3, marker, runKey, subKey, "sub", at.UnixMilli()}); got != want || ttl < 23*3600*1000 || ttl > 24*3600*1000 || cmds[0][len(cmds[0])-1] != "0" {
			t.Fatalf("RevokeSubject sent EVALSHA … %v, want %s <about 24 h in ms> 0", cmds[0][2:], want)
		}
		if v := c.Get(ctx, subKey).Val(); v != strconv.FormatInt(at.UnixMilli(), 10) {
			t.Fatalf("subject record %q, want %d", v, at.UnixMilli())
		}
		if ttl := c.PTTL(ctx, subKey).Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
			t.Fatalf("subject PTTL %v, want about 24h", ttl)
		}

		n.reset()
		st1, err := st.Check(ctx, [2]ticket.Key{k}, subject)
		if err != nil || !st1.Denied || !st1.SubjectRevoked.Equal(at) || !st1.Since.Equal(st0.Since) {
			t.Fatalf("Check after revoking = %+v, %v", st1, err)
		}
		n.reset()

		// A credential with neither ID nor subject reads neither key.
		if _, err := st.Check(ctx, [2]ticket.Key{}, ""); err != nil {
			t.Fatal(err)
		}
		cmds = wantCommands(t, n, "Check of nothing", "evalsha")
		if got := fmt.Sprint(cmds[0][len(cmds[0])-3 : len(cmds[0])-1]); got != "[0 0]" {
			t.Fatalf("Check of nothing asked for %s, want [0 0]", got)
		}

		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		want := []string{idKey, marker, subKey}
		if runID(t, c) != "" {
			want = []string{idKey, runKey, marker, subKey}
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("keys %q, want %q", keys, want)
		}
		for _, key := range keys {
			if !revocationKeyPattern.MatchString(key) {
				t.Errorf("key %q does not match %v", key, revocationKeyPattern)
			}
		}
		if len(sent) != 6 {
			t.Fatalf("%d commands recorded, want 6", len(sent))
		}
		for _, args := range sent {
			if s := fmt.Sprint(args); strings.Contains(s, jti) || strings.Contains(s, subject) {
				t.Errorf("a command carries the raw ID or subject: %s", s)
			}
		}
	})
}

// runID is the server's run_id, or "" where INFO does not tell it.
func runID(t *testing.T, c *redis.Client) string {
	t.Helper()
	info, err := c.Info(t.Context(), "server").Result()
	if err != nil {
		return ""
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return v
		}
	}
	return ""
}

// Options.Prefix moves the revocation keys, RevocationLifetime their TTL;
// New does not change the options it is given.
func TestRevocationOptions(t *testing.T) {
	m := miniredis.RunT(t)
	opts := &redisstore.Options{Prefix: "app2:", RevocationLifetime: time.Hour}
	st := redisstore.New(newClient(t, m.Addr()), opts)
	if err := st.RevokeSubject(t.Context(), "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	if o := *opts; o.Prefix != "app2:" || o.RevocationLifetime != time.Hour || o.ReplicaTimeout != 0 || o.Now != nil || o.TrustRestarts {
		t.Fatalf("New changed its options to %+v", *opts)
	}
	subKey := "app2:{revocations}:sub:" + sha256Hex("alice")
	keys := m.Keys()
	slices.Sort(keys)
	if want := []string{"app2:{revocations}:since", subKey}; !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	if ttl := m.TTL(subKey); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("subject TTL %v, want about an hour", ttl)
	}
}

// With Redis down, every operation fails closed, and no error carries the
// subject.
func TestRevocationsUnavailable(t *testing.T) {
	m := miniredis.RunT(t)
	c := shortClient(m.Addr())
	t.Cleanup(func() { c.Close() })
	s := redisstore.New(c, nil)
	m.Close()
	k := ticket.DenyKey("jti")
	_, checkErr := s.Check(t.Context(), [2]ticket.Key{k}, "alice@example.com")
	for op, err := range map[string]error{
		"RevokeID":      s.RevokeID(t.Context(), k, time.Now().Add(time.Hour)),
		"RevokeSubject": s.RevokeSubject(t.Context(), "alice@example.com", time.Now()),
		"Check":         checkErr,
	} {
		if !errors.Is(err, ticket.ErrStoreUnavailable) {
			t.Errorf("%s with Redis down: err = %v, want ErrStoreUnavailable", op, err)
		} else if strings.Contains(err.Error(), "alice") {
			t.Errorf("%s: error %q carries the subject", op, err)
		}
	}
}

// A marker or subject record that is not a time fails closed.
func TestCorruptRevocations(t *testing.T) {
	st, m, _ := newMini(t)
	marker := redisstore.DefaultPrefix + "{revocations}:since"
	subKey := redisstore.DefaultPrefix + "{revocations}:sub:" + sha256Hex("alice")
	m.Set(marker, "not a time")
	_, checkErr := st.Check(t.Context(), [2]ticket.Key{}, "alice")
	for op, err := range map[string]error{
		"Check":         checkErr,
		"RevokeID":      st.RevokeID(t.Context(), ticket.DenyKey("jti"), time.Now().Add(time.Hour)),
		"RevokeSubject": st.RevokeSubject(t.Context(), "alice", time.Now()),
	} {
		if !errors.Is(err, ticket.ErrStoreUnavailable) {
			t.Errorf("%s with a corrupt marker: err = %v, want ErrStoreUnavailable", op, err)
		}
	}
	m.Set(marker, strconv.FormatInt(time.Now().UnixMilli(), 10))
	m.Set(subKey, "not a time")
	if st, err := st.Check(t.Context(), [2]ticket.Key{}, "alice"); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Errorf("Check with a corrupt subject record = %+v, %v; want ErrStoreUnavailable", st, err)
	}
}

// A ticket issued before the marker exists (the first use of an empty
// Redis, or the first use after a loss) is refused: the documented brief
// over-refusal. One issued after it is accepted.
func TestTicketBeforeMarker(t *testing.T) {
	st, _, _ := newMini(t)
	iss := &ticket.Issuer{Store: st}
	_, early, err := iss.Issue(t.Context(), ticket.Ticket{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	status, err := st.Check(t.Context(), [2]ticket.Key{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !status.Refuses(early.IssuedAt) {
		t.Fatalf("a ticket issued at %v, before the list started at %v, is accepted", early.IssuedAt, status.Since)
	}
	for !time.Now().After(status.Since) {
		time.Sleep(time.Millisecond) // the marker is rounded up: let it pass
	}
	_, late, err := iss.Issue(t.Context(), ticket.Ticket{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := st.Check(t.Context(), [2]ticket.Key{}, "alice"); err != nil || status.Refuses(late.IssuedAt) {
		t.Fatalf("a ticket issued after the list started is refused: %+v, %v", status, err)
	}
}

// kill -9 of a Redis without persistence loses the revocations; the
// restarted server has no marker, so Since moves past the kill and every
// credential issued before it, revoked or not, is refused.
func TestRevocationsSurviveKill(t *testing.T) {
	srv := redistest.Start(t)
	client := shortClient(srv.Addr)
	defer client.Close()
	st := redisstore.New(client, nil)
	ctx := t.Context()

	if _, err := st.Check(ctx, [2]ticket.Key{}, ""); err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	k := ticket.DenyKey("jti-revoked")
	if err := st.RevokeID(ctx, k, issued.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeSubject(ctx, "alice", issued); err != nil {
		t.Fatal(err)
	}
	if s, err := st.Check(ctx, [2]ticket.Key{k}, "alice"); err != nil || !s.Denied || !s.Refuses(issued) {
		t.Fatalf("Check before the kill = %+v, %v", s, err)
	}

	killed := time.Now()
	srv.Stop() // SIGKILL
	if _, err := st.Check(ctx, [2]ticket.Key{k}, "alice"); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Fatalf("Check with Redis killed: err = %v, want ErrStoreUnavailable", err)
	}
	srv.Restart()

	s := checkAfterRestart(t, st, [2]ticket.Key{k}, "alice")
	if s.Denied || !s.SubjectRevoked.IsZero() {
		t.Fatalf("Check after the restart = %+v: the revocations should be gone", s)
	}
	if s.Since.Before(killed) {
		t.Fatalf("Since = %v after a kill at %v: the loss went unnoticed", s.Since, killed)
	}
	if !s.Refuses(issued) {
		t.Fatalf("the revoked credential issued before the kill is accepted: %+v", s)
	}
	for !time.Now().After(s.Since) {
		time.Sleep(time.Millisecond) // the marker is rounded up: let it pass
	}
	if s, err := st.Check(ctx, [2]ticket.Key{ticket.DenyKey("jti-new")}, "alice"); err != nil || s.Refuses(time.Now()) {
		t.Fatalf("a credential issued after the restart is refused: %+v, %v", s, err)
	}
}

// A Redis clock running ahead of the node's does not shorten a
// revocation: how long it lasts is the node's say, by which the
// credential expires.
func TestRevocationTTLsFollowTheNodeClock(t *testing.T) {
	t.Parallel() // a server of its own
	st, m, _ := newMini(t)
	now := time.Now()
	m.SetTime(now.Add(30 * time.Second))
	ctx := t.Context()
	k := ticket.DenyKey("jti-1")
	if err := st.RevokeID(ctx, k, now.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeSubject(ctx, "alice", now); err != nil {
		t.Fatal(err)
	}
	s, err := st.Check(ctx, [2]ticket.Key{k}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Denied || !s.Refuses(now) {
		t.Fatalf("Redis clock 30 s ahead, ID revoked for 10 s more and the subject now: %+v", s)
	}
	if ttl := m.TTL(redisstore.DefaultPrefix + "{revocations}:id:" + k.String()); ttl <= 9*time.Second || ttl > 10*time.Second+time.Millisecond {
		t.Fatalf("ID TTL %v, want 10 s", ttl)
	}
}

// A restart from an RDB snapshot brings back the revocation list as it
// was, marker included: the store takes the restarted server for one that
// lost data, and Since moves past the restart. A SCRIPT FLUSH, the same
// server's run, moves nothing; with TrustRestarts a restart moves nothing
// either.
func TestRestartFromSnapshot(t *testing.T) {
	t.Parallel() // a server of its own
	srv := redistest.Start(t)
	client := shortClient(srv.Addr)
	defer client.Close()
	ctx := t.Context()
	for _, trust := range []bool{false, true} {
		if err := client.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		st := redisstore.New(client, &redisstore.Options{TrustRestarts: trust})
		first, err := st.Check(ctx, [2]ticket.Key{}, "")
		if err != nil {
			t.Fatal(err)
		}
		srv.CLI("SAVE")
		issued := time.Now()
		k := ticket.DenyKey("jti-revoked")
		if err := st.RevokeID(ctx, k, issued.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeSubject(ctx, "alice", issued); err != nil {
			t.Fatal(err)
		}
		srv.CLI("SCRIPT", "FLUSH")
		if s, err := st.Check(ctx, [2]ticket.Key{k}, "alice"); err != nil || !s.Since.Equal(first.Since) || !s.Denied {
			t.Fatalf("TrustRestarts %v: after SCRIPT FLUSH: %+v, %v; want Since %v", trust, s, err, first.Since)
		}
		killed := time.Now()
		srv.Stop() // SIGKILL
		srv.Restart()
		s := checkAfterRestart(t, st, [2]ticket.Key{k}, "alice")
		if s.Denied || !s.SubjectRevoked.IsZero() {
			t.Fatalf("TrustRestarts %v: after the restart %+v: the snapshot predates the revocations", trust, s)
		}
		switch {
		case !trust && (s.Since.Before(killed) || !s.Refuses(issued)):
			t.Fatalf("after a restart from a snapshot: %+v; want Since after %v, refusing what was issued before", s, killed)
		case trust && !s.Since.Equal(first.Since):
			t.Fatalf("TrustRestarts: after a restart: Since %v, want %v", s.Since, first.Since)
		}
		// Another node that finds the script missing too, as the nodes do
		// at once after a restart, moves nothing: the marker is of this
		// run of the server.
		srv.CLI("SCRIPT", "FLUSH")
		other := redisstore.New(newClient(t, srv.Addr), &redisstore.Options{TrustRestarts: trust})
		if s2, err := other.Check(ctx, [2]ticket.Key{}, ""); err != nil || !s2.Since.Equal(s.Since) {
			t.Fatalf("TrustRestarts %v: a second node after the restart: %+v, %v; want Since %v", trust, s2, err, s.Since)
		}
	}
}

// Two stores with different prefixes on one server each notice the
// restart from a snapshot: each list keeps the run_id it started on.
func TestRestartFromSnapshotTwoPrefixes(t *testing.T) {
	t.Parallel() // a server of its own
	srv := redistest.Start(t)
	ctx := t.Context()
	ca, cb := shortClient(srv.Addr), shortClient(srv.Addr)
	defer ca.Close()
	defer cb.Close()
	a := redisstore.New(ca, &redisstore.Options{Prefix: "appA:"})
	b := redisstore.New(cb, &redisstore.Options{Prefix: "appB:"})
	for _, st := range []*redisstore.Store{a, b} {
		if _, err := st.Check(ctx, [2]ticket.Key{}, ""); err != nil {
			t.Fatal(err)
		}
	}
	srv.CLI("SAVE")
	issued := time.Now()
	if err := b.RevokeSubject(ctx, "alice", issued); err != nil {
		t.Fatal(err)
	}
	srv.Stop() // SIGKILL
	srv.Restart()
	for i, st := range []*redisstore.Store{a, b} {
		s := checkAfterRestart(t, st, [2]ticket.Key{}, "alice")
		if !s.Refuses(issued) {
			t.Fatalf("store %d after a restart from a snapshot: %+v accepts a credential issued before it", i, s)
		}
	}
}

// checkAfterRestart checks keys and subject, polling while the client
// reconnects: go-redis dials again about a second after failed dials.
func checkAfterRestart(t *testing.T, st *redisstore.Store, keys [2]ticket.Key, subject string) ticket.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := st.Check(t.Context(), keys, subject)
		if err == nil {
			return s
		}
		if !errors.Is(err, ticket.ErrStoreUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Check after the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the reconnect, not synchronising
	}
}

// A failover back to a server that was primary before, demoted without a
// restart (its script cache kept), and cut off while the other took a
// revocation: the list started on the other server's run, so Since moves,
// and the credential issued before the lost revocation is refused.
func TestFailbackToAServerThatMissedWrites(t *testing.T) {
	t.Parallel() // a server of its own
	x, y := redistest.Start(t), redistest.Start(t)
	ctx := t.Context()
	cx, cy := shortClient(x.Addr), shortClient(y.Addr)
	defer cx.Close()
	defer cy.Close()
	sx, sy := redisstore.New(cx, nil), redisstore.New(cy, nil)
	if _, err := sx.Check(ctx, [2]ticket.Key{}, ""); err != nil {
		t.Fatal(err)
	}
	port := func(s *redistest.Server) string { return s.Addr[strings.LastIndex(s.Addr, ":")+1:] }
	synced := func(r *redistest.Server) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(r.CLI("INFO", "replication"), "master_link_status:up") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no sync", r.Addr)
			}
			time.Sleep(20 * time.Millisecond) // polling the sync, not synchronising
		}
	}
	y.CLI("REPLICAOF", "127.0.0.1", port(x))
	synced(y)
	// Failover to y; x, demoted without a restart, replicates y.
	y.CLI("REPLICAOF", "NO", "ONE")
	x.CLI("REPLICAOF", "127.0.0.1", port(y))
	synced(x)
	if _, err := sy.Check(ctx, [2]ticket.Key{}, ""); err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	// x cut off and promoted; y, still taking writes, takes alice's
	// revocation (no replica online: no WAIT), then dies.
	x.CLI("REPLICAOF", "NO", "ONE")
	if err := sy.RevokeSubject(ctx, "alice", issued); err != nil {
		t.Fatal(err)
	}
	y.Stop()
	s, err := sx.Check(ctx, [2]ticket.Key{}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Refuses(issued) {
		t.Fatalf("after failing back to a server that missed alice's revocation: %+v accepts her credential", s)
	}
}
