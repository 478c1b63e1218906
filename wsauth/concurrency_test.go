package wsauth_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// ticketRoutes serves every route of allRoutes on /<name>, all redeeming
// tickets from store, with fn as handler. The failure budget is off:
// these tests fail on purpose, many times, from 127.0.0.1.
func ticketRoutes(t *testing.T, store ticket.Store, fn func(context.Context, *wsauth.Conn)) string {
	t.Helper()
	v := wsauth.Tickets(&ticket.Redeemer{Store: store}, nil)
	mux := http.NewServeMux()
	for _, rt := range allRoutes {
		mux.Handle("/"+rt.name, wsauth.Handler(wsauth.New(v, rt.strategy, &wsauth.Options{Limiter: wsauth.NewLimiter(0, 0)}), fn))
	}
	return loopback(t, mux)
}

// loadCtx bounds a test that opens a thousand connections: generous, as
// CI runs packages side by side under -race on two cores. It only turns a
// hang into a failure; nothing is timed with it.
func loadCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestThousandConcurrentHandshakes opens 1,000 connections at once,
// spread over every route, all redeeming tickets from one memstore, and
// holds every one open until all are up: each must authenticate as its
// own ticket's subject. Under -race this is also the data-race test of
// the pipeline, the store and Conn.
func TestThousandConcurrentHandshakes(t *testing.T) {
	t.Parallel() // after the serial tests, which measure the heap or flip internal/breaks
	const n = 1000
	store := memstore.New(nil)
	url := ticketRoutes(t, store, echo)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = wsauthtest.Ticket(t, store, ticket.Ticket{Subject: fmt.Sprintf("user-%d", i)})
	}
	ctx := loadCtx(t)
	var (
		wg      sync.WaitGroup
		up      sync.WaitGroup // every connection authenticated and echoed
		release = make(chan struct{})
		ok      atomic.Int64
	)
	up.Add(n)
	for i := range n {
		wg.Go(func() {
			rt := allRoutes[i%len(allRoutes)]
			c, out := rt.dial(ctx, url+"/"+rt.name, ids[i], nil)
			if c == nil {
				up.Done()
				t.Errorf("%s #%d: %v", rt.name, i, out)
				return
			}
			defer c.CloseNow()
			want := fmt.Sprintf("user-%d: hi", i)
			msg := "hi"
			if rt.name == "per_message" {
				// The ticket was spent by the first frame, echoed now.
				want, msg = fmt.Sprintf(`user-%d: "hello"`, i), ""
			}
			var got string
			if msg != "" {
				c.Write(ctx, websocket.MessageText, []byte(msg))
			}
			_, b, err := c.Read(ctx)
			got = string(b)
			up.Done()
			if err != nil || got != want {
				t.Errorf("%s #%d: echo %q, %v; want %q", rt.name, i, got, err, want)
				return
			}
			ok.Add(1)
			<-release // hold the connection until all are up
			c.Close(websocket.StatusNormalClosure, "")
		})
	}
	up.Wait()
	close(release)
	wg.Wait()
	if got := ok.Load(); got != n {
		t.Fatalf("%d of %d concurrent handshakes succeeded", got, n)
	}
}

// TestSingleUseUnderContention races many clients for one ticket over the
// real HTTP path, on every route and on two servers sharing one store:
// exactly one wins each round, the rest are refused with 401 or 4401.
func TestSingleUseUnderContention(t *testing.T) {
	const rounds, clients = 25, 24
	store := memstore.New(nil)
	var accepted atomic.Int64
	count := func(ctx context.Context, c *wsauth.Conn) {
		accepted.Add(1)
		echo(ctx, c)
	}
	nodes := []string{ticketRoutes(t, store, count), ticketRoutes(t, store, count)}
	ctx := loadCtx(t)
	for round := range rounds {
		id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: fmt.Sprintf("round-%d", round)})
		start := make(chan struct{})
		type result struct {
			rt  route
			c   *websocket.Conn
			out outcome
		}
		results := make(chan result, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				rt := allRoutes[(i/len(nodes))%len(allRoutes)]
				<-start
				c, out := rt.dial(ctx, nodes[i%len(nodes)]+"/"+rt.name, id, nil)
				results <- result{rt, c, out}
			})
		}
		close(start)
		wg.Wait()
		close(results)
		won := 0
		for r := range results {
			if r.c != nil {
				won++
				r.c.Close(websocket.StatusNormalClosure, "")
				continue
			}
			if !r.rt.refusedAs(r.out, http.StatusUnauthorized, 4401) {
				t.Errorf("round %d: a loser on %s was answered %v, want 401 or 4401", round, r.rt.name, r.out)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d clients won one ticket, want exactly 1", round, won)
		}
	}
	if got := accepted.Load(); got != rounds {
		t.Fatalf("servers accepted %d connections for %d tickets", got, rounds)
	}
}
