// Command revokebench measures fast revocation: how long
// Registry.Revoke takes, and how soon after it every WebSocket of the
// revoked subject, spread over several nodes, has received its 4401 close
// frame.
//
// The command lines of BENCHMARKS.md ("Revoke latency"):
//
//	go build -o /tmp/revokebench ./internal/revokebench
//	/tmp/revokebench -n 50000 -runs 3 -idle-wait 10m -idle-max 25
//	/tmp/revokebench -n 6000 -runs 3 -idle-wait 10m -idle-max 25
//	/tmp/revokebench -n 50000 -runs 3 -idle-wait 10m -idle-max 25 -bare
//	/tmp/revokebench -n 50000 -runs 1 -cpuprofile /tmp/rb/n -client-cpuprofile /tmp/rb/c
//	go tool pprof -top /tmp/rb/n.run1.A   # the node that called Revoke
//	go tool pprof -top /tmp/rb/n.run1.B   # a node that heard it on Pub/Sub
//	/tmp/revokebench -n 50000 -runs 1 -trace /tmp/rb/t
//	go tool trace /tmp/rb/t.run1.A        # User-defined regions: Registry.Revoke, publish
//	/tmp/revokebench -nodes 1 -n 16667 -runs 2 -node-cpus 0 -client-cpus 1
//
// (go run ./internal/revokebench … works too.) -idle-wait waits, before
// each run and again right before the revoke, for the machine to be
// quiet: other work competes for the same cores. -bare replaces wsauth on
// the nodes by coder/websocket and a Pub/Sub channel of its own (see
// bareNode): the floor that the WebSocket library and the machine allow.
// -node-cpus and -client-cpus pin the processes with taskset.
//
// The command is an orchestrator; every process it starts is itself
// again, with -role. For each run it starts, afresh:
//
//   - one redis-server (no persistence) on a free loopback port;
//   - -nodes server nodes (-role node; A, B, C, …), each with its own
//     wsauth.Registry over redisstore.New and redisstore.NewBus on its own
//     go-redis client of that server, Listen called at start. Each serves
//     one FirstMessage endpoint (GET /ws) verifying HS256 JWTs with
//     wsauth/jwtverify, the failure limiter off (wsauth.NewLimiter(0, 0));
//     its handlers idle in Read until the connection ends. An admin
//     endpoint (POST /revoke) calls Registry.Revoke(ctx, "alice", "logged
//     out") and answers with when the call started and how long it took;
//     GET /stats, POST /profile/{start,stop} and /trace/{start,stop}
//     serve the orchestrator.
//   - as many client processes (-role client) as hold -n sockets of
//     "alice" at most -per-client each, plus -bob sockets of "bob" on
//     every node (held by the first client), which must stay open. Socket
//     i goes to node i mod -nodes, from source address 127.0.0.(2 + i mod
//     -sources), so that ephemeral ports do not run short. Each socket
//     presents its own token (sub, a fractional iat, a unique jti, exp in
//     an hour), minted with a key the orchestrator shares through the
//     environment, and counts as open once auth_ok is read.
//
// Once every socket is open and every node counts its handlers, and after
// -settle, the orchestrator calls POST /revoke on node -revoke-on (A) and
// hands the call's start time t0 (wall clock, Unix ns: all processes are
// on one machine) to the clients. Each client records, for every socket,
// when its Read returned the close frame, and reports per node: sockets
// closed with 4401, ended otherwise, still open at t0 + -bound, and the
// close time minus t0 (p50, p99, max), and whether bob's sockets still
// answer a ping.
//
// The nodes report, from wrappers around the store and the bus (nothing
// of wsauth is changed): how long the call's store write and publish took
// (the rest of the call is the local end of the node's connections),
// when the bus delivered the revocation on each node ("heard at"; on the
// revoking node, its own message coming back) and how long the Registry
// took to apply it there, when each revoked connection's close goroutine
// ran (its EventClosed, right before the close frame is written) and
// when its handler returned. Every time is after t0.
//
// Also measured over the window from just before the call until every
// revoked handler has returned: the CPU time of each process (from
// /proc/<pid>/stat) and of the whole machine (/proc/stat), in total and
// every 100 ms with the closes that arrived then (-timeline). With
// -cpuprofile P every node writes a CPU profile of that window to
// P.run<k>.<node>, with -client-cpuprofile P every client to
// P.run<k>.client<i>, and with -trace P every node an execution trace.
//
// The soft limit on open files is raised to the hard limit in every
// process; with the usual 20,000 that is why a client holds at most
// -per-client sockets and 50,000 sockets take three nodes.
package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"log"
	"os"
	"strings"
	"time"

	"github.com/wsauth/wsauth/internal/procstat"
)

// keyEnv carries the HS256 key, hex, from the orchestrator to its
// children.
const keyEnv = "REVOKEBENCH_KEY"

func main() {
	role := flag.String("role", "", "internal: node or client (the orchestrator starts them)")

	var o orchConfig
	flag.IntVar(&o.n, "n", 50000, "sockets of alice, over all nodes")
	flag.IntVar(&o.bob, "bob", 3, "sockets of bob on each node, which must stay open")
	flag.IntVar(&o.nodes, "nodes", 3, "server nodes")
	flag.IntVar(&o.perClient, "per-client", 17000, "most sockets one client process holds")
	flag.IntVar(&o.runs, "runs", 3, "runs, each with fresh processes and a fresh redis-server")
	flag.IntVar(&o.revokeOn, "revoke-on", 0, "index of the node that calls Revoke (0 is A)")
	flag.DurationVar(&o.bound, "bound", 5*time.Second, "how long after the call a socket may take to close before it counts as still open")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "pause between the last socket open and the revoke")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write each node's CPU profile of the revoke to `prefix`.run<k>.<node>")
	flag.DurationVar(&o.idleWait, "idle-wait", 0, "before each run, and again before the revoke, wait up to this long for the machine to be quiet (see -idle-max)")
	flag.Float64Var(&o.idleMax, "idle-max", 20, "quiet: busy at most this many % of one core, over 2 s")
	flag.StringVar(&o.nodeCPUs, "node-cpus", "", "run the nodes on these CPUs only (a taskset -c list, e.g. 0)")
	flag.StringVar(&o.clientCPUs, "client-cpus", "", "run the clients and redis-server on these CPUs only (e.g. 1)")
	flag.BoolVar(&o.timeline, "timeline", true, "print the CPU of the machine and of each process, and the closes that arrived, every 100 ms after the call")
	flag.StringVar(&o.trace, "trace", "", "write each node's execution trace of the revoke to `prefix`.run<k>.<node> (go tool trace -pprof=sched)")
	flag.StringVar(&o.clientProfile, "client-cpuprofile", "", "write each client's CPU profile of the revoke to `prefix`.run<k>.client<i>")

	var c clientConfig
	flag.IntVar(&c.sources, "sources", 16, "client source addresses 127.0.0.2… to spread sockets over")
	flag.IntVar(&c.conc, "c", 48, "concurrent dials per client process")
	flag.IntVar(&c.id, "id", 0, "internal (client): its number")
	flag.StringVar(&c.nodes, "node-addrs", "", "internal (client): comma-separated node addresses")
	flag.IntVar(&c.first, "first", 0, "internal (client): global index of its first alice socket")
	flag.IntVar(&c.alice, "alice", 0, "internal (client): alice sockets to open")
	flag.IntVar(&c.bob, "bob-per-node", 0, "internal (client): bob sockets to open on each node")
	flag.StringVar(&c.run, "run", "1", "internal (client): run label, part of every jti")

	var nd nodeConfig
	flag.StringVar(&nd.name, "name", "A", "internal (node): its name")
	flag.StringVar(&nd.redis, "redis", "", "internal (node): redis address")
	flag.BoolVar(&o.bare, "bare", false, "baseline: nodes without wsauth (coder/websocket and go-redis Pub/Sub alone); see bareNode")
	flag.Parse()

	if err := procstat.RaiseFileLimit(); err != nil {
		log.Printf("raising the open file limit: %v", err)
	}
	var err error
	switch *role {
	case "":
		o.client = c
		err = orchestrate(o)
	case "node":
		nd.bare = o.bare
		log.SetPrefix("node " + nd.name + ": ")
		err = runNode(nd)
	case "client":
		log.SetPrefix("client " + strings.TrimSpace(flag.Lookup("id").Value.String()) + ": ")
		err = runClient(c)
	default:
		err = errors.New("unknown -role " + *role)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// keyFromEnv is the key the orchestrator shared.
func keyFromEnv() ([]byte, error) {
	key, err := hex.DecodeString(os.Getenv(keyEnv))
	if err != nil || len(key) < 32 {
		return nil, errors.New("no key in " + keyEnv)
	}
	return key, nil
}

// nowNS is the wall clock in Unix nanoseconds, the one time base of every
// process.
func nowNS() int64 { return time.Now().UnixNano() }
