package redisstore_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/testmain"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

func TestMain(m *testing.M) {
	testmain.Parallel(8) // the parallel tests wait on their redis-servers
	testmain.Run(m)
}

// newClient returns a client of the server at addr, closed when t ends.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// newMini returns a store over a fresh miniredis and that server.
func newMini(t testing.TB) (*redisstore.Store, *miniredis.Miniredis, *counter) {
	t.Helper()
	m := miniredis.RunT(t)
	c := newClient(t, m.Addr())
	n := &counter{keep: true}
	c.AddHook(n)
	return redisstore.New(c, nil), m, n
}

// counter is a redis.Hook that counts the commands a client sends, and the
// pipelines as one round trip each.
type counter struct {
	n    atomic.Int64
	keep bool // record the args of each command (not in benchmarks)
	mu   sync.Mutex
	last [][]any // args of commands since the last reset
}

func (c *counter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		if c.keep {
			c.mu.Lock()
			c.last = append(c.last, cmd.Args())
			c.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// reset zeroes the count and forgets the commands seen.
func (c *counter) reset() {
	c.n.Store(0)
	c.mu.Lock()
	c.last = nil
	c.mu.Unlock()
}

// commands returns the args of the commands seen since the last reset.
func (c *counter) commands() [][]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]any(nil), c.last...)
}

// sample returns a ticket good for an hour, at millisecond precision.
func sample(subject string) ticket.Ticket {
	now := time.Now().Truncate(time.Millisecond)
	return ticket.Ticket{
		Subject:   subject,
		IssuedAt:  now,
		ExpiresAt: now.Add(time.Hour),
		Scope:     []string{"room:general"},
	}
}

// realHarness is the conformance harness for a real deployment, whose TTLs
// run on real time: each store gets a client from newClient, and flush
// empties the deployment, for a fresh store and for Wipe.
func realHarness(newClient func(t *testing.T) redis.UniversalClient, flush func(t *testing.T)) tickettest.Harness {
	return tickettest.Harness{
		NewStore: func(t *testing.T, _ *tickettest.Clock) ticket.Store {
			flush(t)
			return redisstore.New(newClient(t), nil)
		},
		Wipe: func(t *testing.T, _ *tickettest.Clock, s ticket.Store) ticket.Store {
			flush(t)
			return s
		},
		RealTime: true,
	}
}

// followClock makes m read clock: its TIME, as the revocation scripts use
// it, and its TTLs, absolute (PXAT) and relative.
func followClock(m *miniredis.Miniredis, clock *tickettest.Clock) {
	m.SetTime(clock.Now())
	clock.OnAdvance(func(d time.Duration) {
		m.SetTime(clock.Now())
		m.FastForward(d)
	})
}
