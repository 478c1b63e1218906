package main

// Tests in virtual time: the same server inside a testing/synctest bubble,
// over an in-memory network, so that a minute-long credential expires at
// once and exactly when it should.

import (
	"testing"
	"testing/synctest"
	"time"

	coder "github.com/coder/websocket"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// wantNotice reads the expiry notice and checks that it came at
// start+at, saying in.
func wantNotice(t *testing.T, c client, start time.Time, at, in time.Duration) {
	t.Helper()
	b, err := c.recv(testCtx(t, time.Hour))
	var n transport.Expiring
	if err != nil || n.UnmarshalJSON([]byte(b)) != nil {
		t.Fatalf("expected the expiry notice, got %q, %v", b, err)
	}
	if got := time.Since(start); got != at || n.In != in {
		t.Fatalf("notice at %v saying %v, want at %v saying %v", got, n.In, at, in)
	}
}

// wantEnd reads until the connection ends and checks that it ended at
// start+at with code.
func wantEnd(t *testing.T, c client, start time.Time, at time.Duration, code int) {
	t.Helper()
	got, reason := c.end(testCtx(t, time.Hour))
	if got != code || time.Since(start) != at {
		t.Fatalf("ended at %v with %d %q, want at %v with %d", time.Since(start), got, reason, at, code)
	}
}

// TestExpiry: at the credential's expiry the connection is closed, at
// exactly that moment: with 4401 on the in-band routes, after the
// "expiring" notice 30 s before; on the Middleware routes the connection
// is cut (the gorilla client sees 1006).
func TestExpiry(t *testing.T) {
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newVirtualEnv(t)
				ctx := testCtx(t, time.Hour)
				start := time.Now()
				c, ok := e.mustDial(ctx, rt, "general", e.cred(rt, "alice"))
				want := 1006
				if !rt.middleware {
					want = 4401
					if !ok.ExpiresAt.Equal(start.Add(lifetime)) {
						t.Fatalf("auth_ok says it expires at %v, want %v", ok.ExpiresAt, start.Add(lifetime))
					}
					wantNotice(t, c, start, lifetime-30*time.Second, 30*time.Second)
				}
				wantEnd(t, c, start, lifetime, want)
				closed, err := e.events.wait(ctx, 1, closedFor("alice", "expired"))
				if err != nil || closed[0].Duration != lifetime {
					t.Fatalf("closed events %+v, %v", closed, err)
				}
			})
		})
	}
}

// TestRefreshMovesExpiry: a refresh at the notice moves the expiry to the
// new credential's: the next notice and the 4401 come then, not at the
// old expiry. On per-message a data frame with a later token does the
// same.
func TestRefreshMovesExpiry(t *testing.T) {
	cases := []struct {
		name string
		rt   route
		// frame: refresh with a refresh frame, else (per-message) with
		// a data frame carrying the token
		frame bool
	}{
		{"ws/query", wsQuery, true},
		{"ws/subprotocol", wsSubprotocol, true},
		{"ws/first-message", wsFirst, true},
		{"ws/per-message/refresh-frame", wsPer, true},
		{"ws/per-message/data-frame", wsPer, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newVirtualEnv(t)
				ctx := testCtx(t, time.Hour)
				start := time.Now()
				c, _ := e.mustDial(ctx, tc.rt, "general", e.cred(tc.rt, "alice"))
				k := c.(*coderClient)
				wantNotice(t, c, start, 30*time.Second, 30*time.Second)

				// At 30 s: a ticket gives another lifetime from now
				// (to 90 s); a JWT of twice the lifetime, to 150 s.
				next, exp := e.ticket("alice"), start.Add(30*time.Second+lifetime)
				if !tc.rt.tickets {
					next, exp = e.jwt("alice", 2*lifetime), start.Add(30*time.Second+2*lifetime)
				}
				if tc.frame {
					if err := k.refresh(ctx, next); err != nil {
						t.Fatal(err)
					}
					var ok transport.AuthOK
					if b, err := c.recv(ctx); err != nil || ok.UnmarshalJSON([]byte(b)) != nil || !ok.ExpiresAt.Equal(exp) {
						t.Fatalf("refresh answered %q, %v; want auth_ok expiring at %v", b, err, exp)
					}
				} else {
					k.tc.SetToken(next)
					if err := c.send(ctx, `"fresh"`); err != nil {
						t.Fatal(err)
					}
					if got, err := c.recv(ctx); err != nil || got != `alice: "fresh"` {
						t.Fatalf("echo %q, %v", got, err)
					}
				}
				wantNotice(t, c, start, exp.Sub(start)-30*time.Second, 30*time.Second)
				wantEnd(t, c, start, exp.Sub(start), 4401)
				if _, err := e.events.wait(ctx, 1, func(ev wsauth.Event) bool { return ev.Kind == wsauth.EventRefreshed }); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestAuthTimeout: on the first-message routes a client that sends no auth
// frame is closed with 4408 after FirstMessage.Timeout (PerMessage's), 10 s:
// wsauth closes the gorilla Socket while its Read waits.
func TestAuthTimeout(t *testing.T) {
	for _, rt := range []route{wsFirst, wsPer} {
		t.Run(rt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newVirtualEnv(t)
				ctx := testCtx(t, time.Hour)
				start := time.Now()
				c, _, err := coder.Dial(ctx, e.base+"/"+rt.name+"/general", e.opts())
				if err != nil {
					t.Fatal(err)
				}
				k := &coderClient{c: c}
				defer k.close()
				wantEnd(t, k, start, 10*time.Second, 4408)
			})
		})
	}
}
