package faults_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/internal/testmain"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; while Redis is down on purpose
	// that is hundreds of lines of noise.
	redis.SetLogger(quiet{})
	testmain.Run(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// backend is a Redis that can be killed and brought back on its address.
type backend struct {
	addr     string
	kill     func()
	restart  func()
	keepData bool // whether tickets survive the restart
}

func backends(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("redis-server", func(t *testing.T) {
		srv := redistest.Start(t)
		fn(t, backend{addr: srv.Addr, kill: srv.Stop, restart: srv.Restart})
	})
	t.Run("miniredis", func(t *testing.T) {
		m := miniredis.RunT(t)
		fn(t, backend{addr: m.Addr(), kill: m.Close, keepData: true, restart: func() {
			if err := m.Restart(); err != nil {
				t.Fatalf("miniredis restart: %v", err)
			}
		}})
	})
}

// Phases of the outage. An attempt is judged by the phases it started and
// ended in.
const (
	phaseUp      = iota // before the kill
	phaseKilling        // kill under way
	phaseDown           // killed, not yet restarting
	phaseRestarting
	phaseRestarted
)

// outcome is how one handshake attempt ended.
type outcome struct {
	path       string
	subject    string // of the ticket presented
	start, end int32  // phases
	accepted   bool
	as         string               // the subject an accepted connection echoed
	status     int                  // HTTP status of a refused handshake
	code       websocket.StatusCode // close code of a refused upgrade
	err        error                // anything else
}

// paths: the handshake strategy refusing with 503, the same refusing after
// the upgrade, and first message; all refuse after the upgrade with 1011.
var paths = []string{"/q", "/qb", "/f"}

// attempt dials path with id and exchanges one message.
func attempt(ctx context.Context, srv *wsauthtest.Server, path, id string) (o outcome) {
	o.path = path
	var c *websocket.Conn
	var resp *http.Response
	var err error
	if path == "/f" {
		c, _, err = srv.DialFirstMessage(ctx, path, id, nil)
	} else {
		c, resp, err = srv.DialQuery(ctx, path, id, nil)
	}
	if err != nil {
		if resp != nil {
			o.status = resp.StatusCode
		} else if o.code = websocket.CloseStatus(err); o.code == -1 {
			o.err = err
		}
		return o
	}
	defer c.CloseNow()
	if path == "/qb" {
		// In band: auth_ok first, or the refusal's close.
		if _, _, err = c.Read(ctx); err != nil {
			if o.code = websocket.CloseStatus(err); o.code == -1 {
				o.err = fmt.Errorf("after the upgrade: %v", err)
			}
			return o
		}
	}
	if err = c.Write(ctx, websocket.MessageText, []byte("ping")); err == nil {
		var b []byte
		_, b, err = c.Read(ctx)
		if as, ok := strings.CutSuffix(string(b), ": ping"); err == nil && ok {
			o.accepted, o.as = true, as
			c.Close(websocket.StatusNormalClosure, "")
			return o
		}
	}
	if o.code = websocket.CloseStatus(err); o.code == -1 {
		o.err = fmt.Errorf("after the upgrade: %v", err)
	}
	return o
}

// TestRedisKilledDuringHandshakes kills the Redis ticket store while 20
// clients open connections with tickets issued before the kill, on the
// query strategy (refusing over HTTP and after the upgrade) and the first
// message one. While it is down every new connection must be refused with
// 503 or 1011; connections opened before keep echoing; after a restart,
// with the application server left running, new tickets open connections
// again. Every accepted connection is checked against the tickets issued:
// none may be accepted twice, and none that was not issued or, on a
// redis-server that lost its data, that no longer exists.
func TestRedisKilledDuringHandshakes(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		const (
			clients   = 20
			perClient = 8
			held      = 5
		)
		client := redis.NewClient(&redis.Options{
			Addr:          b.addr,
			DialTimeout:   200 * time.Millisecond,
			ReadTimeout:   200 * time.Millisecond,
			WriteTimeout:  200 * time.Millisecond,
			PoolTimeout:   200 * time.Millisecond,
			MaxRetries:    -1,
			DialerRetries: 1,
		})
		t.Cleanup(func() { client.Close() })
		store := redisstore.New(client, nil)
		iss := &ticket.Issuer{Store: store}

		// The server's own record of whom it let in.
		var mu sync.Mutex
		admitted := map[string]int{}
		echo := func(ctx context.Context, c *wsauth.Conn) {
			mu.Lock()
			admitted[c.Principal().Subject]++
			mu.Unlock()
			for {
				m, err := c.Read(ctx)
				if err != nil {
					return
				}
				if c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)) != nil {
					return
				}
			}
		}
		redeem := wsauth.Tickets(&ticket.Redeemer{Store: store}, nil)
		// Refusals here are the store's fault, not the client's.
		o := &wsauth.Options{Limiter: wsauth.NewLimiter(0, 0)}
		mux := http.NewServeMux()
		mux.Handle("/q", wsauth.Handler(wsauth.New(redeem, wsauth.Query{}, o), echo))
		mux.Handle("/qb", wsauth.Handler(wsauth.New(redeem, wsauth.Query{InBand: true}, o), echo))
		mux.Handle("/f", wsauth.Handler(wsauth.New(redeem, wsauth.FirstMessage{}, o), echo))
		srv := wsauthtest.NewHandlerServer(t, mux)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()

		var issuedMu sync.Mutex
		issued := map[string]int32{} // subject -> phase it was issued in
		seq := 0
		issue := func(phase int32) (string, string, error) {
			issuedMu.Lock()
			seq++
			subject := fmt.Sprintf("s%d", seq)
			issuedMu.Unlock()
			id, _, err := iss.Issue(ctx, ticket.Ticket{Subject: subject, ClientIP: netip.MustParseAddr("127.0.0.1")})
			if err == nil {
				issuedMu.Lock()
				issued[subject] = phase
				issuedMu.Unlock()
			}
			return subject, id, err
		}
		mustIssue := func() (string, string) {
			s, id, err := issue(phaseUp)
			if err != nil {
				t.Fatalf("issue: %v", err)
			}
			return s, id
		}

		// Connections established before the outage.
		var conns []*websocket.Conn
		for i := range held {
			_, id := mustIssue()
			o := attempt(ctx, srv, paths[i%len(paths)], id)
			if !o.accepted {
				t.Fatalf("before the outage: %+v", o)
			}
			c, _, err := srv.DialQuery(ctx, "/q", func() string { _, id := mustIssue(); return id }(), nil)
			if err != nil {
				t.Fatalf("held connection: %v", err)
			}
			defer c.CloseNow()
			conns = append(conns, c)
		}
		stillEcho := func(when string) {
			t.Helper()
			for i, c := range conns {
				msg := fmt.Sprintf("%s %d", when, i)
				if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					t.Fatalf("held connection %d %s: write: %v", i, when, err)
				}
				if _, b, err := c.Read(ctx); err != nil || !strings.HasSuffix(string(b), msg) {
					t.Fatalf("held connection %d %s: read %q, %v", i, when, b, err)
				}
			}
		}

		// Tickets for the load, all issued before the kill.
		type tk struct{ subject, id string }
		tickets := make([][]tk, clients)
		for i := range tickets {
			for range perClient {
				s, id := mustIssue()
				tickets[i] = append(tickets[i], tk{s, id})
			}
		}

		var (
			phase     atomic.Int32
			outMu     sync.Mutex
			outcomes  []outcome
			acceptedN atomic.Int64
			downN     atomic.Int64 // attempts made entirely while down
			enough    = make(chan struct{})
			enoughOK  sync.Once
			downOK    = make(chan struct{})
			downOnce  sync.Once
			stop      = make(chan struct{})
			wg        sync.WaitGroup
		)
		for i := range clients {
			wg.Go(func() {
				// Each client cycles through its tickets, so that a
				// ticket once accepted comes back as a replay.
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					tk := tickets[i][n%perClient]
					start := phase.Load()
					o := attempt(ctx, srv, paths[(i+n)%len(paths)], tk.id)
					o.subject, o.start, o.end = tk.subject, start, phase.Load()
					outMu.Lock()
					outcomes = append(outcomes, o)
					outMu.Unlock()
					if o.accepted && acceptedN.Add(1) == 40 {
						enoughOK.Do(func() { close(enough) })
					}
					// Judged later: whatever happened while down counts.
					if o.start == phaseDown && o.end == phaseDown && downN.Add(1) == 60 {
						downOnce.Do(func() { close(downOK) })
					}
				}
			})
		}

		wait := func(ch chan struct{}, what string) {
			t.Helper()
			select {
			case <-ch:
			case <-ctx.Done():
				close(stop)
				wg.Wait()
				t.Fatalf("gave up waiting for %s", what)
			}
		}
		// Kill Redis in the middle of the load.
		wait(enough, "40 connections before the kill")
		phase.Store(phaseKilling)
		b.kill()
		phase.Store(phaseDown)
		wait(downOK, "60 attempts while Redis is down")
		stillEcho("while Redis is down")

		phase.Store(phaseRestarting)
		b.restart()
		phase.Store(phaseRestarted)

		// Service resumes without restarting the application server:
		// poll (go-redis redials in the background) with fresh tickets.
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		resumed := map[string]bool{}
		for len(resumed) < len(paths) {
			if time.Now().After(deadline) {
				t.Fatalf("service did not resume within 10s of the restart (resumed on %v)", resumed)
			}
			for _, p := range paths {
				if resumed[p] {
					continue
				}
				s, id, err := issue(phaseRestarted)
				if err != nil {
					continue
				}
				o := attempt(ctx, srv, p, id)
				o.subject, o.start, o.end = s, phaseRestarted, phaseRestarted
				outMu.Lock()
				outcomes = append(outcomes, o)
				outMu.Unlock()
				if o.accepted {
					resumed[p] = true
				}
			}
			if len(resumed) < len(paths) {
				<-tick.C
			}
		}
		stillEcho("after the restart")
		close(stop)
		wg.Wait()

		// Judge every attempt.
		seen := map[string]int{}
		var acc, downRefused, status503, close1011, replays int
		for _, o := range outcomes {
			if o.err != nil {
				t.Errorf("%s %s: unexpected failure %v", o.path, o.subject, o.err)
				continue
			}
			entirelyDown := o.start == phaseDown && o.end == phaseDown
			if !o.accepted {
				if seen[o.subject] > 0 {
					replays++
				}
				if entirelyDown {
					downRefused++
					switch {
					case o.path == "/q" && o.status == http.StatusServiceUnavailable:
						status503++
					case o.path != "/q" && o.code == websocket.StatusInternalError:
						close1011++
					default:
						t.Errorf("%s while Redis was down: refused with status %d, code %d; want 503 or 1011", o.path, o.status, o.code)
					}
				}
				continue
			}
			acc++
			seen[o.subject]++
			phaseIssued, ok := issued[o.subject]
			switch {
			case !ok:
				t.Errorf("WRONGFUL: %s accepted a ticket never issued (%s)", o.path, o.subject)
			case o.as != o.subject:
				t.Errorf("WRONGFUL: %s accepted ticket %s as %q", o.path, o.subject, o.as)
			case seen[o.subject] > 1:
				t.Errorf("WRONGFUL: ticket %s accepted %d times", o.subject, seen[o.subject])
			case entirelyDown:
				t.Errorf("WRONGFUL: %s accepted %s while Redis was down", o.path, o.subject)
			case !b.keepData && phaseIssued == phaseUp && o.start >= phaseRestarted:
				t.Errorf("WRONGFUL: %s accepted %s, issued before a restart that lost it", o.path, o.subject)
			}
		}
		mu.Lock()
		for s, n := range admitted {
			if _, wasIssued := issued[s]; !wasIssued || n > 1 {
				t.Errorf("WRONGFUL: the server admitted %s %d times (issued: %v)", s, n, wasIssued)
			}
		}
		serverAdmitted := len(admitted)
		mu.Unlock()
		// The server admitted the accepted attempts plus the held and
		// warm-up connections.
		if want := acc + 2*held; serverAdmitted != want {
			t.Errorf("server admitted %d connections, clients saw %d", serverAdmitted, want)
		}
		if downRefused == 0 {
			t.Fatal("no attempt ran while Redis was down")
		}
		if replays == 0 {
			t.Fatal("no accepted ticket came back as a replay: the single-use half did not run")
		}
		t.Logf("%d attempts by %d clients: %d accepted, each a valid unused ticket; %d refused while Redis was down (%d with 503, %d with 1011); %d replays refused; %d held connections kept echoing; 0 wrongful acceptances",
			len(outcomes), clients, acc, downRefused, status503, close1011, replays, held)
	})
}
