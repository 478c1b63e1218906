package harness

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// opKind is what one operation of a history does.
type opKind uint8

const (
	opConnect      opKind = iota + 1 // client C dials node N on route R with a credential
	opRelease                        // the held success answer of C's gated connect goes out
	opSend                           // C sends Arg frames
	opPush                           // the server writes a frame to C unasked
	opRefresh                        // C presents a new credential in band (Arg 1: a per-message data frame)
	opStallRead                      // C stops reading
	opResumeRead                     // C reads again
	opStallWrite                     // the server's writes to C block (its buffer is full)
	opResumeWrite                    // they go out
	opClose                          // C closes its connection
	opMint                           // hold slot H gets a credential for subject S (Arg 1: a ticket)
	opRevoke                         // Registry.Revoke(subject S) on node N
	opRevokeJTI                      // RevokeToken(jti) on node N: of C's credential, or (Arg 1) of hold H
	opRevokeSID                      // RevokeToken(sid) on node N: C's session
	opSleep                          // real (or virtual) time passes: TTL
	opBurst                          // Arg failing attempts at once from a fresh address, on node N
	opRace                           // Arg clients present one ticket at once
	opSilent                         // C opens an in-band route and never authenticates
	opRedisKill                      // SIGKILL redis-server
	opRedisRestart                   // restart it: empty, or from its last snapshot (opRedisSave)
	opRedisPause                     // SIGSTOP
	opRedisResume                    // SIGCONT
	opPubsubKill                     // CLIENT KILL TYPE pubsub: every node's bus connection
	opBusCut                         // node N stops listening (its Listen context ends)
	opBusRestore                     // node N listens again, and catches up
	opRedisSave                      // SAVE: the snapshot the next restart comes back to
)

var opNames = map[opKind]string{
	opConnect: "connect", opRelease: "release", opSend: "send", opPush: "push",
	opRefresh: "refresh", opStallRead: "stall-read", opResumeRead: "resume-read",
	opStallWrite: "stall-write", opResumeWrite: "resume-write", opClose: "close",
	opMint: "mint", opRevoke: "revoke", opRevokeJTI: "revoke-jti", opRevokeSID: "revoke-sid",
	opSleep: "sleep", opBurst: "burst", opRace: "race", opSilent: "silent",
	opRedisKill: "redis-kill", opRedisRestart: "redis-restart", opRedisPause: "redis-pause",
	opRedisResume: "redis-resume", opPubsubKill: "pubsub-kill", opBusCut: "bus-cut",
	opBusRestore: "bus-restore", opRedisSave: "redis-save",
}

var opConsts = map[opKind]string{
	opConnect: "opConnect", opRelease: "opRelease", opSend: "opSend", opPush: "opPush",
	opRefresh: "opRefresh", opStallRead: "opStallRead", opResumeRead: "opResumeRead",
	opStallWrite: "opStallWrite", opResumeWrite: "opResumeWrite", opClose: "opClose",
	opMint: "opMint", opRevoke: "opRevoke", opRevokeJTI: "opRevokeJTI", opRevokeSID: "opRevokeSID",
	opSleep: "opSleep", opBurst: "opBurst", opRace: "opRace", opSilent: "opSilent",
	opRedisKill: "opRedisKill", opRedisRestart: "opRedisRestart", opRedisPause: "opRedisPause",
	opRedisResume: "opRedisResume", opPubsubKill: "opPubsubKill", opBusCut: "opBusCut",
	opBusRestore: "opBusRestore", opRedisSave: "opRedisSave",
}

// credKind says which credential a connect or a refresh presents.
type credKind uint8

const (
	credFresh      credKind = iota + 1 // issued now to subject S, lifetime TTL (JWTs)
	credHeld                           // the one in hold slot H, issued earlier
	credExpired                        // authentic but expired
	credOther                          // issued now to another subject than the client's
	credBad                            // one the verifier refuses (foreign key, unknown ticket)
	credRevokedJTI                     // issued now, its jti revoked (on node N) before use
	credRevokedSID                     // issued now in a session revoked (on node N) before use
)

var credNames = map[credKind]string{
	credFresh: "fresh", credHeld: "held", credExpired: "expired", credOther: "other",
	credBad: "bad", credRevokedJTI: "revoked-jti", credRevokedSID: "revoked-sid",
}

var credConsts = map[credKind]string{
	credFresh: "credFresh", credHeld: "credHeld", credExpired: "credExpired", credOther: "credOther",
	credBad: "credBad", credRevokedJTI: "credRevokedJTI", credRevokedSID: "credRevokedSID",
}

// op is one operation of a history. The fields a kind does not use are
// zero. An op names clients, nodes, routes, subjects and hold slots by
// index, so that an op list is a replay: run again it does the same
// things, and only the timing of the goroutines differs.
type op struct {
	Kind opKind
	C    int // client slot
	N    int // node
	R    int // route (index into routes)
	S    int // subject
	H    int // hold slot
	Arg  int
	Cred credKind
	TTL  time.Duration // credential lifetime; for opSleep, how long
	Gate bool          // opConnect: hold the success answer until opRelease
}

func (o op) String() string {
	var b strings.Builder
	b.WriteString(opNames[o.Kind])
	switch o.Kind {
	case opConnect, opSilent:
		fmt.Fprintf(&b, " c%d n%d %s", o.C, o.N, routes[o.R].name())
		if o.Kind == opConnect {
			fmt.Fprintf(&b, " %s", o.credString())
		}
		if o.Gate {
			b.WriteString(" gated")
		}
	case opRefresh:
		fmt.Fprintf(&b, " c%d %s", o.C, o.credString())
		if o.Arg == 1 {
			b.WriteString(" in-a-data-frame")
		}
	case opRelease, opPush, opStallRead, opResumeRead, opStallWrite, opResumeWrite, opClose:
		fmt.Fprintf(&b, " c%d", o.C)
	case opSend:
		fmt.Fprintf(&b, " c%d x%d", o.C, o.Arg)
	case opMint:
		kind := "jwt"
		if o.Arg == 1 {
			kind = "ticket"
		}
		fmt.Fprintf(&b, " h%d s%d %s ttl=%v", o.H, o.S, kind, o.TTL)
	case opRevoke:
		fmt.Fprintf(&b, " n%d s%d", o.N, o.S)
	case opRevokeJTI:
		if o.Arg == 1 {
			fmt.Fprintf(&b, " n%d h%d", o.N, o.H)
		} else {
			fmt.Fprintf(&b, " n%d c%d", o.N, o.C)
		}
	case opRevokeSID:
		fmt.Fprintf(&b, " n%d c%d", o.N, o.C)
	case opSleep:
		fmt.Fprintf(&b, " %v", o.TTL)
	case opBurst:
		fmt.Fprintf(&b, " n%d %s x%d", o.N, routes[o.R].name(), o.Arg)
	case opRace:
		fmt.Fprintf(&b, " %s x%d", routes[o.R].name(), o.Arg)
	case opBusCut, opBusRestore:
		fmt.Fprintf(&b, " n%d", o.N)
	}
	return b.String()
}

func (o op) credString() string {
	switch o.Cred {
	case credFresh, credOther, credRevokedJTI, credRevokedSID:
		return fmt.Sprintf("%s(s%d,%v)", credNames[o.Cred], o.S, o.TTL)
	case credHeld:
		return fmt.Sprintf("held(h%d)", o.H)
	}
	return credNames[o.Cred]
}

// literal is o as a Go composite literal, for pasting a minimal replay
// into a regression test.
func (o op) literal() string {
	parts := []string{"Kind: " + opConsts[o.Kind]}
	add := func(name string, v int) {
		if v != 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", name, v))
		}
	}
	add("C", o.C)
	add("N", o.N)
	if o.Kind == opConnect || o.Kind == opSilent || o.Kind == opBurst || o.Kind == opRace {
		parts = append(parts, fmt.Sprintf("R: route(%q)", routes[o.R].name()))
	}
	add("S", o.S)
	add("H", o.H)
	add("Arg", o.Arg)
	if o.Cred != 0 {
		parts = append(parts, "Cred: "+credConsts[o.Cred])
	}
	switch {
	case o.TTL == 0:
	case o.TTL%time.Millisecond == 0:
		parts = append(parts, fmt.Sprintf("TTL: %d * time.Millisecond", o.TTL.Milliseconds()))
	default:
		parts = append(parts, fmt.Sprintf("TTL: %d * time.Microsecond", o.TTL.Microseconds()))
	}
	if o.Gate {
		parts = append(parts, "Gate: true")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// formatOps lists ops one per line, numbered, as a replay.
func formatOps(ops []op) string {
	var b strings.Builder
	for i, o := range ops {
		fmt.Fprintf(&b, "\t%3d  %-60s %s,\n", i, o.String(), o.literal())
	}
	return b.String()
}

// genClient is the generator's idea of a client slot: what it last did.
// The history may turn out otherwise (a refused connect, a revoked
// connection); the generator only needs to propose sensible operations.
type genClient struct {
	open    bool
	node    int
	route   int
	subject int
	exp     time.Duration // on the generator's clock; zero: none
	stalled bool
}

// generator draws the operations of one history from a seeded source.
type generator struct {
	cfg     *config
	rng     *rand.Rand
	ops     []op
	clients []genClient
	holds   []bool        // hold slot is a ticket
	paused  bool          // redis is paused
	killed  bool          // redis is down
	repair  int           // operations until redis is repaired
	cut     []bool        // node's bus is cut
	restore []int         // operations until a cut node listens again
	forcing bool          // the scenario is one every history has: make it certain to show
	now     time.Duration // the sleeps so far: when credentials expire
}

// generate returns the operations of the history of seed in cfg's world.
func generate(cfg *config, seed uint64) []op {
	ops, _ := generateMarked(cfg, seed)
	return ops
}

// generateMarked is generate, and says where each scenario every history
// has ends: the index of the operation after it.
func generateMarked(cfg *config, seed uint64) ([]op, map[int]int) {
	marks := map[int]int{}
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		cut: make([]bool, cfg.nodes), restore: make([]int, cfg.nodes)}
	// Every history has each of the scenarios that the known bugs need
	// at least once, at a random place; more come at random.
	forced := []int{scenarioAnswer, scenarioInBand, scenarioBurst, scenarioStall, scenarioOlderToken}
	if cfg.redis {
		forced = append(forced, scenarioLost)
	}
	g.rng.Shuffle(len(forced), func(i, j int) { forced[i], forced[j] = forced[j], forced[i] })
	for len(g.ops) < cfg.ops {
		if len(forced) > 0 && len(g.ops) >= cfg.ops*(6-len(forced))/7 {
			g.heal() // the forced scenarios run on a whole system
			g.forcing = true
			g.scenario(g.intn(cfg.nodes), forced[0])
			g.forcing = false
			marks[forced[0]] = len(g.ops)
			forced = forced[1:]
			continue
		}
		g.step()
	}
	return g.ops, marks
}

// Scenarios (see generator.scenario).
const (
	scenarioAnswer     = iota // revoked while the success answer is on its way
	scenarioInBand            // a revoked credential presented in band
	scenarioPreRevoked        // a credential issued before its subject was revoked, presented in band
	scenarioBurst             // a burst of failures from one address
	scenarioLost              // a revocation lost with redis's data, on a node that missed it
	scenarioStall             // a client that stops reading, then loses its credential
	scenarioOlderToken        // a per-message connection moves to an older token, which is then revoked
	numScenarios
)

// emit appends o, and updates what the generator thinks of its clients:
// revoked and expired ones are no longer open, and after a restart of
// redis, which loses the revocations, nobody is.
func (g *generator) emit(o op) {
	g.ops = append(g.ops, o)
	switch o.Kind {
	case opSleep:
		g.now += o.TTL
	case opRevoke:
		for i := range g.clients {
			if g.clients[i].subject == o.S {
				g.clients[i].open = false
			}
		}
	case opRevokeJTI, opRevokeSID:
		if o.Arg == 0 && o.C < len(g.clients) {
			g.clients[o.C].open = false
		}
	case opRedisRestart:
		for i := range g.clients {
			g.clients[i].open = false
		}
	}
	for i := range g.clients {
		if c := &g.clients[i]; c.open && c.exp > 0 && g.now >= c.exp {
			c.open = false
		}
	}
}

func (g *generator) intn(n int) int { return g.rng.IntN(n) }

// pick returns a random element of the indices for which ok holds, or -1.
func (g *generator) pick(n int, ok func(int) bool) int {
	var c []int
	for i := range n {
		if ok(i) {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return -1
	}
	return c[g.intn(len(c))]
}

func (g *generator) openClient(ok func(genClient) bool) int {
	return g.pick(len(g.clients), func(i int) bool { return g.clients[i].open && ok(g.clients[i]) })
}

// idleClient returns a slot without a connection, adding one if there is
// room.
func (g *generator) idleClient() int {
	if c := g.pick(len(g.clients), func(i int) bool { return !g.clients[i].open }); c >= 0 && (len(g.clients) >= g.cfg.clients || g.intn(2) == 0) {
		return c
	}
	if len(g.clients) < g.cfg.clients {
		g.clients = append(g.clients, genClient{})
		return len(g.clients) - 1
	}
	return -1
}

func (g *generator) ttl() time.Duration {
	if g.intn(3) == 0 {
		return g.cfg.longTTL
	}
	lo, hi := g.cfg.shortTTL/2, g.cfg.shortTTL*3/2
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

func (g *generator) sleep() time.Duration {
	return time.Duration(1+g.intn(int(g.cfg.maxSleep/time.Millisecond))) * time.Millisecond
}

// randomRoute returns a route; tickets only where it can take them.
func (g *generator) randomRoute(ok func(routeSpec) bool) int {
	return g.pick(len(routes), func(i int) bool { return ok == nil || ok(routes[i]) })
}

func (g *generator) connect(c, node, route int, cred credKind, gate bool) {
	s := g.intn(g.cfg.subjects)
	o := op{Kind: opConnect, C: c, N: node, R: route, S: s, Cred: cred, TTL: g.ttl(), Gate: gate}
	if cred == credHeld {
		o.H = g.pick(len(g.holds), func(h int) bool { return g.holds[h] == !routes[route].jwt })
		if o.H < 0 {
			o.Cred, o.H = credFresh, 0
		}
	}
	g.emit(o)
	// Only a fresh or held credential is expected to get in.
	g.clients[c] = genClient{open: o.Cred == credFresh || o.Cred == credHeld, node: node, route: route, subject: s}
	if routes[route].jwt {
		g.clients[c].exp = g.now + o.TTL
	}
}

func (g *generator) mint(subject int, ticket bool) int {
	h := len(g.holds)
	g.holds = append(g.holds, ticket)
	arg := 0
	if ticket {
		arg = 1
	}
	g.emit(op{Kind: opMint, H: h, S: subject, Arg: arg, TTL: g.cfg.longTTL})
	return h
}

func (g *generator) otherNode(n int) int {
	if g.cfg.nodes == 1 {
		return n
	}
	return (n + 1 + g.intn(g.cfg.nodes-1)) % g.cfg.nodes
}

func (g *generator) redisOK() bool { return g.cfg.redis && !g.paused && !g.killed }

// heal repairs redis and every node's bus.
func (g *generator) heal() {
	switch {
	case g.paused:
		g.emit(op{Kind: opRedisResume})
	case g.killed:
		g.emit(op{Kind: opRedisRestart})
	}
	g.paused, g.killed = false, false
	for n := range g.cut {
		if g.cut[n] {
			g.emit(op{Kind: opBusRestore, N: n})
			g.cut[n] = false
		}
	}
}

// step appends one operation, or one scenario of a few. Faults are
// repaired a few operations after they began: a history spends most of
// its time with the system whole, as a real one does.
func (g *generator) step() {
	cfg := g.cfg
	if g.paused || g.killed {
		if g.repair--; g.repair <= 0 {
			if g.paused {
				g.emit(op{Kind: opRedisResume})
			} else {
				g.emit(op{Kind: opRedisRestart})
			}
			g.paused, g.killed = false, false
			return
		}
	}
	for n := range g.cut {
		if g.cut[n] {
			if g.restore[n]--; g.restore[n] <= 0 {
				g.emit(op{Kind: opBusRestore, N: n})
				g.cut[n] = false
				return
			}
		}
	}
	x := g.intn(100)
	node := g.intn(cfg.nodes)
	switch {
	case x < 18: // connect
		c := g.idleClient()
		if c < 0 {
			return
		}
		creds := []credKind{credFresh, credFresh, credFresh, credFresh, credExpired, credBad, credHeld, credRevokedJTI}
		g.connect(c, node, g.randomRoute(nil), creds[g.intn(len(creds))], false)
	case x < 44: // send
		if c := g.openClient(func(genClient) bool { return true }); c >= 0 {
			g.emit(op{Kind: opSend, C: c, Arg: 1 + g.intn(3)})
		}
	case x < 50: // refresh
		c := g.openClient(func(gc genClient) bool { return routes[gc.route].strategy().inBand })
		if c < 0 {
			return
		}
		creds := []credKind{credFresh, credFresh, credFresh, credOther, credExpired, credBad, credRevokedJTI, credRevokedSID, credHeld}
		o := op{Kind: opRefresh, C: c, S: g.clients[c].subject, Cred: creds[g.intn(len(creds))], TTL: g.ttl(), N: g.clients[c].node}
		if o.Cred == credHeld {
			o.H = g.pick(len(g.holds), func(h int) bool { return g.holds[h] == !routes[g.clients[c].route].jwt })
			if o.H < 0 {
				o.Cred, o.H = credFresh, 0
			}
		}
		if o.Cred == credOther {
			o.S = (o.S + 1) % cfg.subjects
		}
		if routes[g.clients[c].route].strategy().perMessage && g.intn(2) == 0 {
			o.Arg = 1
		}
		g.emit(o)
		if o.Cred != credFresh && o.Cred != credHeld {
			g.clients[c].open = false
		}
	case x < 53: // push
		if c := g.openClient(func(genClient) bool { return true }); c >= 0 {
			g.emit(op{Kind: opPush, C: c})
		}
	case x < 58: // stall and resume
		c := g.openClient(func(genClient) bool { return true })
		if c < 0 {
			return
		}
		if g.clients[c].stalled {
			g.emit(op{Kind: opResumeRead, C: c})
			g.emit(op{Kind: opResumeWrite, C: c})
			g.clients[c].stalled = false
			return
		}
		if g.intn(2) == 0 {
			g.emit(op{Kind: opStallRead, C: c})
		} else {
			g.emit(op{Kind: opStallWrite, C: c})
		}
		g.clients[c].stalled = true
	case x < 61: // close
		if c := g.openClient(func(genClient) bool { return true }); c >= 0 {
			g.emit(op{Kind: opClose, C: c})
			g.clients[c].open = false
		}
	case x < 64:
		g.mint(g.intn(cfg.subjects), g.intn(2) == 0)
	case x < 67: // revoke a subject
		g.emit(op{Kind: opRevoke, N: node, S: g.intn(cfg.subjects)})
	case x < 70: // revoke a token or a session
		if c := g.openClient(func(genClient) bool { return true }); c >= 0 {
			if g.intn(2) == 0 {
				g.emit(op{Kind: opRevokeJTI, N: node, C: c})
			} else {
				g.emit(op{Kind: opRevokeSID, N: node, C: c})
			}
		} else if len(g.holds) > 0 {
			g.emit(op{Kind: opRevokeJTI, N: node, H: g.intn(len(g.holds)), Arg: 1})
		}
	case x < 76:
		g.emit(op{Kind: opSleep, TTL: g.sleep()})
	case x < 78:
		g.emit(op{Kind: opBurst, N: node, R: g.randomRoute(nil), Arg: cfg.burstN})
	case x < 80:
		g.emit(op{Kind: opRace, R: g.randomRoute(func(r routeSpec) bool { return !r.jwt }), Arg: 2 + g.intn(3)})
	case x < 82:
		if c := g.idleClient(); c >= 0 {
			g.emit(op{Kind: opSilent, C: c, N: node, R: g.randomRoute(func(r routeSpec) bool { return !r.strategy().handshake })})
			g.clients[c] = genClient{}
		}
	case x < 92: // faults
		g.fault(node)
	default:
		g.scenario(node, g.intn(numScenarios))
	}
}

// fault appends a fault of redis or of a node's bus connection.
func (g *generator) fault(node int) {
	if g.cut[node] && g.intn(2) == 0 {
		g.emit(op{Kind: opBusRestore, N: node})
		g.cut[node] = false
		return
	}
	if !g.cfg.redis || g.paused || g.killed {
		g.emit(op{Kind: opBusCut, N: node})
		g.cut[node], g.restore[node] = true, 2+g.intn(6)
		return
	}
	switch {
	case g.paused, g.killed:
		return // repaired by step
	default:
		switch g.intn(7) {
		case 0:
			g.emit(op{Kind: opRedisKill})
			g.killed, g.repair = true, 1+g.intn(3)
		case 1:
			g.emit(op{Kind: opRedisRestart})
		case 2:
			g.emit(op{Kind: opRedisPause})
			g.paused, g.repair = true, 1+g.intn(2)
		case 3:
			g.emit(op{Kind: opPubsubKill})
		case 4:
			g.emit(op{Kind: opRedisSave})
		default:
			g.emit(op{Kind: opBusCut, N: node})
			g.cut[node], g.restore[node] = true, 2+g.intn(6)
		}
	}
}

// scenario appends one of the short sequences in which the known ways of
// getting revocation, the budget or the deny list wrong show, so that
// every history tries each a few times; the rest of the history
// interleaves with them.
func (g *generator) scenario(node, which int) {
	cfg := g.cfg
	switch which {
	case scenarioAnswer:
		c := g.idleClient()
		if c < 0 {
			return
		}
		g.connect(c, node, g.randomRoute(nil), credFresh, true)
		at := node
		if !g.forcing && g.intn(2) == 0 {
			at = g.otherNode(node)
		}
		g.emit(op{Kind: opRevoke, N: at, S: g.clients[c].subject})
		g.emit(op{Kind: opSleep, TTL: cfg.localBound + cfg.localBound/2 + time.Millisecond})
		g.emit(op{Kind: opRelease, C: c})
		g.emit(op{Kind: opSend, C: c, Arg: 1})
		g.clients[c].open = false
	case scenarioInBand:
		c := g.openClient(func(gc genClient) bool { return routes[gc.route].strategy().inBand })
		if c < 0 {
			c = g.idleClient()
			if c < 0 {
				return
			}
			g.connect(c, node, g.randomRoute(func(r routeSpec) bool { return r.strategy().inBand }), credFresh, false)
			g.ops[len(g.ops)-1].TTL = cfg.longTTL
		}
		gc := g.clients[c]
		kinds := []credKind{credRevokedJTI, credRevokedSID}
		o := op{Kind: opRefresh, C: c, N: gc.node, S: gc.subject, Cred: kinds[g.intn(2)], TTL: cfg.longTTL}
		switch {
		case routes[gc.route].strategy().perMessage:
			// In a data frame, expiring before the connection's
			// credential: nothing but the deny list stands in its way.
			o.Arg, o.TTL = 1, cfg.shortTTL*2
			g.emit(o)
			g.emit(op{Kind: opSend, C: c, Arg: 1})
		case cfg.nodes > 1 && !g.cut[gc.node]:
			// Revoked on another node while this one does not listen:
			// nothing but the deny list stands in its way.
			o.N = g.otherNode(gc.node)
			g.emit(op{Kind: opBusCut, N: gc.node})
			g.emit(o)
			g.emit(op{Kind: opSend, C: c, Arg: 1})
			g.emit(op{Kind: opBusRestore, N: gc.node})
		default:
			g.emit(o)
			g.emit(op{Kind: opSend, C: c, Arg: 1})
		}
		g.clients[c].open = false
	case scenarioPreRevoked:
		c := g.idleClient()
		if c < 0 {
			return
		}
		rt := g.randomRoute(func(r routeSpec) bool { return r.strategy().inBand })
		s := g.intn(cfg.subjects)
		h := g.mint(s, !routes[rt].jwt)
		g.emit(op{Kind: opSleep, TTL: 3 * time.Millisecond}) // revoked strictly after, at the store's millisecond
		g.emit(op{Kind: opRevoke, N: node, S: s})
		g.emit(op{Kind: opSleep, TTL: 3 * time.Millisecond})
		g.emit(op{Kind: opConnect, C: c, N: node, R: rt, S: s, Cred: credFresh, TTL: cfg.longTTL})
		g.clients[c] = genClient{open: true, route: rt, subject: s}
		o := op{Kind: opRefresh, C: c, N: node, S: s, Cred: credHeld, H: h}
		if routes[rt].strategy().perMessage && g.intn(2) == 0 {
			o.Arg = 1
		}
		g.emit(o)
		g.emit(op{Kind: opSend, C: c, Arg: 1})
		g.clients[c].open = false
	case scenarioBurst:
		g.emit(op{Kind: opBurst, N: node, R: g.randomRoute(nil), Arg: cfg.burstN})
	case scenarioLost:
		if !g.redisOK() || cfg.nodes < 2 || g.cut[node] {
			g.emit(op{Kind: opSleep, TTL: g.sleep()})
			return
		}
		c := g.idleClient()
		if c < 0 {
			return
		}
		b := g.otherNode(node)
		rt := g.randomRoute(func(r routeSpec) bool { return r.jwt })
		s := g.intn(cfg.subjects)
		h := g.mint(s, false)
		g.emit(op{Kind: opSleep, TTL: 3 * time.Millisecond})
		g.emit(op{Kind: opBusCut, N: b})
		g.emit(op{Kind: opRevoke, N: node, S: s})
		g.emit(op{Kind: opRedisRestart})
		g.emit(op{Kind: opBusRestore, N: b})
		g.cut[b] = false
		g.emit(op{Kind: opConnect, C: c, N: b, R: rt, S: s, Cred: credHeld, H: h})
		g.clients[c] = genClient{open: true, route: rt, subject: s}
		g.emit(op{Kind: opSend, C: c, Arg: 1})
	case scenarioStall:
		c := g.openClient(func(genClient) bool { return true })
		if g.forcing || c < 0 {
			// A fresh client, on gorilla when forced: its Close lets the
			// Read under way finish, so that a frame read after the end
			// reaches wsauth, which must not deliver it.
			if c = g.idleClient(); c < 0 {
				return
			}
			g.connect(c, node, g.randomRoute(func(r routeSpec) bool { return r.gorilla || !g.forcing }), credFresh, false)
			g.ops[len(g.ops)-1].TTL = cfg.longTTL
			g.emit(op{Kind: opSend, C: c, Arg: 1})
			g.emit(op{Kind: opSleep, TTL: 5 * time.Millisecond}) // the handler is back in Read
		}
		g.emit(op{Kind: opStallRead, C: c})
		switch g.intn(3) {
		case 0:
			g.emit(op{Kind: opRevoke, N: node, S: g.clients[c].subject})
		case 1:
			g.emit(op{Kind: opRevokeJTI, N: node, C: c})
		default:
			g.emit(op{Kind: opRevokeSID, N: node, C: c})
		}
		if g.forcing {
			g.emit(op{Kind: opSleep, TTL: 2*cfg.localBound + time.Millisecond})
		} else {
			g.emit(op{Kind: opSleep, TTL: g.sleep()})
		}
		g.emit(op{Kind: opSend, C: c, Arg: 2})
		g.emit(op{Kind: opResumeRead, C: c})
		g.clients[c].open = false
	case scenarioOlderToken:
		c := g.openClient(func(gc genClient) bool { return routes[gc.route].strategy().perMessage })
		if c < 0 {
			c = g.idleClient()
			if c < 0 {
				return
			}
			g.connect(c, node, g.randomRoute(func(r routeSpec) bool { return r.strategy().perMessage }), credFresh, false)
			g.ops[len(g.ops)-1].TTL = cfg.longTTL
		}
		g.emit(op{Kind: opRefresh, C: c, S: g.clients[c].subject, Cred: credFresh, TTL: cfg.shortTTL * 2, Arg: 1})
		g.emit(op{Kind: opRevokeJTI, N: node, C: c})
		g.emit(op{Kind: opSleep, TTL: cfg.localBound * 2})
		g.emit(op{Kind: opSend, C: c, Arg: 1})
	}
}
