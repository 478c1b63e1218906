package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// env is what the histories of one test share: the redis-server.
type env struct {
	redis *redistest.Server
}

func newEnv(t *testing.T) *env { return &env{redis: redistest.Start(t)} }

// variant is the library as a history runs it: as it is, or with one of
// the deliberate bugs switched on.
type variant struct {
	name       string
	sw         *atomic.Bool // a switch of internal/breaks
	noLossRule bool         // the store's Check never reports a loss
}

// world is one running history: its nodes, clients, credentials and
// what has been recorded.
type world struct {
	t       testing.TB
	cfg     config
	env     *env
	variant variant
	seed    uint64
	prefix  string
	start   time.Time
	h       *history
	cap     *capture
	sig     signal
	creds   *credTable
	signer  *wsauthtest.Signer
	foreign *wsauthtest.Signer // signs JWTs no node accepts
	nodes   []*node
	admin   *redis.Client // FLUSHALL, CLIENT KILL
	trace   bool
	// leakWait bounds the wait for descriptors to close; zero: 3 s.
	leakWait time.Duration

	handlers atomic.Int64 // HTTP handlers running
	inflight atomic.Int64 // goroutines of the driver still running

	mu         sync.Mutex
	gates      map[string]*gate
	conns      map[string]*serverConn
	clients    map[int]*client
	holds      map[int]int
	bursts     map[int]*burst
	addrs      int
	jtis       int
	transports []*http.Transport
	redisDown  bool
	redisPause int // index of the open pause fault, or -1
	redisKill  int // index of the open kill fault, or -1
}

// result is a history's outcome.
type result struct {
	world      string
	seed       uint64
	ops        []op
	violations []violation
	stats      map[string]int
	elapsed    time.Duration
}

func (r *result) failed() bool { return len(r.violations) > 0 }

// runs counts the histories of the process, so that the IDs of one never
// collide with another's in redis.
var runs atomic.Int64

// runHistory runs ops in a world of cfg and checks the history. The
// memstore world must run inside a synctest bubble (runMemHistory).
func runHistory(t testing.TB, cfg config, e *env, v variant, seed uint64, ops []op) *result {
	start := time.Now()
	fdBase := countFDs()
	leakBase := goleak.IgnoreCurrent()
	w := &world{
		t: t, cfg: cfg, env: e, variant: v, seed: seed, start: start,
		prefix: fmt.Sprintf("%s%d-%d", cfg.name[:1], seed, runs.Add(1)),
		h:      newHistory(), cap: &capture{}, creds: newCredTable(),
		signer: wsauthtest.NewSigner(), foreign: wsauthtest.NewSigner(),
		gates: map[string]*gate{}, conns: map[string]*serverConn{}, clients: map[int]*client{},
		holds: map[int]int{}, bursts: map[int]*burst{}, redisPause: -1, redisKill: -1,
	}
	logSink.Store(w.cap)
	defer logSink.Store(nil)
	if v.sw != nil {
		v.sw.Store(true)
		defer v.sw.Store(false)
	}
	w.trace = os.Getenv("WSAUTH_HARNESS_TRACE") == "1"
	if cfg.redis {
		w.admin = newRedisClient(e.redis.Addr)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := w.admin.FlushAll(ctx).Err()
		cancel()
		if err != nil {
			t.Fatalf("harness: FLUSHALL: %v", err)
		}
	}
	for i := range cfg.nodes {
		w.nodes = append(w.nodes, w.newNode(i))
	}
	for i, o := range ops {
		w.h.ran(o)
		out := w.exec(i, o)
		if w.trace {
			t.Logf("%s %3d +%-8v %-60s %s", cfg.name, i, time.Since(start).Round(time.Millisecond), o, out)
		}
	}
	w.teardown()
	if v.sw != nil {
		v.sw.Store(false)
	}
	res := &result{world: cfg.name, seed: seed, ops: ops, violations: w.check()}
	res.violations = append(res.violations, w.leaks(fdBase, leakBase)...)
	res.stats = w.stats()
	res.elapsed = time.Since(start)
	return res
}

// chanClosed reports whether ch is closed.
func chanClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// slot returns client slot c, making it on first use.
func (w *world) slot(c int) *client {
	w.mu.Lock()
	cl := w.clients[c]
	w.mu.Unlock()
	if cl != nil {
		return cl
	}
	cl = w.newClient(c)
	w.mu.Lock()
	w.clients[c] = cl
	w.transports = append(w.transports, cl.tr)
	w.mu.Unlock()
	return cl
}

func (w *world) node(i int) *node { return w.nodes[i%len(w.nodes)] }

// goTrack runs fn on a goroutine the teardown waits for.
func (w *world) goTrack(fn func()) {
	w.inflight.Add(1)
	go func() {
		defer w.sig.fire()
		defer w.inflight.Add(-1)
		fn()
	}()
}

func (w *world) exec(i int, o op) string {
	switch o.Kind {
	case opConnect:
		w.connect(o)
	case opRelease:
		cl := w.slot(o.C)
		key, _, _, _ := cl.snapshot()
		w.gateFor(key).release()
		cl.mu.Lock()
		dd := cl.dialDone
		cl.mu.Unlock()
		if dd != nil {
			w.sig.waitFor(3*w.cfg.wait, func() bool { return chanClosed(dd) })
		}
	case opSend:
		w.send(w.slot(o.C), o.Arg)
	case opPush:
		w.push(w.slot(o.C))
	case opRefresh:
		w.refresh(o)
	case opStallRead:
		w.slot(o.C).stall.pause()
	case opResumeRead:
		w.slot(o.C).stall.resume()
	case opStallWrite:
		key, _, _, _ := w.slot(o.C).snapshot()
		w.gateFor(key).stallOn()
	case opResumeWrite:
		key, _, _, _ := w.slot(o.C).snapshot()
		w.gateFor(key).stallOff()
	case opClose:
		cl := w.slot(o.C)
		if !cl.isOpen() {
			return ""
		}
		w.goTrack(cl.closeConn)
		w.sig.waitFor(w.cfg.wait, func() bool { return !cl.isOpen() })
	case opMint:
		w.mintHold(o)
	case opRevoke:
		w.revokeSubject(w.node(o.N), w.subject(o.S))
	case opRevokeJTI:
		var id int
		if o.Arg == 1 {
			h, ok := w.holds[o.H]
			if !ok {
				return ""
			}
			id = h
		} else {
			cl := w.slot(o.C)
			cl.mu.Lock()
			id = cl.cred
			cl.mu.Unlock()
			if id < 0 || cl.attempt == 0 {
				return ""
			}
		}
		w.revokeToken(w.node(o.N), w.creds.get(id).jti)
	case opRevokeSID:
		key, _, _, _ := w.slot(o.C).snapshot()
		w.revokeToken(w.node(o.N), w.sessionSID(key))
	case opSleep:
		// Time passing is the operation: credentials expire, revocations
		// age, faults last. In the memstore world the clock is virtual.
		time.Sleep(o.TTL)
	case opBurst:
		w.burst(i, o)
	case opRace:
		w.race(i, o)
	case opSilent:
		w.silent(o)
	case opRedisKill, opRedisRestart, opRedisPause, opRedisResume, opPubsubKill, opRedisSave:
		if w.cfg.redis {
			w.redisFault(o.Kind)
		}
	case opBusCut:
		w.busCut(w.node(o.N))
	case opBusRestore:
		w.busRestore(w.node(o.N))
	}
	return w.describe(o)
}

// describe says what o left behind, for WSAUTH_HARNESS_TRACE=1.
func (w *world) describe(o op) string {
	switch o.Kind {
	case opConnect, opRelease, opSend, opPush, opRefresh, opClose, opSilent, opStallRead, opStallWrite, opResumeRead, opResumeWrite:
		cl := w.slot(o.C)
		key, st, _, _ := cl.snapshot()
		s := [...]string{"idle", "dialing", "open", "ended"}[st]
		w.h.mu.Lock()
		defer w.h.mu.Unlock()
		for i := len(w.h.clientEnds) - 1; i >= 0; i-- {
			if e := w.h.clientEnds[i]; e.key == key {
				s += fmt.Sprintf(" (close %d %q)", e.code, e.reason)
				break
			}
		}
		return key + " " + s
	case opRevoke, opRevokeJTI, opRevokeSID:
		w.h.mu.Lock()
		defer w.h.mu.Unlock()
		if r := w.h.revs[len(w.h.revs)-1]; r.err != "" {
			return "failed: " + r.err
		}
		return "ok"
	}
	return ""
}

// connect dials a new connection of client o.C.
func (w *world) connect(o op) {
	cl := w.slot(o.C)
	if _, st, _, _ := cl.snapshot(); st == stateOpen {
		cl.endConn()
	}
	cl.mu.Lock()
	if dd := cl.dialDone; dd != nil && !chanClosed(dd) {
		cl.mu.Unlock()
		return // a gated connect never released: the slot is busy
	}
	n, rt := w.node(o.N), routes[o.R]
	cl.attempt++
	key := fmt.Sprintf("c%d.%d", o.C, cl.attempt)
	cl.key, cl.rt, cl.node, cl.subject, cl.state = key, rt, n.idx, o.S, stateDialing
	cl.sent, cl.silent, cl.conn, cl.tc, cl.cred = 0, false, nil, nil, -1
	dd := make(chan struct{})
	cl.dialDone = dd
	cl.mu.Unlock()
	g := newGate(o.Gate, w.sig.fire)
	w.mu.Lock()
	w.gates[key] = g
	w.mu.Unlock()
	cred := w.credFor(o, cl, n, rt)
	cl.mu.Lock()
	cl.cred = cred
	cl.mu.Unlock()
	secret := w.creds.get(cred).secret
	w.goTrack(func() {
		defer close(dd)
		ctx, cancel := context.WithTimeout(context.Background(), 3*w.cfg.wait)
		defer cancel()
		out := w.dial(ctx, cl.hc, n, rt, key, secret, cred)
		if out.err != nil {
			cl.mu.Lock()
			if cl.key == key {
				cl.state = stateEnded
			}
			cl.mu.Unlock()
			return
		}
		cl.open(out)
	})
	if o.Gate {
		w.sig.waitFor(w.cfg.wait, func() bool { return chanClosed(g.arrived) || chanClosed(dd) })
		return
	}
	w.sig.waitFor(3*w.cfg.wait, func() bool { return chanClosed(dd) })
}

// send sends n frames on cl's connection, and waits for the echo of the
// last unless the client or the server is stalled.
func (w *world) send(cl *client, n int) {
	key, st, c, tc := cl.snapshot()
	if st != stateOpen || cl.silent {
		return
	}
	var last string
	for range n {
		cl.mu.Lock()
		cl.sent++
		frame := fmt.Sprintf("%s:%d", key, cl.sent)
		cred := cl.cred
		cl.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.wait)
		w.h.sentBy(frame, cred)
		var err error
		if tc != nil {
			data, _ := json.Marshal("f:" + frame)
			err = tc.Write(ctx, data)
		} else {
			err = c.Write(ctx, coder.MessageText, []byte("f:"+frame))
		}
		cancel()
		if err != nil {
			w.cap.add("client write error", err.Error())
			return
		}
		last = frame
	}
	w.awaitFrame(cl, key, "e:"+last)
}

// awaitFrame waits for payload on cl, unless it cannot come: the client
// does not read, the server cannot write, or the connection ended.
func (w *world) awaitFrame(cl *client, key, payload string) {
	if cl.stall.paused() || w.gateFor(key).stalled() {
		return
	}
	since := w.h.eventCount()
	w.sig.waitFor(w.cfg.wait, func() bool {
		k, st, _, _ := cl.snapshot()
		// A refusal the connection survives (DropInvalid) means no echo.
		return cl.has(payload) || st != stateOpen || k != key || w.h.refusedSince(key, since)
	})
}

func (g *gate) stalled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stall != nil
}

// push makes the server write to cl unasked.
func (w *world) push(cl *client) {
	key, st, _, _ := cl.snapshot()
	if st != stateOpen {
		return
	}
	w.mu.Lock()
	sc := w.conns[key]
	w.mu.Unlock()
	if sc == nil {
		return
	}
	cl.mu.Lock()
	cl.sent++
	payload := fmt.Sprintf("p:%s:%d", key, cl.sent)
	cl.mu.Unlock()
	select {
	case sc.push <- payload:
	default:
		return
	}
	w.awaitFrame(cl, key, payload)
}

// refresh presents a new credential on cl's connection: a refresh frame,
// or on per-message routes (o.Arg 1) a data frame carrying it.
func (w *world) refresh(o op) {
	cl := w.slot(o.C)
	key, st, c, tc := cl.snapshot()
	if st != stateOpen || cl.silent || !cl.rt.strategy().inBand {
		return
	}
	// The credential is issued, and for credRevoked* revoked, on node
	// o.N, which may not be the client's.
	cred := w.credFor(o, cl, w.node(o.N), cl.rt)
	secret := w.creds.get(cred).secret
	if tc != nil && o.Arg == 1 {
		tc.SetToken(secret)
		cl.mu.Lock()
		cl.cred = cred
		cl.mu.Unlock()
		w.send(cl, 1)
		return
	}
	before := cl.authOKCount()
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.wait)
	err := transport.Refresh(ctx, c, secret)
	cancel()
	if err != nil {
		w.cap.add("refresh error", err.Error())
		return
	}
	if tc != nil {
		tc.SetToken(secret)
	}
	cl.mu.Lock()
	cl.cred = cred
	cl.mu.Unlock()
	if cl.stall.paused() || w.gateFor(key).stalled() {
		return
	}
	w.sig.waitFor(w.cfg.wait, func() bool {
		k, st, _, _ := cl.snapshot()
		return cl.authOKCount() > before || st != stateOpen || k != key
	})
}

// mintHold mints the credential of hold slot o.H.
func (w *world) mintHold(o op) {
	subject, sid := w.subject(o.S), fmt.Sprintf("%s-h%d", w.prefix, o.H)
	ttl := o.TTL
	if ttl == 0 {
		ttl = w.cfg.longTTL
	}
	var id int
	if o.Arg == 1 {
		id = w.mintTicket(w.nodes[0], subject, w.newJTI(), sid, noAddr, ttl)
	} else {
		id = w.mintJWT(subject, w.newJTI(), sid, ttl, w.signer.Key, false)
	}
	w.holds[o.H] = id
}

func (w *world) revokeSubject(n *node, subject string) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.wait)
	defer cancel()
	r := revocation{node: n.idx, kind: revSubject, value: subject, start: time.Now()}
	err := n.reg.Revoke(ctx, subject, "logged out")
	r.end = time.Now()
	if err != nil {
		r.err = err.Error()
		w.cap.add("revoke error", r.err)
	}
	w.h.revoked(r)
}

func (w *world) revokeToken(n *node, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.wait)
	defer cancel()
	r := revocation{node: n.idx, kind: revID, value: id, start: time.Now()}
	err := n.reg.RevokeToken(ctx, id, time.Now().Add(time.Hour), "")
	r.end = time.Now()
	if err != nil {
		r.err = err.Error()
		w.cap.add("revoke error", r.err)
	}
	w.h.revoked(r)
}

// burst is the failing attempts of one opBurst: their verifier calls are
// held until every attempt has reached the verifier or been refused.
type burst struct {
	release    chan struct{}
	inVerifier atomic.Int64
}

// holdBurst holds a verifier call of a burst's credential.
func (w *world) holdBurst(cred int) {
	w.mu.Lock()
	b := w.bursts[cred]
	w.mu.Unlock()
	if b == nil {
		return
	}
	b.inVerifier.Add(1)
	w.sig.fire()
	t := time.NewTimer(gateLimit)
	defer t.Stop()
	select {
	case <-b.release:
	case <-t.C:
	}
}

// burst makes o.Arg attempts at once from a fresh address, each with a
// credential of its own that the verifier refuses: the failure budget
// must let at most its burst reach the verifier.
func (w *world) burst(i int, o op) {
	n := w.node(o.N)
	ip := w.allocAddr()
	tr, hc := w.httpClient(ip, nil)
	w.mu.Lock()
	w.transports = append(w.transports, tr)
	w.mu.Unlock()
	b := &burst{release: make(chan struct{})}
	type try struct {
		rt     routeSpec
		key    string
		secret string
		cred   int
	}
	tries := make([]try, o.Arg)
	for j := range tries {
		rt := routes[(o.R+j)%len(routes)]
		var cred int
		if rt.jwt {
			cred = w.mintJWT(w.subject(0), w.newJTI(), "burst", w.cfg.longTTL, w.foreign.Key, true)
		} else {
			cred = w.creds.add(credRec{secret: newTicketID(), subject: w.subject(0), bad: true, mintStart: time.Now(), mintEnd: time.Now()})
		}
		tries[j] = try{rt: rt, key: fmt.Sprintf("b%d.%d", i, j), secret: w.creds.get(cred).secret, cred: cred}
		w.mu.Lock()
		w.bursts[cred] = b
		w.mu.Unlock()
	}
	var finished atomic.Int64
	for _, tr := range tries {
		w.goTrack(func() {
			defer finished.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), 3*w.cfg.wait)
			defer cancel()
			if out := w.dial(ctx, hc, n, tr.rt, tr.key, tr.secret, tr.cred); out.conn != nil {
				out.conn.CloseNow()
			}
		})
	}
	w.sig.waitFor(w.cfg.wait, func() bool { return b.inVerifier.Load()+finished.Load() >= int64(len(tries)) })
	close(b.release)
	w.sig.waitFor(3*w.cfg.wait, func() bool { return finished.Load() == int64(len(tries)) })
	w.mu.Lock()
	for _, tr := range tries {
		delete(w.bursts, tr.cred)
	}
	w.mu.Unlock()
}

// race presents one ticket from o.Arg clients at once, on every node in
// turn: exactly one may get in.
func (w *world) race(i int, o op) {
	rt := routes[o.R]
	if rt.jwt {
		return
	}
	ip := w.allocAddr()
	tr, hc := w.httpClient(ip, nil)
	w.mu.Lock()
	w.transports = append(w.transports, tr)
	w.mu.Unlock()
	s := int(w.seed % uint64(w.cfg.subjects))
	cred := w.mintTicket(w.nodes[0], w.subject(s), w.newJTI(), fmt.Sprintf("%s-r%d", w.prefix, i), noAddr, w.cfg.longTTL)
	secret := w.creds.get(cred).secret
	var finished atomic.Int64
	for j := range o.Arg {
		n := w.node(j)
		key := fmt.Sprintf("r%d.%d", i, j)
		w.goTrack(func() {
			defer finished.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), 3*w.cfg.wait)
			defer cancel()
			if out := w.dial(ctx, hc, n, rt, key, secret, cred); out.conn != nil {
				out.conn.Close(coder.StatusNormalClosure, "")
			}
		})
	}
	w.sig.waitFor(3*w.cfg.wait, func() bool { return finished.Load() == int64(o.Arg) })
}

// silent opens an in-band route for client o.C and never authenticates:
// the server closes it with 4408 after its Timeout.
func (w *world) silent(o op) {
	rt := routes[o.R]
	if rt.strategy().handshake {
		return
	}
	cl := w.slot(o.C)
	if _, st, _, _ := cl.snapshot(); st == stateOpen {
		cl.endConn()
	}
	cl.mu.Lock()
	if dd := cl.dialDone; dd != nil && !chanClosed(dd) {
		cl.mu.Unlock()
		return
	}
	n := w.node(o.N)
	cl.attempt++
	key := fmt.Sprintf("c%d.%d", o.C, cl.attempt)
	cl.key, cl.rt, cl.node, cl.state, cl.silent, cl.cred = key, rt, n.idx, stateDialing, true, -1
	cl.dialDone = nil
	cl.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.wait)
	defer cancel()
	c, resp, err := coder.Dial(ctx, n.base+rt.path()+"?cid="+key, &coder.DialOptions{HTTPClient: cl.hc})
	w.recordResponse(resp)
	if err != nil {
		w.cap.add("dial error", err.Error())
		cl.mu.Lock()
		cl.state = stateEnded
		cl.mu.Unlock()
		return
	}
	cl.open(outcome{conn: c})
}

// redisFault kills, restarts, pauses, resumes or snapshots (SAVE) the
// redis-server, or kills every node's Pub/Sub connection.
func (w *world) redisFault(k opKind) {
	srv := w.env.redis
	switch k {
	case opRedisKill:
		if w.redisDown {
			return
		}
		w.resumeRedis()
		w.redisKill = w.h.faulted(k)
		srv.Stop()
		w.redisDown = true
	case opRedisRestart:
		w.resumeRedis()
		f := w.h.faulted(k)
		srv.Restart()
		w.h.repaired(f)
		w.startRevocationList()
		if w.redisKill >= 0 {
			w.h.repaired(w.redisKill)
			w.redisKill = -1
		}
		w.redisDown = false
	case opRedisPause:
		if w.redisDown || w.redisPause >= 0 {
			return
		}
		w.redisPause = w.h.faulted(k)
		srv.Pause()
	case opRedisSave:
		// Not a fault: it loses nothing. A restart after it comes back
		// to it, with the revocations and redemptions since undone but
		// the revocation list's marker kept, as Redis's default
		// persistence does.
		if w.redisDown || w.redisPause >= 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := w.admin.Do(ctx, "SAVE").Err()
		cancel()
		if err != nil {
			w.cap.add("save error", err.Error())
		}
	case opRedisResume:
		w.resumeRedis()
	case opPubsubKill:
		if w.redisDown || w.redisPause >= 0 {
			return
		}
		f := w.h.faulted(k)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := w.admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err()
		cancel()
		w.h.repaired(f)
		if err != nil {
			w.cap.add("client kill error", err.Error())
		}
	}
}

// startRevocationList has a node read the revocation list of a redis
// restarted empty, which starts it (Status.Since) now, as Listen does at
// a node's start. Without it the list would start at the first check of a
// credential, and refuse every credential issued before, which is safe
// but leaves the rest of the history with nobody connected. The
// millisecond after it keeps credentials issued next after Since, which
// the store keeps to the millisecond, rounded up.
func (w *world) startRevocationList() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := w.nodes[0].revs.Check(ctx, [2]ticket.Key{}, ""); err != nil {
		w.cap.add("check error", err.Error())
	}
	time.Sleep(2 * time.Millisecond)
}

func (w *world) resumeRedis() {
	if w.redisPause < 0 {
		return
	}
	w.env.redis.Resume()
	w.h.repaired(w.redisPause)
	w.redisPause = -1
}

// busCut ends node n's bus subscription: revocations published elsewhere
// no longer reach it.
func (w *world) busCut(n *node) {
	if n.memBus != nil {
		if !n.isCut() {
			n.memBus.Cut()
			n.setCut(true)
			w.h.cutStart(n.idx, "listen")
		}
		return
	}
	n.listenMu.Lock()
	listening := n.listenCancel != nil
	n.listenMu.Unlock()
	if listening {
		w.h.cutStart(n.idx, "listen")
		n.unlisten()
	}
}

// busRestore subscribes node n again; the Registry catches up before
// Listen returns.
func (w *world) busRestore(n *node) bool {
	if n.memBus != nil {
		if n.isCut() {
			n.memBus.Restore()
			n.setCut(false)
			w.h.cutEnd(n.idx, "listen")
		}
		return true
	}
	n.listenMu.Lock()
	listening := n.listenCancel != nil
	n.listenMu.Unlock()
	if listening {
		return true
	}
	if err := n.listen(); err != nil {
		w.cap.add("listen error", err.Error())
		return false
	}
	w.h.cutEnd(n.idx, "listen")
	return true
}

func (n *node) isCut() bool {
	n.listenMu.Lock()
	defer n.listenMu.Unlock()
	return n.memCut
}

func (n *node) setCut(v bool) {
	n.listenMu.Lock()
	defer n.listenMu.Unlock()
	n.memCut = v
}

// teardown repairs every fault, lets every held answer and stalled
// write go, closes every client and waits for every handler, then stops
// the nodes.
func (w *world) teardown() {
	if w.cfg.redis {
		w.resumeRedis()
		if w.redisDown {
			w.redisFault(opRedisRestart)
		}
	}
	for _, n := range w.nodes {
		// Listen fails while redis is still coming back: retried, with a
		// bound, as a node would.
		for range 20 {
			if w.busRestore(n) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	w.mu.Lock()
	gates := make([]*gate, 0, len(w.gates))
	for _, g := range w.gates {
		gates = append(gates, g)
	}
	clients := make([]*client, 0, len(w.clients))
	for _, cl := range w.clients {
		clients = append(clients, cl)
	}
	w.mu.Unlock()
	for _, g := range gates {
		g.release()
		g.stallOff()
	}
	for _, cl := range clients {
		cl.stall.resume()
	}
	if !w.sig.waitFor(5*w.cfg.wait, func() bool { return w.inflight.Load() == 0 }) {
		w.h.note("teardown: %d driver goroutines still running", w.inflight.Load())
	}
	for _, cl := range clients {
		w.goTrack(cl.closeConn)
	}
	if !w.sig.waitFor(5*w.cfg.wait, func() bool { return w.inflight.Load() == 0 && w.handlers.Load() == 0 }) {
		w.h.note("teardown: %d client closes, %d handlers still running", w.inflight.Load(), w.handlers.Load())
	}
	for _, n := range w.nodes {
		n.unlisten()
		if n.srv != nil {
			n.srv.Close()
		}
		if n.hsrv != nil {
			n.hsrv.Close()
		}
		if n.rdb != nil {
			n.rdb.Close()
		}
	}
	if w.admin != nil {
		w.admin.Close()
	}
	w.mu.Lock()
	for _, tr := range w.transports {
		tr.CloseIdleConnections()
	}
	w.mu.Unlock()
}

// leaks reports goroutines and file descriptors left after the teardown.
func (w *world) leaks(fdBase int, base goleak.Option, opts ...goleak.Option) []violation {
	var vs []violation
	opts = append(opts, base,
		goleak.IgnoreAnyFunction("github.com/wsauth/wsauth/internal/redistest.(*process).wait"),
		goleak.IgnoreAnyFunction("os/exec.(*Cmd).Wait"))
	if err := goleak.Find(opts...); err != nil {
		vs = append(vs, violation{kind: "goroutine leak", detail: err.Error()})
	}
	// Descriptors are closed by goroutines that end on their own after
	// the teardown (a transport's read loop): poll, with a bound.
	wait := w.leakWait
	if wait == 0 {
		wait = 3 * time.Second
	}
	deadline := time.Now().Add(wait)
	n := countFDs()
	for n > fdBase && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		n = countFDs()
	}
	if n > fdBase {
		vs = append(vs, violation{kind: "fd leak", detail: fmt.Sprintf("%d file descriptors open, %d before the history", n, fdBase)})
	}
	return vs
}

// countFDs counts this process's open file descriptors.
func countFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(es)
}

// stats counts what the history did.
func (w *world) stats() map[string]int {
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	s := map[string]int{
		"ops": len(h.opsRun), "deliveries": len(h.deliveries), "writes": len(h.writes),
		"verifier calls": len(h.verifies), "revocations": len(h.revs), "events": len(h.events),
		"served": len(h.served), "client receipts": len(h.receipts), "faults": len(h.faults),
		"credentials": len(w.creds.snapshot()),
	}
	for _, k := range h.opsRun {
		s["op "+k]++
	}
	for _, e := range h.events {
		s["event "+string(e.e.Kind)]++
		if e.e.Reason != "" {
			s[string(e.e.Kind)+" "+e.e.Reason]++
		}
	}
	return s
}

// formatStats is s as one line, keys sorted.
func formatStats(s map[string]int) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, s[k])
	}
	return b.String()
}
