// Command connmem measures the server's memory per idle WebSocket
// connection: bare coder/websocket, and each wsauth strategy. For every
// kind it starts a fresh server as a child process (itself, with -serve),
// opens -n connections to it from this process, leaves them idle, and
// reads the server's heap (after GC), goroutine stacks and RSS before and
// after.
//
//	go run ./internal/connmem -n 10000
//	go run ./internal/connmem -n 10000 -kinds bare,query -heapprofile /tmp/q.pprof
//	CONNMEM_PROFILE_RATE=1 go run ./internal/connmem -n 2000 -heapprofile /tmp/hp
//	CONNMEM_MAXSTACK=8192 GOTRACEBACK=system go run ./internal/connmem -n 1 -kinds query
//	go run ./internal/connmem -n 10000 -kinds bare,query -spans
//
// Each wsauth kind is wsauth.New(verifier, strategy{}, opts) with the
// strategy's defaults, served by wsauth.Handler; each server handler blocks
// in Read, as an idle chat connection does. Ticket kinds fetch one ticket
// per connection from the server (bound to the connection's source
// address) right before dialing; JWT kinds present an HS256 token minted
// here with a key shared with the child (jwtverify, cache on), one user per
// connection; the in-band kinds wait for the server's auth_ok. Clients are
// spread over 127.0.0.2… (-sources) so that ports do not run short. The
// soft limit on open files is raised to the hard limit.
//
// CONNMEM_MAXSTACK finds what grows a stack (see maxStackEnv).
//
// With -spans the server also writes a heap dump with the connections
// open, and a second table gives, per object size, the bytes per
// connection of spans that hold no live object, over bare: the free
// slots the handshake's short-lived objects left among the connections'
// long-lived ones of their size, which RSS pays for and the heap does
// not count.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsauth/wsauth/internal/heapdump"
	"github.com/wsauth/wsauth/internal/loadnet"
	"github.com/wsauth/wsauth/internal/procstat"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

// kinds are the server flavours measured, bare first: it is the baseline.
// bare-echo is bare whose server has echoed one frame, as an in-band
// strategy has read and answered (auth_ok) one. bare reads with the
// request's context, as coder/websocket's examples do, which registers
// each Read with it (context.AfterFunc: a map of children and a Done
// channel per connection); bare-nodone reads with a context without Done,
// as wsauth's Conn gives the socket for a handler's context. bare-http
// is bare whose clients make one HTTP request first, answered as a
// ticket request is but with nothing stored: what the ticket kinds' own
// request costs the server.
var kinds = []string{"bare", "bare-echo", "bare-nodone", "bare-http", "query", "subprotocol", "first-message", "first-message-jwt", "per-message"}

const keyEnv = "CONNMEM_KEY"

// profileRateEnv, if set, is the server's runtime.MemProfileRate, for
// -heapprofile: 1 samples every allocation.
const profileRateEnv = "CONNMEM_PROFILE_RATE"

// maxStackEnv, if set, is the server's debug.SetMaxStack, in bytes: with
// 8192, the first goroutine whose stack grows past 8 KiB (a handshake
// that leaves a connection with a 16 KiB stack) crashes the server with
// the traceback of the call that grew it; GOTRACEBACK=system adds each
// frame's sp and fp, so its size.
const maxStackEnv = "CONNMEM_MAXSTACK"

func main() {
	serve := flag.Bool("serve", false, "run as the server child (internal)")
	kind := flag.String("kind", "bare", "server kind, with -serve")
	n := flag.Int("n", 10000, "connections per kind")
	list := flag.String("kinds", strings.Join(kinds, ","), "comma-separated kinds to measure: "+strings.Join(kinds, ", "))
	sources := flag.Int("sources", 8, "client source addresses 127.0.0.2… to spread connections over")
	conc := flag.Int("c", 32, "concurrent dials")
	settle := flag.Duration("settle", 2*time.Second, "how long the last handlers get to reach their Read before the server is measured")
	heapProfile := flag.String("heapprofile", "", "write the server's heap profile with the connections open to `file`; the kind is appended when several are measured")
	spans := flag.Bool("spans", false, "also report, per object size, the bytes of spans that hold no live object, from a heap dump of the server")
	flag.Parse()
	if err := procstat.RaiseFileLimit(); err != nil {
		log.Printf("raising the open file limit: %v", err)
	}
	if *serve {
		if r, err := strconv.Atoi(os.Getenv(profileRateEnv)); err == nil {
			runtime.MemProfileRate = r
		}
		if n, err := strconv.Atoi(os.Getenv(maxStackEnv)); err == nil {
			debug.SetMaxStack(n)
		}
		if err := runServer(*kind); err != nil {
			log.Fatal(err)
		}
		return
	}
	key := make([]byte, 32)
	rand.Read(key)
	var classes map[uint64]uint64
	if *spans {
		var err error
		if classes, err = heapdump.SizeClasses(goroot()); err != nil {
			log.Fatalf("-spans: %v", err)
		}
	}
	var rows []result
	for k := range strings.SplitSeq(*list, ",") {
		prof := *heapProfile
		if prof != "" && strings.Contains(*list, ",") {
			prof += "." + k
		}
		r, err := measure(k, *n, *sources, *conc, *settle, key, prof, classes)
		if err != nil {
			log.Fatalf("%s: %v", k, err)
		}
		rows = append(rows, r)
	}
	report(os.Stdout, rows)
	if *spans {
		fmt.Println()
		reportSpans(os.Stdout, rows)
	}
}

// goroot is the Go tree whose runtime the server was built with.
func goroot() string {
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return os.Getenv("GOROOT")
}

// stats is what the server reports about itself.
type stats struct {
	HeapAlloc  uint64 `json:"heap_alloc"` // live heap after GC
	HeapInuse  uint64 `json:"heap_inuse"` // spans holding it
	StackInuse uint64 `json:"stack_inuse"`
	Sys        uint64 `json:"sys"`
	RSS        uint64 `json:"rss"`
	Goroutines int    `json:"goroutines"`
}

type result struct {
	kind          string
	n             int
	before, after stats
	dial          time.Duration
	spans         map[uint64]heapdump.Class // with -spans, after
}

func (r result) per(f func(stats) uint64) float64 {
	return (float64(f(r.after)) - float64(f(r.before))) / float64(r.n)
}

func heap(s stats) uint64  { return s.HeapAlloc }
func inuse(s stats) uint64 { return s.HeapInuse }
func stack(s stats) uint64 { return s.StackInuse }
func rss(s stats) uint64   { return s.RSS }

func report(w io.Writer, rows []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tconns\theap B/conn\tin-use spans B/conn\tstack B/conn\tRSS B/conn\theap+stack vs bare\tRSS vs bare\tgoroutines\tdial s\t")
	bare := bareOf(rows)
	for _, r := range rows {
		vs := func(f func(stats) uint64, g func(stats) uint64) string {
			if bare == nil {
				return "-"
			}
			d := r.per(f) - bare.per(f)
			if g != nil {
				d += r.per(g) - bare.per(g)
			}
			return fmt.Sprintf("%+.0f", d)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t%d\t%.1f\t\n", r.kind, r.n,
			r.per(heap), r.per(inuse), r.per(stack), r.per(rss), vs(heap, stack), vs(rss, nil), r.after.Goroutines, r.dial.Seconds())
	}
	tw.Flush()
}

// bareOf returns the row of bare, the baseline, if it was measured.
func bareOf(rows []result) *result {
	for i := range rows {
		if rows[i].kind == "bare" {
			return &rows[i]
		}
	}
	return nil
}

// reportSpans writes, for each kind but bare, the bytes per connection
// of spans that hold no live object, over bare's, in all and for each
// object size that differs by 16 B or more.
func reportSpans(w io.Writer, rows []result) {
	bare := bareOf(rows)
	if bare == nil {
		fmt.Fprintln(w, "-spans: bare was not measured")
		return
	}
	fmt.Fprintln(w, "unused span bytes per connection over bare, by object size")
	for _, r := range rows {
		if r.kind == "bare" {
			continue
		}
		var sizes []uint64
		for s := range r.spans {
			sizes = append(sizes, s)
		}
		for s := range bare.spans {
			if _, ok := r.spans[s]; !ok {
				sizes = append(sizes, s)
			}
		}
		slices.Sort(sizes)
		var total float64
		var parts []string
		for _, s := range sizes {
			d := (float64(r.spans[s].Unused()) - float64(bare.spans[s].Unused())) / float64(r.n)
			total += d
			if d >= 16 || d <= -16 {
				parts = append(parts, fmt.Sprintf("%d B: %+.0f", s, d))
			}
		}
		fmt.Fprintf(w, "%s: %+.0f (%s)\n", r.kind, total, strings.Join(parts, ", "))
	}
}

// measure starts a server of kind, opens n idle connections to it and
// returns its memory before and after.
func measure(kind string, n, sources, conc int, settle time.Duration, key []byte, heapProfile string, classes map[uint64]uint64) (result, error) {
	cmd := exec.Command(os.Args[0], "-serve", "-kind", kind)
	cmd.Env = append(os.Environ(), keyEnv+"="+hex.EncodeToString(key))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return result{}, fmt.Errorf("server did not start: %v", err)
	}
	base := "http://" + strings.TrimSpace(line)

	clients := make([]*http.Client, max(sources, 1))
	for i := range clients {
		clients[i] = loadnet.ClientFrom(fmt.Sprintf("127.0.0.%d", 2+i), conc)
	}
	// Stats go over a connection of their own, closed after each call, so
	// that the server holds nothing for them when it measures.
	sc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	before, err := getStats(sc, base, "", "")
	if err != nil {
		return result{}, err
	}
	conns := make([]*websocket.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
	}()
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := dial(kind, base, clients[i%len(clients)], key, i)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i, err) })
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	dialTime := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	// The ticket requests' keep-alive connections are not what is
	// measured: close them, and let the last handlers reach their Read.
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	time.Sleep(settle)
	var dump string
	if classes != nil {
		f, err := os.CreateTemp("", "connmem-"+kind+"-*.heapdump")
		if err != nil {
			return result{}, err
		}
		f.Close()
		dump = f.Name()
		defer os.Remove(dump)
	}
	after, err := getStats(sc, base, heapProfile, dump)
	if err != nil {
		return result{}, err
	}
	r := result{kind: kind, n: n, before: before, after: after, dial: dialTime}
	if dump != "" {
		f, err := os.Open(dump)
		if err != nil {
			return result{}, err
		}
		defer f.Close()
		if r.spans, err = heapdump.Read(f, classes); err != nil {
			return result{}, fmt.Errorf("heap dump: %w", err)
		}
	}
	return r, nil
}

func getStats(c *http.Client, base, heapProfile, heapDump string) (stats, error) {
	q := url.Values{}
	if heapProfile != "" {
		q.Set("heapprofile", heapProfile)
	}
	if heapDump != "" {
		q.Set("heapdump", heapDump)
	}
	u := base + "/stats?" + q.Encode()
	resp, err := c.Get(u)
	if err != nil {
		return stats{}, err
	}
	defer resp.Body.Close()
	var s stats
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// dial opens connection i of kind, authenticated as the server expects.
func dial(kind, base string, hc *http.Client, key []byte, i int) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	opts := &websocket.DialOptions{HTTPClient: hc}
	var c *websocket.Conn
	var err error
	switch kind {
	case "bare", "bare-nodone":
		c, _, err = websocket.Dial(ctx, ws, opts)
	case "bare-http":
		if _, err = fetchTicket(ctx, hc, base, "/hello"); err == nil {
			c, _, err = websocket.Dial(ctx, ws, opts)
		}
	case "bare-echo":
		if c, _, err = websocket.Dial(ctx, ws, opts); err == nil {
			if err = c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)); err == nil {
				_, _, err = c.Read(ctx)
			}
		}
	case "query", "subprotocol", "first-message":
		var t string
		if t, err = fetchTicket(ctx, hc, base, "/ticket"); err != nil {
			return nil, err
		}
		switch kind {
		case "query":
			c, _, err = transport.DialQuery(ctx, ws, t, opts)
		case "subprotocol":
			c, _, err = transport.DialSubprotocol(ctx, ws, t, nil, opts)
		default:
			c, _, err = transport.DialFirstMessage(ctx, ws, t, opts)
		}
	case "first-message-jwt":
		c, _, err = transport.DialFirstMessage(ctx, ws, token(key, i), opts)
	case "per-message":
		// The server answers the first envelope with auth_ok.
		var tc *transport.TokenConn
		if tc, _, err = transport.DialPerMessage(ctx, ws, token(key, i), []byte(`{"text":"hi"}`), opts); err == nil {
			c = tc.Conn()
		}
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil && c != nil {
		c.CloseNow()
	}
	return c, err
}

func fetchTicket(ctx context.Context, hc *http.Client, base, path string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Ticket string `json:"ticket"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ticket: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	return body.Ticket, nil
}

// token mints an HS256 access token for user i, valid for an hour.
func token(key []byte, i int) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-" + strconv.Itoa(i),
		"exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(),
	}).SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}

// runServer serves one kind on a loopback port and prints the address.
func runServer(kind string) error {
	key, err := hex.DecodeString(os.Getenv(keyEnv))
	if err != nil || len(key) < 32 {
		return errors.New("no key in " + keyEnv)
	}
	store := memstore.New(nil)
	tickets := wsauth.Tickets(&ticket.Redeemer{Store: store}, nil)
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(key)})
	if err != nil {
		return err
	}
	jv, err := jwtverify.New([]string{"HS256"}, keys, nil) // cache on, the default
	if err != nil {
		return err
	}
	var opts *wsauth.Options
	idle := func(ctx context.Context, c *wsauth.Conn) {
		for {
			if _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /ticket", &ticket.Issuer{
		Store:    store,
		Identify: func(*http.Request) (ticket.Ticket, error) { return ticket.Ticket{Subject: "user"}, nil },
	})
	// bare-http's request: answered as the Issuer answers, storing nothing.
	mux.HandleFunc("POST /hello", func(w http.ResponseWriter, r *http.Request) {
		id, _ := ticket.NewID()
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Ticket    string    `json:"ticket"`
			ExpiresAt time.Time `json:"expires_at"`
		}{id, time.Now().Add(ticket.DefaultTTL).UTC()})
	})
	var ws http.Handler
	switch kind {
	case "bare", "bare-nodone", "bare-http":
		noDone := kind == "bare-nodone"
		ws = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			ctx := r.Context()
			if noDone {
				ctx = context.WithoutCancel(ctx)
			}
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		})
	case "bare-echo":
		ws = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			typ, b, err := c.Read(r.Context())
			if err != nil || c.Write(r.Context(), typ, b) != nil {
				return
			}
			for {
				if _, _, err := c.Read(r.Context()); err != nil {
					return
				}
			}
		})
	case "query":
		ws = wsauth.Handler(wsauth.New(tickets, wsauth.Query{}, opts), idle)
	case "subprotocol":
		ws = wsauth.Handler(wsauth.New(tickets, wsauth.Subprotocol{}, opts), idle)
	case "first-message":
		ws = wsauth.Handler(wsauth.New(tickets, wsauth.FirstMessage{}, opts), idle)
	case "first-message-jwt":
		ws = wsauth.Handler(wsauth.New(jv, wsauth.FirstMessage{}, opts), idle)
	case "per-message":
		ws = wsauth.Handler(wsauth.New(jv, wsauth.PerMessage{}, opts), idle)
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	mux.Handle("GET /ws", ws)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		s := readStats()
		if p := r.FormValue("heapprofile"); p != "" {
			if err := writeHeapProfile(p); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		if p := r.FormValue("heapdump"); p != "" {
			if err := writeHeapDump(p); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		json.NewEncoder(w).Encode(s)
	})
	// What only the first connection of a process pays: encoding/json
	// builds its encoder of auth_ok's wire type (a deep stack) once.
	transport.AuthOK{Subject: "warm-up", ExpiresAt: time.Now()}.MarshalJSON()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		os.Exit(0)
	}()
	return srv.Serve(ln)
}

// memStats is readStats' buffer: a runtime.MemStats is about 6 KB, which
// on the stack would grow the stats request's goroutine past
// CONNMEM_MAXSTACK.
var (
	statsMu  sync.Mutex
	memStats runtime.MemStats
)

// readStats collects garbage, returns freed memory to the OS and reads
// the heap, stacks and RSS.
func readStats() stats {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	statsMu.Lock()
	defer statsMu.Unlock()
	m := &memStats
	runtime.ReadMemStats(m)
	return stats{
		HeapAlloc:  m.HeapAlloc,
		HeapInuse:  m.HeapInuse,
		StackInuse: m.StackInuse,
		Sys:        m.Sys,
		RSS:        procstat.RSS("self"),
		Goroutines: runtime.NumGoroutine(),
	}
}

func writeHeapDump(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	debug.WriteHeapDump(f.Fd())
	return f.Close()
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
