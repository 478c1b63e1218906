package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

// On a real primary, replica and Sentinel: the store and revocation
// suites, the Bus, the two-node race, WAIT, and revocations across
// failovers. The failovers come last; each swaps primary and replica.
func TestSentinel(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	newFailover := func(t *testing.T) redis.UniversalClient {
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.MasterName, SentinelAddrs: []string{s.Addr}})
		t.Cleanup(func() { c.Close() })
		return c
	}
	admin := newFailover(t).(*redis.Client)
	h := realHarness(newFailover, func(t *testing.T) {
		if err := admin.FlushAll(t.Context()).Err(); err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
	})

	t.Run("Store", func(t *testing.T) { tickettest.TestStore(t, h) })
	t.Run("Revocations", func(t *testing.T) { tickettest.TestRevocations(t, h) })
	t.Run("Bus", func(t *testing.T) { testBus(t, newFailover, true) })
	t.Run("BusCatchUp", func(t *testing.T) { testBusCatchUp(t, newFailover, killPubSub(admin), 2) })
	t.Run("TwoNodes", func(t *testing.T) {
		testTwoNodes(t, redisstore.New(newFailover(t), nil), redisstore.New(newFailover(t), nil))
	})
	t.Run("WaitsForReplica", func(t *testing.T) { testWaitsForReplica(t, s, newFailover(t).(*redis.Client)) })
	t.Run("RevocationSurvivesFailover", func(t *testing.T) { testSurvivesFailover(t, s, newFailover(t)) })
	t.Run("EmptyReplicaPromoted", func(t *testing.T) { testEmptyReplicaPromoted(t, s, newFailover(t)) })
	t.Run("BusAfterFailover", func(t *testing.T) {
		testBusCatchUp(t, newFailover, func(t *testing.T) { s.Failover() }, 1)
	})
}

// A revocation is on the replica when RevokeID returns (WAIT 1); with the
// replica hung it fails closed after ReplicaTimeout, in force on the
// primary all the same.
func testWaitsForReplica(t *testing.T, s *redistest.Sentinel, c *redis.Client) {
	ctx := t.Context()
	n := &counter{keep: true}
	c.AddHook(n)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	replica := newClient(t, s.Replica().Addr)
	const timeout = 250 * time.Millisecond
	st := redisstore.New(c, &redisstore.Options{ReplicaTimeout: timeout})
	k := ticket.DenyKey("jti-replicated")
	n.reset()
	if err := st.RevokeID(ctx, k, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cmds := n.commands()
	if last := cmds[len(cmds)-1]; last[0] != "wait" || last[1] != 1 {
		t.Fatalf("RevokeID sent %v, want a WAIT 1 last", cmds)
	}
	// WAIT returned: the replica has it, with no polling.
	if n, err := replica.Exists(ctx, redisstore.DefaultPrefix+"{revocations}:id:"+k.String()).Result(); err != nil || n != 1 {
		t.Fatalf("the replica does not hold the revocation when RevokeID returns: %d, %v", n, err)
	}

	s.Replica().Pause()
	t.Cleanup(s.Replica().Resume)
	hung := ticket.DenyKey("jti-replica-hung")
	start := time.Now()
	err := st.RevokeID(ctx, hung, time.Now().Add(time.Hour))
	if took := time.Since(start); took < timeout || took > timeout+5*time.Second {
		t.Errorf("RevokeID with the replica hung took %v, want about the ReplicaTimeout of %v", took, timeout)
	}
	if !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Fatalf("RevokeID with the replica hung: err = %v, want ErrStoreUnavailable", err)
	}
	if st, err := st.Check(ctx, [2]ticket.Key{hung}, ""); err != nil || !st.Denied {
		t.Fatalf("the unconfirmed revocation is not in force on the primary: %+v, %v", st, err)
	}
	s.Replica().Resume()
	if err := st.RevokeID(ctx, hung, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("RevokeID again once the replica is back: %v", err)
	}

	// Without WAIT (negative ReplicaTimeout) nothing waits.
	n.reset()
	if err := redisstore.New(c, &redisstore.Options{ReplicaTimeout: -1}).RevokeID(ctx, k, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantCommands(t, n, "RevokeID without WAIT", "evalsha")
}

// checkAfterFailover checks, polling while the client finds the new
// primary (go-redis retries a command whose connection was killed).
func checkAfterFailover(t *testing.T, st *redisstore.Store, k ticket.Key, subject string) ticket.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := st.Check(t.Context(), [2]ticket.Key{k}, subject)
		if err == nil {
			return s
		}
		if !errors.Is(err, ticket.ErrStoreUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Check after the failover: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the client's reconnect, not synchronising
	}
}

// Revocations written with WAIT survive a failover. The new primary has
// not run the store's script: by default it is taken for one that may
// have lost data, and Since moves past the failover, refusing what was
// issued before; with TrustRestarts, a second failover keeps the marker
// too, and nothing more is refused.
func testSurvivesFailover(t *testing.T, s *redistest.Sentinel, c redis.UniversalClient) {
	ctx := t.Context()
	st := redisstore.New(c, nil)
	if _, err := st.Check(ctx, [2]ticket.Key{}, ""); err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	k := ticket.DenyKey("jti-failover")
	if err := st.RevokeID(ctx, k, issued.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeSubject(ctx, "alice", issued); err != nil {
		t.Fatal(err)
	}
	failover := func() {
		old := s.Primary()
		s.Failover()
		if s.Primary() == old {
			t.Fatal("no failover")
		}
	}
	failedOver := time.Now()
	failover()
	after := checkAfterFailover(t, st, k, "alice")
	if !after.Denied || after.SubjectRevoked.Before(issued) || after.Since.Before(failedOver.Truncate(time.Millisecond)) {
		t.Fatalf("after the failover: %+v; want the revocations kept and Since after %v", after, failedOver)
	}
	if !after.Refuses(issued) {
		t.Fatalf("after the failover, a credential issued before it is accepted: %+v", after)
	}

	trusted := redisstore.New(c, &redisstore.Options{TrustRestarts: true})
	failover()
	again := checkAfterFailover(t, trusted, k, "alice")
	if !again.Denied || again.SubjectRevoked.Before(issued) || !again.Since.Equal(after.Since) {
		t.Fatalf("after a failover with TrustRestarts: %+v; want the revocations kept and Since %v", again, after.Since)
	}
	for !time.Now().After(again.Since) {
		time.Sleep(time.Millisecond) // the marker is rounded up: let it pass
	}
	if s := checkAfterFailover(t, trusted, ticket.DenyKey("jti-other"), "bob"); s.Refuses(time.Now()) {
		t.Fatalf("after a failover that lost nothing, a fresh credential is refused: %+v", s)
	}
}

// A replica that lost its data, once promoted, has no marker: Since moves
// past the loss and the revoked credential, whose revocation is gone, is
// refused all the same.
func testEmptyReplicaPromoted(t *testing.T, s *redistest.Sentinel, c redis.UniversalClient) {
	ctx := t.Context()
	st := redisstore.New(c, nil)
	if _, err := st.Check(ctx, [2]ticket.Key{}, ""); err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	k := ticket.DenyKey("jti-lost")
	if err := st.RevokeID(ctx, k, issued.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	replica := newClient(t, s.Replica().Addr)
	for _, args := range [][]any{
		{"config", "set", "replica-read-only", "no"},
		{"flushall"},
		{"config", "set", "replica-read-only", "yes"},
	} {
		if err := replica.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("replica: %v: %v", args, err)
		}
	}
	wiped := time.Now()
	s.Failover()
	after := checkAfterFailover(t, st, k, "")
	if after.Denied {
		t.Fatalf("the revocation survived the wipe: %+v", after)
	}
	if after.Since.Before(wiped) {
		t.Fatalf("after promoting an empty replica, Since = %v, before the wipe at %v", after.Since, wiped)
	}
	if !after.Refuses(issued) {
		t.Fatalf("the revoked credential is accepted after the loss: %+v", after)
	}
}
