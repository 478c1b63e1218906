package redisstore_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
)

// Tests here need a real redis-server; see package internal/redistest.

var clientIP = netip.MustParseAddr("192.0.2.10")

// shortClient returns a client that gives up quickly: no retries, 200 ms
// timeouts. The caller closes it.
func shortClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:          addr,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   200 * time.Millisecond,
		WriteTimeout:  200 * time.Millisecond,
		PoolTimeout:   200 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
}

// node is one application server's view of the shared tickets.
type node struct {
	iss *ticket.Issuer
	rd  *ticket.Redeemer
}

func newNode(st ticket.Store) node {
	return node{iss: &ticket.Issuer{Store: st}, rd: &ticket.Redeemer{Store: st}}
}

func (n node) issue(t *testing.T) string {
	t.Helper()
	id, _, err := n.iss.Issue(t.Context(), ticket.Ticket{Subject: "alice", ClientIP: clientIP})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return id
}

func (n node) redeem(ctx context.Context, id string) error {
	_, err := n.rd.Redeem(ctx, id, clientIP, "")
	return err
}

// wantUnavailable fails unless err is ErrStoreUnavailable and still carries
// the client's own error.
func wantUnavailable(t *testing.T, op string, err error) {
	t.Helper()
	var nerr net.Error
	if !errors.Is(err, ticket.ErrStoreUnavailable) || !errors.As(err, &nerr) {
		t.Fatalf("%s: err = %v, want ErrStoreUnavailable wrapping a net.Error", op, err)
	}
}

// What redis-cli KEYS shows holds no ticket ID, only prefixed hashes, and
// no value holds one either.
func TestNoRawIDsInRedis(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	st := redisstore.New(c, nil)
	ids := map[string]ticket.Key{}
	for range 10 {
		id, key := ticket.NewID()
		if err := st.Put(t.Context(), key, sample("alice"), time.Minute); err != nil {
			t.Fatal(err)
		}
		ids[id] = key
	}
	// Through an issuer too, as an application would.
	n := newNode(st)
	for range 5 {
		id := n.issue(t)
		key, _ := ticket.KeyOf(id)
		ids[id] = key
	}

	cli := strings.Fields(srv.CLI("KEYS", "*"))
	viaClient, err := c.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string][]string{"redis-cli KEYS": cli, "client KEYS": viaClient} {
		if len(keys) != len(ids) {
			t.Errorf("%s: %d keys, want %d", name, len(keys), len(ids))
		}
		for _, k := range keys {
			if !keyPattern.MatchString(k) {
				t.Errorf("%s: key %q is not the prefix and 64 hex digits", name, k)
			}
		}
	}
	dump := srv.CLI("KEYS", "*")
	for _, k := range viaClient {
		v, err := c.Get(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		dump += "\n" + v
	}
	for id, key := range ids {
		if strings.Contains(dump, id) {
			t.Errorf("Redis holds the raw ID %s", id)
		}
		if !strings.Contains(dump, redisstore.DefaultPrefix+key.String()) {
			t.Errorf("no key for the hash of ID %s", id)
		}
	}
}

// Two nodes with their own clients share one Redis: a ticket issued on one
// is redeemed on the other, once; raced on both, exactly one wins.
func TestTwoNodes(t *testing.T) {
	srv := redistest.Start(t)
	testTwoNodes(t, redisstore.New(newClient(t, srv.Addr), nil), redisstore.New(newClient(t, srv.Addr), nil))
}

// testTwoNodes checks two nodes' stores of one deployment: a ticket issued
// on one is redeemed on the other, once; raced on both, round after round,
// exactly one wins.
func testTwoNodes(t *testing.T, storeA, storeB ticket.Store) {
	a, b := newNode(storeA), newNode(storeB)
	ctx := t.Context()

	id := a.issue(t)
	if err := b.redeem(ctx, id); err != nil {
		t.Fatalf("redeem on B of a ticket from A: %v", err)
	}
	if err := a.redeem(ctx, id); !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("second redemption on A: err = %v, want ErrNotFound", err)
	}

	for round := range 100 {
		issuer := a
		if round%2 == 1 {
			issuer = b
		}
		id := issuer.issue(t)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, n := range []node{a, b} {
			wg.Go(func() {
				<-start
				errs[i] = n.redeem(ctx, id)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ticket.ErrNotFound):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d nodes redeemed the ticket, want 1", round, wins)
		}
	}
}

// With redis-server killed, every operation fails closed, quickly; once it
// is back, the same client works again, and no goroutine is left behind.
func TestFailClosedAndRecover(t *testing.T) {
	srv := redistest.Start(t)
	leaks := []goleak.Option{
		goleak.IgnoreCurrent(),
		// The launcher's process waiter lives as long as the server.
		goleak.IgnoreAnyFunction("github.com/wsauth/wsauth/internal/redistest.(*process).wait"),
	}
	client := shortClient(srv.Addr)
	st := redisstore.New(client, nil)
	n := newNode(st)
	ctx := t.Context()

	if err := n.redeem(ctx, n.issue(t)); err != nil {
		t.Fatalf("redeem while up: %v", err)
	}
	pending := n.issue(t)

	srv.Stop()
	down := time.Now()
	_, key := ticket.NewID()
	wantUnavailable(t, "Put", st.Put(ctx, key, sample("bob"), time.Minute))
	_, ok, err := st.Take(ctx, key)
	wantUnavailable(t, "Take", err)
	if ok {
		t.Fatal("Take: ok = true while down")
	}
	if _, _, err := n.iss.Issue(ctx, ticket.Ticket{Subject: "bob"}); !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Fatalf("Issue while down: err = %v, want ErrStoreUnavailable", err)
	}
	err = n.redeem(ctx, pending)
	wantUnavailable(t, "Redeem", err)
	if strings.Contains(err.Error(), pending) {
		t.Fatalf("error %q contains the ticket ID", err)
	}
	// Many at once, as a busy server would see it.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := n.redeem(ctx, pending); !errors.Is(err, ticket.ErrStoreUnavailable) {
				t.Errorf("concurrent Redeem while down: err = %v", err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(down); d > 5*time.Second {
		t.Errorf("failing took %v: the client's timeouts were not honoured", d)
	}

	srv.Restart()
	// After failed dials go-redis fails fast until a background dial
	// succeeds (about a second): poll, with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		err := n.redeem(ctx, pending)
		if err == nil {
			t.Fatal("a ticket from before the restart was redeemed")
		}
		// The server kept nothing: the pending ticket is gone.
		if errors.Is(err, ticket.ErrNotFound) {
			break
		}
		wantUnavailable(t, "Redeem while reconnecting", err)
		if time.Now().After(deadline) {
			t.Fatalf("still failing 10s after the restart: %v", err)
		}
	}
	id := n.issue(t)
	if err := n.redeem(ctx, id); err != nil {
		t.Fatalf("redeem after restart: %v", err)
	}
	if err := n.redeem(ctx, id); !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("second redeem after restart: err = %v, want ErrNotFound", err)
	}

	client.Close()
	goleak.VerifyNone(t, leaks...)
}

// A Redis that accepts but does not answer fails closed within the client's
// timeout, or the context's if the client honours it, and is used again
// once it answers.
func TestTimeoutFailsClosed(t *testing.T) {
	t.Parallel() // mostly waits out the pause
	srv := redistest.Start(t)
	admin := newClient(t, srv.Addr)
	client := shortClient(srv.Addr)
	defer client.Close()
	n := newNode(redisstore.New(client, nil))
	ctxClient := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer ctxClient.Close()
	viaCtx := newNode(redisstore.New(ctxClient, nil))
	ids := []string{n.issue(t), viaCtx.issue(t)}

	const pause = 2 * time.Second
	if err := admin.ClientPause(t.Context(), pause).Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	paused := time.Now()

	start := time.Now()
	err := n.redeem(t.Context(), ids[0])
	wantUnavailable(t, "Redeem on a paused server", err)
	var nerr net.Error
	if errors.As(err, &nerr); !nerr.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > pause/2 {
		t.Errorf("Redeem took %v with a 200ms read timeout", d)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = viaCtx.redeem(ctx, ids[1])
	// go-redis turns the context's deadline into the socket's: the error
	// may be either.
	if !errors.Is(err, ticket.ErrStoreUnavailable) ||
		!(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout()) {
		t.Errorf("Redeem with a 100ms context: err = %v, want ErrStoreUnavailable and a timeout", err)
	}
	if d := time.Since(start); d > pause/2 {
		t.Errorf("Redeem took %v with a 100ms context", d)
	}

	// Poll until the pause is over; then the same client works again.
	deadline := paused.Add(pause + 5*time.Second)
	for {
		_, _, err := n.iss.Issue(t.Context(), ticket.Ticket{Subject: "alice", ClientIP: clientIP})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing %v after the pause ended: %v", time.Since(paused)-pause, err)
		}
	}
	if err := n.redeem(t.Context(), n.issue(t)); err != nil {
		t.Fatalf("redeem after the pause: %v", err)
	}
}
