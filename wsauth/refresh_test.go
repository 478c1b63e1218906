package wsauth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestRefreshedTokenTakesTheFastPath: after a per-message refresh frame
// (what the JavaScript client sends on every "expiring"), frames repeating
// the new token reuse its Principal, as frames repeating the first one
// did, instead of going through the Verifier and the revocation store on
// every frame.
func TestRefreshedTokenTakesTheFastPath(t *testing.T) {
	now := time.Now()
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"old": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Claims: map[string]any{"jti": "j1"}},
		"new": {Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(2 * time.Hour), Claims: map[string]any{"jti": "j2"}},
	})
	revs := newRevocations()
	a := wsauth.New(stableVerifier{v}, wsauth.PerMessage{}, &wsauth.Options{Registry: wsauth.NewRegistry(revs, nil)})
	url := loopback(t, wsauth.Handler(a, echo))
	ctx := testCtx(t)
	c, out := perMessageRoute.dial(ctx, url, "old", nil)
	if c == nil {
		t.Fatalf("first frame refused: %v", out)
	}
	defer c.CloseNow()
	if _, b, err := c.Read(ctx); err != nil {
		t.Fatalf("first frame: %q, %v", b, err)
	}
	before := v.Calls()
	for range 10 {
		roundTrip(t, ctx, c, string(envelope(t, "old", `1`)))
	}
	if n := v.Calls() - before; n != 0 {
		t.Fatalf("before the refresh: %d verifications for 10 frames of the known token", n)
	}
	if err := transport.Refresh(ctx, c, "new"); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), transport.TypeAuthOK) {
		t.Fatalf("refresh answered %q, %v", b, err)
	}
	before, checks := v.Calls(), revs.checks.Load()
	for range 10 {
		if got := roundTrip(t, ctx, c, string(envelope(t, "new", `1`))); got != "alice: 1" {
			t.Fatalf("got %q", got)
		}
	}
	if n := v.Calls() - before; n != 0 {
		t.Fatalf("after a refresh to \"new\", 10 frames repeating it: %d verifier calls and %d revocation-store checks (want 0: the fast path)", n, revs.checks.Load()-checks)
	}
}
