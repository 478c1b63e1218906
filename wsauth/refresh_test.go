package wsauth_test

import (
	"strings"
	"testing"

	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
)

// TestRefreshedTokenTakesTheFastPath: after a per-message refresh frame
// (what the JavaScript client sends on every "expiring"), frames repeating
// the new token reuse its Principal, as frames repeating the first one
// did, instead of going through the Verifier and the revocation store on
// every frame.
func TestRefreshedTokenTakesTheFastPath(t *testing.T) {
	v := oldAndNew()
	revs := newRevocations()
	a := wsauth.New(stableVerifier{v}, wsauth.PerMessage{}, &wsauth.Options{Registry: wsauth.NewRegistry(revs, nil)})
	url := loopback(t, wsauth.Handler(a, echo))
	ctx := testCtx(t)
	c := dialOld(t, ctx, url)
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
