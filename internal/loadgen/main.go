// Command loadgen opens many concurrent authenticated WebSocket
// connections to the chat example (examples/chat) with one strategy,
// holds them, sends chat messages through them, and reports handshakes
// per second, handshake latency, failures and memory per connection.
//
//	go run ./examples/chat -addr 127.0.0.1:8080 >/dev/null &
//	go run ./internal/loadgen -strategy query -n 10000 -m 20 -server-pid $!
//
// Every client does what a browser does: it logs in (POST /api/login) and,
// for the ticket strategies, asks for a ticket for its room (POST
// /api/tickets), then dials. Tickets are bound to the client's address, so
// each client uses one source address, 127.0.0.2 and up (-sources), for
// its API calls and its WebSocket: spreading clients over several
// addresses keeps ephemeral ports from running short.
//
// Every endpoint of the chat answers in band: query and subprotocol send
// {"type":"auth_ok",…} right after the 101, first-message answers the auth
// frame with it, and jwt (per-message) its first envelope. A connection
// counts as open once its client has read that auth_ok, and the handshake
// latency is the WebSocket dial up to it; the login and ticket requests
// are timed apart as "credential". Messages (-m, in total, -rate per
// second) are sent round robin over the connections; each is delivered by
// the server to every member of the room, which the clients count. The
// server's own frames ({"type":"expiring"} before an access token expires,
// auth_ok after a refresh) are counted apart, not as chat messages.
//
// Memory per connection: this process's heap and RSS, and with
// -server-pid the server's RSS (from /proc/<pid>/status), measured before
// dialing and once all connections are open, divided by their number.
// The soft limit on open files is raised to the hard limit.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wsauth/wsauth/internal/loadnet"
	"github.com/wsauth/wsauth/internal/procstat"
	"github.com/wsauth/wsauth/transport"
)

type config struct {
	url, strategy, room string
	users               []string
	n, m, conc, sources int
	rate                float64
	hold, timeout       time.Duration
	serverPID           int
}

func main() {
	var c config
	var users string
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "chat server base `URL`")
	flag.StringVar(&c.strategy, "strategy", "query", "query, subprotocol, first-message or jwt")
	flag.StringVar(&c.room, "room", "general", "room every client joins")
	flag.StringVar(&users, "users", "alice,bob,carol", "comma-separated demo accounts (password = name), used round robin")
	flag.IntVar(&c.n, "n", 1000, "concurrent connections")
	flag.IntVar(&c.m, "m", 10, "chat messages to send in total while the connections are held")
	flag.Float64Var(&c.rate, "rate", 20, "messages per second")
	flag.IntVar(&c.conc, "c", 64, "clients connecting at once")
	flag.IntVar(&c.sources, "sources", 8, "source addresses 127.0.0.2… to spread clients over (0: let the OS choose)")
	flag.DurationVar(&c.hold, "hold", 3*time.Second, "how long to hold the connections after the last message")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of one client's login, ticket and dial")
	flag.IntVar(&c.serverPID, "server-pid", 0, "`pid` of the chat server, to report its RSS per connection")
	flag.Parse()
	c.users = strings.Split(users, ",")
	switch c.strategy {
	case "query", "subprotocol", "first-message", "jwt":
	default:
		log.Fatalf("unknown -strategy %q", c.strategy)
	}
	if err := procstat.RaiseFileLimit(); err != nil {
		log.Printf("raising the open file limit: %v", err)
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

// client is one simulated browser tab.
type client struct {
	ws       *websocket.Conn
	tc       *transport.TokenConn // jwt only
	received atomic.Int64         // chat messages
	control  atomic.Int64         // wsauth's frames: expiring, auth_ok
	closed   atomic.Int32         // close code once the server closed it while held
}

func run(c config) error {
	ws := "ws" + strings.TrimPrefix(c.url, "http")
	https := make([]*http.Client, max(c.sources, 1))
	for i := range https {
		ip := ""
		if c.sources > 0 {
			ip = fmt.Sprintf("127.0.0.%d", 2+i)
		}
		https[i] = loadnet.ClientFrom(ip, c.conc)
	}

	before := snapshot(c.serverPID)
	clients := make([]*client, c.n)
	credLat := make([]time.Duration, c.n)
	dialLat := make([]time.Duration, c.n)
	var (
		next     atomic.Int64
		failMu   sync.Mutex
		failures = map[string]int{}
		wg       sync.WaitGroup
	)
	fail := func(what string, err error) {
		failMu.Lock()
		defer failMu.Unlock()
		key := what + ": " + loadnet.Reason(err)
		if failures[key] == 0 {
			log.Printf("first failure of its kind: %s", key)
		}
		failures[key]++
	}
	fmt.Printf("loadgen: %d connections to %s/ws/%s/%s, %d at a time, from %d source addresses\n",
		c.n, ws, c.strategy, c.room, c.conc, len(https))
	start := time.Now()
	for range c.conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= c.n {
					return
				}
				cl, cred, dial, err := connect(c, ws, https[i%len(https)], c.users[i%len(c.users)])
				credLat[i], dialLat[i] = cred, dial
				if err != nil {
					what := "dial"
					if dial == 0 {
						what = "credential"
					}
					fail(what, err)
					continue
				}
				clients[i] = cl
				go cl.readLoop()
			}
		})
	}
	wg.Wait()
	phase := time.Since(start)
	open := 0
	for _, cl := range clients {
		if cl != nil {
			open++
		}
	}
	for _, h := range https {
		h.CloseIdleConnections() // the API's keep-alives are not what is measured
	}
	time.Sleep(time.Second)
	after := snapshot(c.serverPID)

	// Messages, round robin over the open connections.
	var live []*client
	for _, cl := range clients {
		if cl != nil {
			live = append(live, cl)
		}
	}
	sent := 0
	if len(live) > 0 && c.m > 0 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / c.rate))
		for i := range c.m {
			<-tick.C
			cl := live[i%len(live)]
			if err := cl.send(fmt.Sprintf("message %d from loadgen", i)); err != nil {
				fail("send", err)
				continue
			}
			sent++
		}
		tick.Stop()
	}
	time.Sleep(c.hold)
	var delivered, control int64
	kicked := map[int32]int{}
	for _, cl := range live {
		delivered += cl.received.Load()
		control += cl.control.Load()
		if code := cl.closed.Load(); code != 0 {
			kicked[code]++
		}
	}
	for _, cl := range live {
		cl.ws.CloseNow()
	}

	// Report.
	dials := dialLat[:0:0]
	creds := credLat[:0:0]
	for i, cl := range clients {
		if cl != nil {
			dials = append(dials, dialLat[i])
			creds = append(creds, credLat[i])
		}
	}
	slices.Sort(dials)
	slices.Sort(creds)
	fmt.Printf("connected:     %d of %d in %.2fs: %.0f handshakes/s (each after its own login%s)\n",
		open, c.n, phase.Seconds(), float64(open)/phase.Seconds(), map[bool]string{true: " and ticket", false: ""}[c.strategy != "jwt"])
	if len(dials) > 0 {
		fmt.Printf("handshake:     p50 %v  p99 %v  max %v\n", pct(dials, 50), pct(dials, 99), dials[len(dials)-1])
		fmt.Printf("credential:    p50 %v  p99 %v  (login%s)\n", pct(creds, 50), pct(creds, 99),
			map[bool]string{true: " + ticket", false: ""}[c.strategy != "jwt"])
	}
	nf := 0
	for _, v := range failures {
		nf += v
	}
	fmt.Printf("failures:      %d", nf)
	for k, v := range failures {
		fmt.Printf("\n  %6d  %s", v, k)
	}
	fmt.Println()
	fmt.Printf("messages:      %d sent, %d delivered (%d expected: every member of %s, this node only)\n",
		sent, delivered, int64(sent)*int64(len(live)), c.room)
	if control > 0 {
		fmt.Printf("server frames: %d (expiring, auth_ok) while held, not counted as messages\n", control)
	}
	if len(kicked) > 0 {
		fmt.Printf("closed by the server while held: %v (close code: count)\n", kicked)
	}
	if open > 0 {
		per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(open) }
		fmt.Printf("client memory: heap %.0f B/conn, RSS %.0f B/conn (this process, %d goroutines)\n",
			per(before.heap, after.heap), per(before.rss, after.rss), after.goroutines)
		if c.serverPID != 0 {
			fmt.Printf("server memory: RSS %.0f B/conn (pid %d: %.1f MiB -> %.1f MiB)\n",
				per(before.serverRSS, after.serverRSS), c.serverPID,
				float64(before.serverRSS)/(1<<20), float64(after.serverRSS)/(1<<20))
		}
	}
	if open < c.n {
		return fmt.Errorf("%d of %d connections failed", c.n-open, c.n)
	}
	return nil
}

// connect logs in as user, gets a ticket if the strategy takes one, and
// dials. dial is zero if the credential could not be had.
func connect(c config, ws string, hc *http.Client, user string) (cl *client, cred, dial time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	t0 := time.Now()
	token, cookies, err := login(ctx, hc, c.url, user)
	var ticket string
	if err == nil && c.strategy != "jwt" {
		ticket, err = getTicket(ctx, hc, c.url, c.room, cookies)
	}
	cred = time.Since(t0)
	if err != nil {
		return nil, cred, 0, err
	}
	opts := &websocket.DialOptions{HTTPClient: hc}
	path := ws + "/ws/" + c.strategy + "/" + c.room
	cl = &client{}
	t1 := time.Now()
	switch c.strategy {
	case "query":
		if cl.ws, _, err = transport.DialQuery(ctx, path, ticket, opts); err == nil {
			err = readAuthOK(ctx, cl.ws)
		}
	case "subprotocol":
		if cl.ws, _, err = transport.DialSubprotocol(ctx, path, ticket, []string{"chat.v1"}, opts); err == nil {
			err = readAuthOK(ctx, cl.ws)
		}
	case "first-message":
		cl.ws, _, err = transport.DialFirstMessage(ctx, path, ticket, opts)
	case "jwt":
		// A frame without text only authenticates and joins; the server
		// answers it with auth_ok.
		if cl.tc, _, err = transport.DialPerMessage(ctx, path, token, json.RawMessage(`{"text":""}`), opts); err == nil {
			cl.ws = cl.tc.Conn()
		}
	}
	dial = max(time.Since(t1), 1)
	if err != nil {
		return nil, cred, dial, err
	}
	cl.ws.SetReadLimit(1 << 20)
	return cl, cred, dial, nil
}

// readAuthOK reads the auth_ok an in-band handshake strategy sends after
// the 101; anything else closes c. A refusal after the upgrade is a close
// frame, which the error then wraps.
func readAuthOK(ctx context.Context, c *websocket.Conn) error {
	typ, b, err := c.Read(ctx)
	if err == nil {
		var ok transport.AuthOK
		if typ != websocket.MessageText {
			err = errors.New("auth reply is a binary frame")
		} else if err = ok.UnmarshalJSON(b); err == nil {
			return nil
		}
	}
	c.CloseNow()
	return err
}

func (cl *client) send(text string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data, _ := json.Marshal(map[string]string{"text": text})
	if cl.tc != nil {
		return cl.tc.Write(ctx, data)
	}
	return cl.ws.Write(ctx, websocket.MessageText, data)
}

// readLoop counts what the room sends until the connection ends: chat
// messages, and apart from them wsauth's control frames.
func (cl *client) readLoop() {
	for {
		_, b, err := cl.ws.Read(context.Background())
		if err != nil {
			if code := websocket.CloseStatus(err); code != -1 {
				cl.closed.Store(int32(code))
			}
			return
		}
		if isControl(b) {
			cl.control.Add(1)
			continue
		}
		cl.received.Add(1)
	}
}

// isControl reports whether b is one of wsauth's server frames
// ({"type":"expiring",…}, {"type":"auth_ok",…}) rather than a chat
// message, which has no "type".
func isControl(b []byte) bool {
	if !bytes.Contains(b, []byte(`"type"`)) {
		return false
	}
	var f struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(b, &f) == nil && (f.Type == transport.TypeExpiring || f.Type == transport.TypeAuthOK)
}

func login(ctx context.Context, hc *http.Client, base, user string) (string, []*http.Cookie, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": user})
	resp, err := post(ctx, hc, base+"/api/login", body, nil)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return "", nil, fmt.Errorf("login: %w", err)
	}
	return tr.AccessToken, resp.Cookies(), nil
}

func getTicket(ctx context.Context, hc *http.Client, base, room string, cookies []*http.Cookie) (string, error) {
	body, _ := json.Marshal(map[string]string{"room": room})
	resp, err := post(ctx, hc, base+"/api/tickets", body, cookies)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		Ticket string `json:"ticket"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return "", fmt.Errorf("ticket: %w", err)
	}
	return tr.Ticket, nil
}

func post(ctx context.Context, hc *http.Client, url string, body []byte, cookies []*http.Cookie) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", req.URL.Path, resp.Status)
	}
	return resp, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)].Round(time.Microsecond)
}

type mem struct {
	heap, rss, serverRSS uint64
	goroutines           int
}

func snapshot(serverPID int) mem {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s := mem{heap: m.HeapAlloc + m.StackInuse, rss: procstat.RSS("self"), goroutines: runtime.NumGoroutine()}
	if serverPID != 0 {
		s.serverRSS = procstat.RSS(strconv.Itoa(serverPID))
	}
	return s
}
