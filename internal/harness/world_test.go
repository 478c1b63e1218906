package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	coder "github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/memnet"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// config is one kind of world: how many nodes, how long things take, the
// latency bounds the checker allows.
type config struct {
	name     string
	redis    bool // the nodes share a real redis-server; else one memstore node in a synctest bubble
	nodes    int
	ops      int // operations per history
	clients  int // client slots
	subjects int
	// localBound is how late a frame may still reach a handler, or a
	// write start, after wsauth ended the connection on the node where
	// it runs (expiry, a revocation made there): the time between two
	// goroutines of the process noticing. remoteBound is the same for a
	// revocation made on another node, which travels over the bus.
	localBound, remoteBound time.Duration
	authTimeout             time.Duration // FirstMessage and PerMessage Timeout
	shortTTL, longTTL       time.Duration // JWT lifetimes
	maxSleep                time.Duration
	budget                  int           // Limiter burst
	every                   time.Duration // Limiter refill
	burstN                  int           // attempts of an opBurst
	wait                    time.Duration // bound on waiting for an answer (echo, auth_ok, dial)
}

// redisConfig is the world of two nodes over a real redis-server, in real
// time. The bounds allow for a loaded 2-core machine under -race.
var redisConfig = config{
	name: "redis", redis: true, nodes: 2, ops: 80, clients: 12, subjects: 4,
	localBound: 250 * time.Millisecond, remoteBound: time.Second,
	authTimeout: 600 * time.Millisecond, shortTTL: 2 * time.Second, longTTL: time.Minute,
	maxSleep: 400 * time.Millisecond, budget: 6, every: 10 * time.Second, burstN: 14,
	wait: 2 * time.Second,
}

// memConfig is the world of one memstore node in a testing/synctest
// bubble over memnet: time is virtual, so credentials live for minutes
// and expire at once, and a goroutine that is running stops the clock,
// so the bounds can be a millisecond.
var memConfig = config{
	name: "memstore", nodes: 1, ops: 90, clients: 12, subjects: 3,
	localBound: time.Millisecond, remoteBound: time.Millisecond,
	authTimeout: 5 * time.Second, shortTTL: 40 * time.Second, longTTL: 10 * time.Minute,
	maxSleep: 20 * time.Second, budget: 6, every: 10 * time.Second, burstN: 14,
	wait: 10 * time.Second,
}

// strategy is one way a client carries its credential.
type strategy struct {
	name       string
	handshake  bool // in the upgrade request
	inBand     bool // speaks auth_ok and refresh
	perMessage bool
	make       func(cfg *config) wsauth.Strategy
}

var strategies = []strategy{
	{"query", true, false, false, func(*config) wsauth.Strategy { return wsauth.Query{} }},
	{"query_ib", true, true, false, func(*config) wsauth.Strategy { return wsauth.Query{InBand: true} }},
	{"subprotocol", true, false, false, func(*config) wsauth.Strategy { return wsauth.Subprotocol{} }},
	{"subprotocol_ib", true, true, false, func(*config) wsauth.Strategy { return wsauth.Subprotocol{InBand: true} }},
	{"header", true, false, false, func(*config) wsauth.Strategy { return wsauth.Header{} }},
	{"header_ib", true, true, false, func(*config) wsauth.Strategy { return wsauth.Header{InBand: true} }},
	{"cookie", true, false, false, func(*config) wsauth.Strategy { return wsauth.Cookie{Name: cookieName} }},
	{"cookie_ib", true, true, false, func(*config) wsauth.Strategy { return wsauth.Cookie{Name: cookieName, InBand: true} }},
	{"first", false, true, false, func(c *config) wsauth.Strategy { return wsauth.FirstMessage{Timeout: c.authTimeout} }},
	{"per", false, true, true, func(c *config) wsauth.Strategy { return wsauth.PerMessage{Timeout: c.authTimeout} }},
	{"per_drop", false, true, true, func(c *config) wsauth.Strategy {
		return wsauth.PerMessage{Timeout: c.authTimeout, DropInvalid: true}
	}},
}

const cookieName = "session"

// routeSpec is a strategy, a verifier (JWTs or tickets) and the server's
// WebSocket library (coder/websocket, or gorilla/websocket through
// Options.Upgrade).
type routeSpec struct {
	strat   int
	jwt     bool
	gorilla bool
}

func (r routeSpec) strategy() strategy { return strategies[r.strat] }

func (r routeSpec) name() string {
	v, lib := "ticket", "coder"
	if r.jwt {
		v = "jwt"
	}
	if r.gorilla {
		lib = "gorilla"
	}
	return r.strategy().name + "/" + v + "/" + lib
}

func (r routeSpec) path() string { return "/ws/" + r.name() }

// routes is every route of a node: each strategy with each verifier and
// each library, but per-message with JWTs only (a ticket is single-use,
// and per-message presents its credential with every frame).
var routes = func() []routeSpec {
	var rs []routeSpec
	for s := range strategies {
		for _, jwt := range []bool{true, false} {
			if strategies[s].perMessage && !jwt {
				continue
			}
			for _, g := range []bool{false, true} {
				rs = append(rs, routeSpec{strat: s, jwt: jwt, gorilla: g})
			}
		}
	}
	return rs
}()

// route returns the index of the route named name, for replays.
func route(name string) int {
	for i, r := range routes {
		if r.name() == name {
			return i
		}
	}
	panic("harness: no route " + name)
}

// node is one wsauth node: its Registry, Limiter, verifiers and an
// Authenticator per route, served on its own listener.
type node struct {
	w   *world
	idx int

	rdb    *redis.Client // redis world
	store  ticket.Store
	revs   ticket.Revocations
	rawBus ticket.Bus
	memBus *wsauthtest.Bus // memstore world
	reg    *wsauth.Registry
	lim    *wsauth.Limiter
	jwt    *jwtverify.Verifier
	tick   wsauth.Verifier

	base   string // ws://host:port
	origin string // the Origin of a same-origin page
	srv    *httptest.Server
	hsrv   *http.Server
	ln     *memnet.Listener

	listenMu     sync.Mutex
	listenCancel context.CancelFunc
	memCut       bool
}

// ctxKey carries the connection key (the cid query parameter) in the
// request context, where Events and the Verifier find it.
type ctxKey struct{}

func keyOf(ctx context.Context) string {
	k, _ := ctx.Value(ctxKey{}).(string)
	return k
}

func keyOfRequest(r *http.Request) string {
	if r == nil {
		return ""
	}
	return r.URL.Query().Get("cid")
}

// newNode builds node idx of w and starts it listening.
func (w *world) newNode(idx int) *node {
	n := &node{w: w, idx: idx, lim: wsauth.NewLimiter(w.cfg.budget, w.cfg.every)}
	if w.cfg.redis {
		n.rdb = newRedisClient(w.env.redis.Addr)
		st := redisstore.New(n.rdb, &redisstore.Options{ReplicaTimeout: -1})
		n.store, n.revs = st, st
		n.rawBus = redisstore.NewBus(n.rdb, &redisstore.BusOptions{Channel: w.prefix + ":revoke"})
	} else {
		st := memstore.New(nil)
		n.store, n.revs = st, st
		n.memBus = &wsauthtest.Bus{}
		n.rawBus = n.memBus
	}
	if w.variant.noLossRule {
		n.revs = &sinceStuck{Revocations: n.revs}
	}
	n.reg = wsauth.NewRegistry(n.revs, &probeBus{Bus: n.rawBus, n: n})
	n.jwt = w.signer.Verifier(w.t, nil)
	n.tick = wsauth.Tickets(&ticket.Redeemer{Store: n.store}, nil)

	mux := http.NewServeMux()
	for _, rt := range routes {
		n.mount(mux, rt)
	}
	errLog := log.New(w.cap, "http: ", 0)
	if w.cfg.redis {
		n.srv = httptest.NewUnstartedServer(mux)
		n.srv.Config.ErrorLog = errLog
		n.srv.Start()
		n.base = "ws" + strings.TrimPrefix(n.srv.URL, "http")
		n.origin = n.srv.URL
	} else {
		host := fmt.Sprintf("node%d.test", idx)
		n.ln = memnet.Listen(&net.TCPAddr{IP: net.IPv4(10, 0, 0, byte(1+idx)), Port: 80}, nil)
		n.hsrv = &http.Server{Handler: mux, ErrorLog: errLog}
		go n.hsrv.Serve(n.ln)
		n.base = "ws://" + host
		n.origin = "http://" + host
	}
	if err := n.listen(); err != nil {
		w.t.Fatalf("harness: node %d: Listen: %v", idx, err)
	}
	return n
}

// newRedisClient is a client that gives up quickly, so that a history
// over a dead or frozen redis-server moves on.
func newRedisClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:          addr,
		DialTimeout:   250 * time.Millisecond,
		ReadTimeout:   400 * time.Millisecond,
		WriteTimeout:  400 * time.Millisecond,
		PoolTimeout:   400 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
}

// listen (re)starts the node's bus subscription.
func (n *node) listen() error {
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.reg.Listen(ctx); err != nil {
		cancel()
		return err
	}
	n.listenMu.Lock()
	n.listenCancel = cancel
	n.listenMu.Unlock()
	return nil
}

// unlisten ends the node's bus subscription.
func (n *node) unlisten() {
	n.listenMu.Lock()
	cancel := n.listenCancel
	n.listenCancel = nil
	n.listenMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// mount serves rt on mux: coder routes with wsauth.Handler, gorilla routes
// with Accept and a loop of the harness's own (both APIs are exercised).
func (n *node) mount(mux *http.ServeMux, rt routeSpec) {
	st := rt.strategy()
	var v wsauth.Verifier
	if rt.jwt {
		v = &stableProbe{probeVerifier{n: n, v: n.jwt}, n.jwt}
	} else {
		v = &probeVerifier{n: n, v: n.tick}
	}
	a := wsauth.New(v, st.make(&n.w.cfg), &wsauth.Options{
		Registry: n.reg,
		Limiter:  n.lim,
		Events:   n.event,
		Upgrade:  n.upgrader(rt),
	})
	var h http.Handler
	if rt.gorilla {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := a.Accept(w, r)
			if err != nil {
				n.w.cap.add("accept error", err.Error())
				return
			}
			defer c.CloseNow()
			n.w.serve(r.Context(), n, rt, c, keyOf(r.Context()))
			c.Close(coder.StatusNormalClosure, "")
		})
	} else {
		h = wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
			n.w.serve(ctx, n, rt, c, keyOf(ctx))
		})
	}
	mux.Handle(rt.path(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.w.handlers.Add(1)
		defer n.w.handlers.Add(-1)
		defer n.w.sig.fire()
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, keyOfRequest(r)))
		h.ServeHTTP(&headerWatch{ResponseWriter: w, cap: n.w.cap}, r)
	}))
}

// event records a wsauth Event of the node, and logs it as SlogEvents
// would, into the captured text searched for credentials.
func (n *node) event(ctx context.Context, e wsauth.Event) {
	n.w.h.event(n.idx, keyOf(ctx), e)
	s := fmt.Sprintf("%+v", e)
	if e.Err != nil {
		s += " err=" + e.Err.Error()
	}
	n.w.cap.add("event", s)
	wsauth.SlogEvents(nil)(ctx, e)
	n.w.sig.fire()
}

// upgrader is the route's Options.Upgrade: the library's upgrade, behind
// the connection's gate, returning a probeSocket.
func (n *node) upgrader(rt routeSpec) func(http.ResponseWriter, *http.Request, string) (wsauth.Socket, error) {
	st := rt.strategy()
	return func(w http.ResponseWriter, r *http.Request, sp string) (wsauth.Socket, error) {
		key := keyOfRequest(r)
		g := n.w.gateFor(key)
		n.w.cap.add("upgrade request", dumpRequest(r))
		if st.handshake {
			// The 101 is the success answer: a gated connect holds it
			// here, with the connection registered already.
			if err := g.waitAnswer(r.Context()); err != nil {
				return nil, err
			}
		}
		var s wsauth.Socket
		var err error
		if rt.gorilla {
			s, err = Upgrade(w, r, sp)
		} else {
			s, err = coderAccept(w, r, sp)
		}
		if err != nil {
			return nil, err
		}
		return &probeSocket{Socket: s, n: n, key: key, g: g, answerFirst: !st.handshake}, nil
	}
}

// coderAccept is what wsauth does by default: coder/websocket, echoing
// the selected subprotocol; the origin was checked already.
func coderAccept(w http.ResponseWriter, r *http.Request, sp string) (wsauth.Socket, error) {
	o := &coder.AcceptOptions{InsecureSkipVerify: true}
	if sp != "" {
		o.Subprotocols = []string{sp}
	}
	c, err := coder.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dumpRequest is what a handler, or a logging middleware after wsauth,
// could log of r: its URL, request line and headers.
func dumpRequest(r *http.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.Method, r.RequestURI, r.URL.String())
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, r.Header[k])
	}
	return b.String()
}

// headerWatch records the response headers the server sends.
type headerWatch struct {
	http.ResponseWriter
	cap  *capture
	once sync.Once
}

func (h *headerWatch) record() {
	h.once.Do(func() {
		var b strings.Builder
		for k, v := range h.Header() {
			fmt.Fprintf(&b, " %s=%q", k, v)
		}
		h.cap.add("response header", b.String())
	})
}

func (h *headerWatch) WriteHeader(code int) { h.record(); h.ResponseWriter.WriteHeader(code) }

func (h *headerWatch) Write(p []byte) (int, error) {
	h.record()
	h.cap.add("response body", string(p))
	return h.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the hijacker.
func (h *headerWatch) Unwrap() http.ResponseWriter { h.record(); return h.ResponseWriter }

// Hijack implements http.Hijacker, which gorilla asks for directly.
func (h *headerWatch) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.record()
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// probeVerifier records every call that reaches a Verifier, and holds the
// calls of a burst until the burst is released.
type probeVerifier struct {
	n *node
	v wsauth.Verifier
}

func (p *probeVerifier) Verify(ctx context.Context, cred string, peer wsauth.Peer) (wsauth.Principal, error) {
	w := p.n.w
	id := w.creds.lookup(cred)
	call := w.h.verifyStart(p.n.idx, peer.Addr, keyOfRequest(peer.Request), id)
	w.sig.fire()
	w.holdBurst(id)
	pr, err := p.v.Verify(ctx, cred, peer)
	spent := err != nil && !errors.Is(err, wsauth.ErrUnavailable) && !errors.Is(err, ticket.ErrStoreUnavailable)
	w.h.verifyEnd(call, err == nil, spent)
	w.sig.fire()
	if err != nil {
		w.cap.add("verifier error", err.Error())
	}
	return pr, err
}

// stableProbe is a probeVerifier of a StableVerifier, which it stays.
type stableProbe struct {
	probeVerifier
	stable wsauth.StableVerifier
}

func (p *stableProbe) Stable(cred string) (string, bool) { return p.stable.Stable(cred) }

// probeBus records when a node's Registry is handed a revocation, and
// when each catch-up after an interruption is done.
type probeBus struct {
	ticket.Bus
	n *node
}

func (b *probeBus) Subscribe(ctx context.Context, deliver func(ticket.Revocation), catchUp func()) error {
	return b.Bus.Subscribe(ctx, func(r ticket.Revocation) {
		deliver(r)
		b.n.w.h.busDelivered(b.n.idx, r)
		b.n.w.sig.fire()
	}, func() {
		start := time.Now()
		catchUp()
		b.n.w.h.catchUp(b.n.idx, start, time.Now())
		b.n.w.sig.fire()
	})
}

// sinceStuck is the broken variant "a deny list without the data-loss
// rule": a store whose Check never reports a loss, its Status.Since
// staying at the first value it read.
type sinceStuck struct {
	ticket.Revocations
	mu    sync.Mutex
	since time.Time
	set   bool
}

func (s *sinceStuck) Check(ctx context.Context, keys [2]ticket.Key, subject string) (ticket.Status, error) {
	st, err := s.Revocations.Check(ctx, keys, subject)
	if err != nil {
		return st, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.set {
		s.since, s.set = st.Since, true
	}
	st.Since = s.since
	return st, nil
}

// gate holds a connection's success answer until released, and its
// writes and close while the client is stalled: the socket buffer of a
// client that does not read, full.
type gate struct {
	answer     chan struct{} // closed once the answer may go
	arrived    chan struct{} // closed once an answer waits here
	arriveOnce sync.Once
	fire       func() // tells the driver an answer arrived

	mu    sync.Mutex
	stall chan struct{} // non-nil while stalled; closed on resume
}

func newGate(held bool, fire func()) *gate {
	g := &gate{answer: make(chan struct{}), arrived: make(chan struct{}), fire: fire}
	if !held {
		close(g.answer)
	}
	return g
}

// gateLimit bounds every wait at a gate, as a kernel's buffer would not
// stop a write forever: the write deadline of the library ends it.
const gateLimit = 8 * time.Second

func (g *gate) waitAnswer(ctx context.Context) error {
	select {
	case <-g.answer:
		return nil
	default:
	}
	g.arriveOnce.Do(func() { close(g.arrived); g.fire() })
	t := time.NewTimer(gateLimit)
	defer t.Stop()
	select {
	case <-g.answer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("harness: gate: answer held too long")
	}
}

func (g *gate) release() {
	select {
	case <-g.answer:
	default:
		close(g.answer)
	}
}

func (g *gate) stallOn() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stall == nil {
		g.stall = make(chan struct{})
	}
}

func (g *gate) stallOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stall != nil {
		close(g.stall)
		g.stall = nil
	}
}

func (g *gate) waitStall(ctx context.Context) error {
	g.mu.Lock()
	ch := g.stall
	g.mu.Unlock()
	if ch == nil {
		return nil
	}
	t := time.NewTimer(gateLimit)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// probeSocket is the server side of a connection as the harness sees it:
// it records every application frame wsauth lets the handler write, with
// the connection's principal at that moment, and holds writes at the
// connection's gate.
type probeSocket struct {
	wsauth.Socket
	n           *node
	key         string
	g           *gate
	answerFirst bool // the first write is the success answer (auth_ok of FirstMessage, PerMessage)
	wrote       atomic.Bool
	conn        atomic.Pointer[wsauth.Conn]
}

func (s *probeSocket) Write(ctx context.Context, typ coder.MessageType, p []byte) error {
	rec := -1
	if isAppFrame(p) {
		var jti string
		if c := s.conn.Load(); c != nil {
			jti = jtiOf(c.Principal())
		}
		rec = s.n.w.h.writeStart(s.n.idx, s.key, string(p), jti)
	}
	if s.answerFirst && !s.wrote.Swap(true) {
		if err := s.g.waitAnswer(ctx); err != nil {
			return err
		}
	}
	if err := s.g.waitStall(ctx); err != nil {
		return err
	}
	err := s.Socket.Write(ctx, typ, p)
	if rec >= 0 {
		s.n.w.h.writeEnd(rec, err == nil)
	}
	return err
}

func (s *probeSocket) Close(code coder.StatusCode, reason string) error {
	s.g.waitStall(context.Background())
	return s.Socket.Close(code, reason)
}

func (s *probeSocket) CloseNow() error {
	if cn, ok := s.Socket.(interface{ CloseNow() error }); ok {
		return cn.CloseNow()
	}
	return s.Socket.Close(coder.StatusGoingAway, "")
}

// isAppFrame reports whether p is an application frame of the harness
// (an echo or a push), not one of wsauth's control frames.
func isAppFrame(p []byte) bool {
	return len(p) > 2 && (p[0] == 'e' || p[0] == 'p') && p[1] == ':'
}

func jtiOf(p wsauth.Principal) string {
	s, _ := p.Claims["jti"].(string)
	return s
}

// serverConn is a connection being served, for opPush.
type serverConn struct {
	push chan string
}

// serve is the handler of every route: it reads and records every frame
// wsauth delivers, and echoes each on a writer goroutine of its own, as a
// chat server reads and broadcasts; pushes go out on the same writer.
func (w *world) serve(ctx context.Context, n *node, rt routeSpec, c *wsauth.Conn, key string) {
	w.h.servedNow(n.idx, key, rt, jtiOf(c.Principal()))
	w.sig.fire()
	w.cap.add("handler request", dumpRequest(c.Request()))
	if ps, ok := c.Socket().(*probeSocket); ok {
		ps.conn.Store(c)
	}
	sc := &serverConn{push: make(chan string, 16)}
	w.mu.Lock()
	w.conns[key] = sc
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		if w.conns[key] == sc {
			delete(w.conns, key)
		}
		w.mu.Unlock()
	}()
	out := make(chan string, 256)
	done := make(chan struct{})
	var wg sync.WaitGroup
	write := func(s string) {
		wctx, cancel := context.WithTimeout(ctx, w.cfg.wait)
		defer cancel()
		if err := c.Write(wctx, coder.MessageText, []byte(s)); err != nil {
			w.cap.add("write error", err.Error())
		}
	}
	wg.Go(func() {
		for {
			select {
			case s := <-out:
				write(s)
			case s := <-sc.push:
				write(s)
			case <-done:
				return
			}
		}
	})
	dropped := 0
	for {
		m, err := c.Read(ctx)
		if err != nil {
			w.cap.add("read error", err.Error())
			// DropInvalid: a refused frame is dropped and Read says why;
			// the connection goes on unless wsauth ended it.
			if rt.strategy().name == "per_drop" && !socketErr(err) && dropped < 100 {
				dropped++
				continue
			}
			break
		}
		id := frameID(m.Data)
		w.h.delivered(n.idx, key, id, jtiOf(m.Principal))
		w.sig.fire()
		select {
		case out <- "e:" + id:
		default:
		}
	}
	close(done)
	wg.Wait()
}

// socketErr reports whether err is the connection's end rather than a
// refused frame.
func socketErr(err error) bool {
	return coder.CloseStatus(err) != -1 || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, wsauth.ErrRateLimited) || errors.Is(err, context.Canceled)
}

// frameID is the id of a client frame, "f:<key>:<n>" (a JSON string on
// per-message routes), without its prefix: "<key>:<n>".
func frameID(b []byte) string {
	s := strings.Trim(string(b), `"`)
	s, _ = strings.CutPrefix(s, "f:")
	return s
}

// gateFor returns the gate of connection key, making an open one if
// there is none yet.
func (w *world) gateFor(key string) *gate {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.gates[key]
	if g == nil {
		g = newGate(false, w.sig.fire)
		w.gates[key] = g
	}
	return g
}
