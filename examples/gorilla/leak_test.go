package main

import (
	"net/http"
	"os"
	"runtime/debug"
	"testing"
	"time"
)

// TestNoDescriptorsLeft: however a connection on any route ends (closed
// by its client, refused, or revoked while open), the process's file
// descriptors come back to what they were: nothing a gorilla connection
// behind Middleware or a Socket in band holds outlives it. (Goroutines
// are checked for the whole package by TestMain.) It counts the whole
// process's descriptors, so no test of this package may run in parallel
// with it.
func TestNoDescriptorsLeft(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count descriptors with")
	}
	// No collection meanwhile: the finalizer of a connection nobody
	// closed would close its descriptor, and hide the leak.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	e := newEnv(t, nil)
	ctx := testCtx(t, 30*time.Second)
	base := openFDs() // the server's listener and the poller are open
	round := func() {
		for _, rt := range allRoutes {
			c, _, o := e.dial(ctx, rt, "general", e.cred(rt, "alice"))
			if c == nil {
				t.Fatalf("%s: refused: %v", rt.name, o)
			}
			if err := c.send(ctx, `"hi"`); err != nil {
				t.Fatal(err)
			}
			if _, err := c.recv(ctx); err != nil {
				t.Fatal(err)
			}
			c.close()

			if c, _, o := e.dial(ctx, rt, "general", e.forged(rt)); c != nil || !rt.refusedWith(o, 401, 4401) {
				t.Fatalf("%s: forged credential: %v", rt.name, o)
			}

			c, _, o = e.dial(ctx, rt, "general", e.cred(rt, "bob"))
			if c == nil {
				t.Fatalf("%s: bob refused: %v", rt.name, o)
			}
			if err := e.srv.Registry.Revoke(ctx, "bob", "logged out"); err != nil {
				t.Fatal(err)
			}
			if code, _ := c.end(ctx); code != 4401 && code != 1006 {
				t.Fatalf("%s: revoked connection ended with %d", rt.name, code)
			}
			c.close()
			// Revocations refuse what was issued up to their millisecond:
			// bob's next credential must be minted in a later one. This
			// moves the clock on; nothing waits for another goroutine.
			time.Sleep(2 * time.Millisecond)
		}
	}
	// Three rounds stay within the failure budget of one address (20),
	// which the forged credentials spend.
	for range 3 {
		round()
	}
	// Descriptors are closed by goroutines that end on their own after a
	// connection does: poll, with a bound.
	deadline := time.Now().Add(5 * time.Second)
	n := openFDs()
	for n > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		n = openFDs()
	}
	if n > base {
		t.Fatalf("%d file descriptors open after 3 rounds of %d connections, %d before", n, 3*len(allRoutes), base)
	}
}

// openFDs counts this process's open file descriptors, once the default
// HTTP client's idle connections are closed.
func openFDs() int {
	http.DefaultClient.CloseIdleConnections()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(es)
}
