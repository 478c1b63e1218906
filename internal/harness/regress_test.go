package harness

import (
	"strings"
	"testing"
	"time"
)

// Regression tests: each is a history the harness found failing, shrunk
// and written out as operations, in the memstore world (virtual time,
// so they are exact and take milliseconds). Both failed on the tree the
// harness was written against and pass since 93880c8 fixed wsauth.

// runRegression runs ops in the memstore world and fails t with every
// violation.
func runRegression(t *testing.T, ops []op) {
	t.Helper()
	res := runOps(t, nil, memConfig, variant{}, 1, ops)
	if res.failed() {
		var b strings.Builder
		writeViolations(&b, res.violations)
		t.Errorf("%d violations:\n%s\noperations:\n%s", len(res.violations), b.String(), formatOps(ops))
	}
}

// TestRegressionPerMessageOlderTokenRevoked: a per-message connection
// authenticated with a token expiring in ten minutes sends a frame with a
// second token of the same subject that expires sooner. wsauth verifies
// it and keeps it for its fast path, but leaves the connection filed in
// the Registry under the first token's ID (the principal changes only for
// a later exp). RevokeToken of the second token's jti then closes
// nothing, and every later frame carrying it is delivered, through the
// fast path, without a check: frames delivered with a revoked token, for
// as long as the client likes.
//
// Found by seeds 1-8 of both worlds (scenarioOlderToken, and at random).
// It was in wsauth/permessage.go, receive: the memo (c.remember) was
// updated for a token the Registry did not index. Since 93880c8 only a
// token that becomes the principal is remembered.
func TestRegressionPerMessageOlderTokenRevoked(t *testing.T) {
	for _, rt := range []string{"per/jwt/coder", "per/jwt/gorilla", "per_drop/jwt/coder"} {
		t.Run(strings.ReplaceAll(rt, "/", "_"), func(t *testing.T) {
			runRegression(t, []op{
				{Kind: opConnect, R: route(rt), Cred: credFresh, TTL: 10 * time.Minute},
				{Kind: opRefresh, Cred: credFresh, TTL: time.Minute, Arg: 1}, // a data frame with a token expiring sooner
				{Kind: opRevokeJTI},               // RevokeToken(its jti)
				{Kind: opSleep, TTL: time.Second}, // well past any latency bound
				{Kind: opSend, Arg: 1},            // delivered, with the revoked token
			})
		})
	}
}

// TestRegressionReadAfterEnd: a client that stops reading is revoked (or
// its credential expires) while its handler is in Conn.Read. wsauth
// marks the connection ended and closes the socket, but the close
// handshake waits for a client that does not read, and the Read already
// under way returns the client's next frame, whenever it comes (up to the
// socket's close timeout, 5 s): the handler is handed a frame seconds
// after the revocation, although "once the connection has been ended by
// wsauth, Read returns an error wrapping ErrExpired or ErrRevoked".
// Over gorilla/websocket (Options.Upgrade and the adapter of
// examples/gorilla, whose Close lets the Read under way finish); over
// coder/websocket the Close takes the read lock between the frame header
// and its payload, which hides it.
//
// Found by seeds 2 and 3 of the memstore world, 5 of the redis world
// (scenarioStall). It was in wsauth/conn.go: Conn.Read returned what the
// socket read without looking at c.endedErr. Since 93880c8 it checks
// after every socket read.
func TestRegressionReadAfterEnd(t *testing.T) {
	for _, rt := range []string{"query/jwt/gorilla", "first/jwt/gorilla", "per/jwt/gorilla", "cookie_ib/ticket/gorilla"} {
		t.Run(strings.ReplaceAll(rt, "/", "_")+"/revoked", func(t *testing.T) {
			runRegression(t, []op{
				{Kind: opConnect, R: route(rt), Cred: credFresh, TTL: 10 * time.Minute},
				{Kind: opSend, Arg: 1},
				{Kind: opSleep, TTL: time.Millisecond}, // the handler is back in Read
				{Kind: opStallRead},
				{Kind: opRevoke},
				{Kind: opSleep, TTL: 2 * time.Second},
				{Kind: opSend, Arg: 1}, // delivered 2 s after the revocation
				{Kind: opResumeRead},
			})
		})
		if strings.Contains(rt, "ticket") || strings.HasPrefix(rt, "per/") {
			// A ticket does not expire on the connection; a per-message
			// frame's token is checked for expiry with every frame.
			continue
		}
		t.Run(strings.ReplaceAll(rt, "/", "_")+"/expired", func(t *testing.T) {
			runRegression(t, []op{
				{Kind: opConnect, R: route(rt), Cred: credFresh, TTL: 20 * time.Second},
				{Kind: opSend, Arg: 1},
				{Kind: opSleep, TTL: time.Millisecond},
				{Kind: opStallRead},
				{Kind: opSleep, TTL: 22 * time.Second}, // past the expiry
				{Kind: opSend, Arg: 1},                 // delivered 2 s after it
				{Kind: opResumeRead},
			})
		})
	}
}
