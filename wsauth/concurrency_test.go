package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// strategies serves each of the four strategies, all redeeming tickets
// from one store, on /query, /sub, /first and /per. The limit on failed
// authentications is off: these tests fail on purpose, many times, from
// 127.0.0.1.
func strategies(t *testing.T, store ticket.Store, fn func(context.Context, *wsauth.Conn)) *wsauthtest.Server {
	t.Helper()
	o := ticketOptions(store)
	o.DisableLimiter = true
	mux := http.NewServeMux()
	mux.Handle("/query", wsauth.Handler(wsauth.Query(o), fn))
	mux.Handle("/sub", wsauth.Handler(wsauth.Subprotocol(o), fn))
	mux.Handle("/first", wsauth.Handler(wsauth.FirstMessage(o), fn))
	mux.Handle("/per", wsauth.Handler(wsauth.PerMessage(o), fn))
	return wsauthtest.NewHandlerServer(t, mux)
}

var strategyPaths = []string{"/query", "/sub", "/first", "/per"}

// loadCtx bounds a test that opens a thousand connections: more generous
// than testCtx, since CI runs packages side by side under -race on two
// cores. It only turns a hang into a failure; nothing is timed with it.
func loadCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dialAs connects to path with the ticket id the way its strategy wants,
// sends msg and returns the connection and the echo. A refused handshake
// strategy's error is a *refusedError with the HTTP status.
func dialAs(ctx context.Context, srv *wsauthtest.Server, path, id, msg string) (*websocket.Conn, string, error) {
	var c *websocket.Conn
	var resp *http.Response
	var err error
	switch path {
	case "/query":
		c, resp, err = srv.DialQuery(ctx, path, id, nil)
	case "/sub":
		c, resp, err = srv.DialSubprotocol(ctx, path, id, nil)
	case "/first":
		c, _, err = srv.DialFirstMessage(ctx, path, id, nil)
	case "/per":
		var tc *transport.TokenConn
		tc, _, err = srv.DialPerMessage(ctx, path, id, nil)
		if err == nil {
			c = tc.Conn()
			// The ticket is spent by this first frame: it is the only one.
			if err = tc.Write(ctx, []byte(`"`+msg+`"`)); err != nil {
				c.CloseNow()
				return nil, "", err
			}
			_, b, err := c.Read(ctx)
			if err != nil {
				c.CloseNow()
				return nil, "", err
			}
			return c, string(b), nil
		}
	}
	if err != nil {
		if resp != nil {
			err = &refusedError{status: resp.StatusCode, err: err}
		}
		return nil, "", err
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.CloseNow()
		return nil, "", err
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		return nil, "", err
	}
	return c, string(b), nil
}

// TestThousandConcurrentHandshakes opens 1,000 connections at once, 250
// on each strategy, all redeeming tickets from one memstore, and holds
// every one open until all are up: each must authenticate as its own
// ticket's subject. With -race this is also the data-race test of the
// accept path, the store and Conn.
func TestThousandConcurrentHandshakes(t *testing.T) {
	const n = 1000
	store := memstore.New(nil)
	srv := strategies(t, store, echo)
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
			path := strategyPaths[i%len(strategyPaths)]
			c, got, err := dialAs(ctx, srv, path, ids[i], "hi")
			up.Done()
			if err != nil {
				t.Errorf("%s #%d: %v", path, i, err)
				return
			}
			defer c.CloseNow()
			want := fmt.Sprintf("user-%d: hi", i)
			if path == "/per" {
				want = fmt.Sprintf(`user-%d: "hi"`, i)
			}
			if got != want {
				t.Errorf("%s #%d: echo %q, want %q", path, i, got, want)
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
	t.Logf("%d connections held open at once, %d authenticated", n, ok.Load())
}

// TestSingleUseUnderContention races many clients for one ticket over the
// real HTTP path, on every strategy and on two servers sharing one store:
// exactly one wins each round, the rest are refused with 401 or 4401.
func TestSingleUseUnderContention(t *testing.T) {
	const (
		rounds  = 25
		clients = 24
	)
	store := memstore.New(nil)
	var accepted atomic.Int64
	count := func(ctx context.Context, c *wsauth.Conn) {
		accepted.Add(1)
		echo(ctx, c)
	}
	nodes := []*wsauthtest.Server{strategies(t, store, count), strategies(t, store, count)}
	ctx := loadCtx(t)
	wins, refusals := 0, 0
	for round := range rounds {
		id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: fmt.Sprintf("round-%d", round)})
		start := make(chan struct{})
		type result struct {
			c   *websocket.Conn
			err error
		}
		results := make(chan result, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				srv := nodes[i%len(nodes)]
				path := strategyPaths[(i/len(nodes))%len(strategyPaths)]
				<-start
				c, _, err := dialAs(ctx, srv, path, id, "x")
				results <- result{c, err}
			})
		}
		close(start)
		wg.Wait()
		close(results)
		won := 0
		for r := range results {
			if r.err == nil {
				won++
				r.c.Close(websocket.StatusNormalClosure, "")
				continue
			}
			if !refusedAsInvalid(r.err) {
				t.Errorf("round %d: a loser failed with %v, want 401 or 4401", round, r.err)
			}
			refusals++
		}
		if won != 1 {
			t.Fatalf("round %d: %d clients won one ticket, want exactly 1", round, won)
		}
		wins += won
	}
	if got := accepted.Load(); got != rounds {
		t.Fatalf("servers accepted %d connections for %d tickets", got, rounds)
	}
	t.Logf("%d rounds of %d clients: %d wins, %d refusals, 0 double redemptions", rounds, clients, wins, refusals)
}

// refusedError is a handshake refused with an HTTP status.
type refusedError struct {
	status int
	err    error
}

func (e *refusedError) Error() string { return fmt.Sprintf("HTTP %d: %v", e.status, e.err) }
func (e *refusedError) Unwrap() error { return e.err }

// statusOf returns the HTTP status of a refused handshake, or 0.
func statusOf(err error) int {
	var re *refusedError
	if errors.As(err, &re) {
		return re.status
	}
	return 0
}

// refusedAsInvalid reports whether a client's dial or first read failed
// because the credential was refused: 401 before the upgrade, 4401 after.
func refusedAsInvalid(err error) bool {
	return statusOf(err) == http.StatusUnauthorized || websocket.CloseStatus(err) == wsauth.CloseUnauthenticated
}
