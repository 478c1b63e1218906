// Package harness is a randomized, seeded test of wsauth's security
// invariants: it generates histories of operations against several wsauth
// nodes, records everything that happens, and checks the record. It has
// no code outside its tests.
//
// # What it runs
//
// A history runs in one of two worlds:
//
//   - redis: two nodes in the process, each with its own wsauth.Registry,
//     Limiter and go-redis client, sharing one real redis-server
//     (internal/redistest) as ticket store, revocation list
//     (redisstore.New) and bus (redisstore.NewBus); real loopback TCP, real
//     time.
//   - memstore: one node on memstore with a wsauthtest.Bus of its own,
//     inside a testing/synctest bubble over internal/memnet: virtual time,
//     so that credentials live for minutes and expire at once.
//
// Every node serves every route: each strategy (Query, Subprotocol,
// Header, Cookie, the four with InBand, FirstMessage, PerMessage with and
// without DropInvalid), with JWTs (HS256, "jti" and "sid" claims, lifetimes
// of a few seconds in the redis world) and with tickets (ticket.Issuer
// and wsauth.Tickets, carrying jti and sid as metadata; not on the
// per-message routes), on coder/websocket (wsauth.Handler) and on
// gorilla/websocket (Options.Upgrade with the adapter of examples/gorilla,
// and Accept). Each client slot dials from an address of its own
// (127.0.0.x, or 10.1.x.y in memory), so that the failure budget is per
// client.
//
// # What it generates
//
// A history is a list of operations drawn with math/rand/v2 from its seed
// (generate): connect (a fresh, held, expired, foreign-signed, revoked
// credential; optionally with the success answer held at a gate), send,
// push (the server writes unasked), refresh (same subject, other subject,
// expired, revoked by jti, revoked by sid, issued before its subject was
// revoked; on per-message routes also in a data frame), stall and resume
// a client's reads (its bytes are held before its WebSocket library sees
// them) or the server's writes to it (a full socket buffer), close,
// Registry.Revoke, Registry.RevokeToken by jti and by sid, sleep (so that
// credentials expire), a burst of failing attempts from one fresh address
// at once, several clients racing one ticket, a client that never
// authenticates, redis-server SIGKILL, restart (empty, or back to its last
// SAVE, as Redis's default persistence does), SIGSTOP and SIGCONT, SAVE,
// CLIENT KILL TYPE pubsub, and a node's bus cut (its Listen context ends)
// and restored (Listen again). Faults are repaired a few operations later.
// Each history also contains, at random places, the short scenarios the
// known ways of getting revocation, the budget and the deny list wrong
// need (ops_test.go, generator.scenario), each at least once.
//
// Operations run one after another on the test goroutine, each waiting,
// with a bound, for its effect (an echo, an auth_ok, a close) on a signal
// the recorders fire: never a sleep. Some run goroutines of their own (a
// gated connect, a burst, a race), so that they interleave with what
// follows.
//
// # What it records
//
// Every verifier call (node, client address, connection, credential,
// start, end, result); every frame Conn.Read delivers to a handler, with
// the principal it came with; every application frame a handler's
// Conn.Write hands to the socket, with the connection's principal then;
// every connection served; every wsauth Event of every node; every
// revocation call with its start, end and error; every revocation the bus
// hands to a Registry and every catch-up; every redis fault and bus cut;
// what clients sent and received. Credentials are named by their index in
// a table of ground truth (subject, when minted, expiry, jti, sid); the
// history holds none. Separately, a capture collects every text the
// library or its users could log or send: log and slog output (at debug
// level, SlogEvents included), the go-redis log, http.Server error logs,
// events, every error (Accept, Read, Write, Revoke, dial, verifier), close
// reasons, response headers and bodies, and requests as the Upgrade
// function and the handler see them.
//
// # What it checks
//
// The checker (check_test.go) fails a history on:
//
//   - a frame delivered to a handler, an application frame written to a
//     client, or a connection served, after its credential expired, after
//     wsauth reported the connection closed (EventClosed for an expiry, a
//     revocation or a refused later credential), or after its subject
//     (for a credential minted before the revocation began) or one of its
//     IDs was revoked, beyond the latency bounds below;
//   - a credential accepted (a verifier call that began) after a
//     revocation covering it returned, on any node, or, if the revocation
//     call failed, on the node that made it;
//   - a per-message frame delivered with another principal than its own
//     token's, a principal the harness never issued, and a frame a
//     client received that no handler wrote through wsauth;
//   - a ticket redeemed twice;
//   - more verifier calls from one address on one node than its failure
//     budget allows: when a call begins, the calls still running plus the
//     calls the verifier refused for the client's fault must fit in the
//     Limiter's burst plus what was earned back since that address's first
//     call;
//   - a credential in the capture, raw, base64url (with and without
//     padding), standard base64 or query-escaped, or a JWT's signature
//     alone;
//   - a goroutine (goleak, against the goroutines before the history) or
//     a file descriptor (/proc/self/fd) left after the teardown, which
//     closes every client and waits for every handler.
//
// # Latency bounds
//
// A revocation or an expiry is allowed to take effect late by:
//
//   - localBound on the node that made the revocation, and for expiry:
//     250 ms in the redis world (what two goroutines of a loaded 2-core
//     machine under -race take to notice each other), 1 ms in the
//     memstore world (virtual time does not pass while anything runs);
//   - remoteBound on the other nodes: 1 s, the bus; and never later than
//     localBound after the bus handed the revocation to the node's
//     Registry;
//   - after a node's bus was cut (its Listen ended, a redis kill, restart
//     or CLIENT KILL, a pause) during that second, until localBound after
//     its catch-up (the end of Listen, or the bus's catchUp) ran; a
//     revocation whose call failed is not required of other nodes at all,
//     as its documentation says.
//
// The bounds are measured from the end of the Revoke call, and against
// the moment a frame was delivered or a write began (a write stalled
// behind a full buffer that began in time is not late).
//
// # Running it
//
// go test ./internal/harness/ runs the CI seeds (ciSeeds) in both worlds,
// each seed in a child process of its own and all at once (a history
// counts the process's goroutines and descriptors),
// the broken variants (TestBrokenVariantsAreCaught: each of
// internal/breaks.RegisterLate, SkipRevocationsOnRefresh and
// SpendAfterVerify, and a store whose Check never reports a loss, must
// fail the harness with the violation it causes within the CI seeds:
// for each world, the memstore one first (virtual time, milliseconds),
// the history of a seed up to a few operations after the scenario that
// shows the bug, then the whole of it, then the next seed; the data-loss
// variant only has a scenario in the redis world), and the regression
// tests: about 6 s under -race on two cores. Without redis-server it
// skips, unless WSAUTH_REQUIRE_REDIS=1. For longer, with random seeds,
// printed:
//
//	WSAUTH_HARNESS_DURATION=30m go test -run 'TestHarness$' -timeout 40m -v ./internal/harness/
//
// A failing history is reported with its seed, its violations and a
// replay shrunk by dropping operations while a violation of the same kind
// persists (for WSAUTH_HARNESS_SHRINK, 15 s by default; 3 minutes in long
// runs), as the operations to paste into a regression test and as a
// command:
//
//	WSAUTH_HARNESS_REPLAY=memstore:17:0,3,9,12 go test -run 'TestHarness$' -v ./internal/harness/
//
// runs operations 0, 3, 9 and 12 of the memstore history of seed 17
// (redis:17 the whole redis history). WSAUTH_HARNESS_SEEDS=1,2,40 runs
// other fixed seeds; WSAUTH_HARNESS_TRACE=1 logs every operation and what
// it left behind; WSAUTH_HARNESS_DUMP=1 logs the recorded history (and
// WSAUTH_HARNESS_DUMP_CAPTURE=1 the captured text, credentials leaked
// into it included).
package harness
