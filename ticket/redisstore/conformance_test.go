package redisstore_test

import (
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/ticket/tickettest"
)

// Against miniredis, on any machine; its TTLs follow the fake clock.
func TestConformanceMiniredis(t *testing.T) {
	t.Parallel() // a server of its own
	tickettest.TestStore(t, tickettest.Harness{
		NewStore: func(t *testing.T, clock *tickettest.Clock) ticket.Store {
			m := miniredis.RunT(t)
			clock.OnAdvance(m.FastForward)
			return redisstore.New(newClient(t, m.Addr()), nil)
		},
	})
}

// Against a real redis-server, whose TTLs run on real time.
func TestConformanceRedis(t *testing.T) {
	t.Parallel() // a server of its own
	srv := redistest.Start(t)
	tickettest.TestStore(t, tickettest.Harness{
		NewStore: func(t *testing.T, _ *tickettest.Clock) ticket.Store {
			c := newClient(t, srv.Addr)
			if err := c.FlushAll(t.Context()).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			return redisstore.New(c, nil)
		},
		RealTime: true,
	})
}
