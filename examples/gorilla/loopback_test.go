package main

// Tests over real loopback connections: gorilla on the server side of every
// route, gorilla or coder/websocket on the client side.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestLogin: POST /tickets and POST /token answer a login with a
// credential, and refuse a wrong password; a ticket admits one connection.
func TestLogin(t *testing.T) {
	e := newEnv(t, nil)
	ctx := testCtx(t, 10*time.Second)
	client := &http.Client{}
	defer client.CloseIdleConnections()
	post := func(path, user, pass string) (int, map[string]string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http"+strings.TrimPrefix(e.base, "ws")+path, nil)
		req.SetBasicAuth(user, pass)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if status, _ := post("/tickets", "alice", "bob"); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}
	status, body := post("/tickets", "alice", "alice")
	if status != http.StatusOK || body["ticket"] == "" {
		t.Fatalf("POST /tickets: %d %v", status, body)
	}
	c, _ := e.mustDial(ctx, mwQuery, "general", body["ticket"])
	c.close()
	if _, _, o := e.dial(ctx, mwQuery, "general", body["ticket"]); o.status != http.StatusUnauthorized {
		t.Fatalf("a ticket used twice: %v", o)
	}
	status, body = post("/token", "bob", "bob")
	if status != http.StatusOK || body["token"] == "" {
		t.Fatalf("POST /token: %d %v", status, body)
	}
	c, ok := e.mustDial(ctx, wsSubprotocol, "general", body["token"])
	c.close()
	if ok.Subject != "bob" {
		t.Fatalf("auth_ok %+v", ok)
	}
}

// TestRoutes: on every route, a good credential is accepted and its
// subject echoed; a forged or expired one, or a ticket used twice, is
// refused with 401 (Middleware) or 4401 (in band); a room the subject may
// not enter is refused by the Authorizer with 403 or 4403.
func TestRoutes(t *testing.T) {
	e := newEnv(t, nil)
	for _, rt := range allRoutes {
		t.Run(rt.name, func(t *testing.T) {
			ctx := testCtx(t, 10*time.Second)
			cred := e.cred(rt, "alice")
			c, ok := e.mustDial(ctx, rt, "general", cred)
			if !rt.middleware && (ok.Subject != "alice" || !ok.ExpiresAt.After(time.Now())) {
				t.Fatalf("auth_ok %+v", ok)
			}
			if err := c.send(ctx, `"hi"`); err != nil {
				t.Fatal(err)
			}
			if got, err := c.recv(ctx); err != nil || got != `alice: "hi"` {
				t.Fatalf("echo %q, %v", got, err)
			}
			c.close()

			refused := map[string]string{"forged": e.forged(rt)}
			if rt.tickets {
				refused["used twice"] = cred
			} else {
				refused["expired"] = e.jwt("alice", -time.Minute)
			}
			for name, cred := range refused {
				if c, _, o := e.dial(ctx, rt, "general", cred); c != nil || !rt.refusedWith(o, 401, 4401) {
					t.Errorf("%s credential: %v", name, o)
				}
			}
			if c, _, o := e.dial(ctx, rt, "staff", e.cred(rt, "bob")); c != nil || !rt.refusedWith(o, 403, 4403) {
				t.Errorf("bob in staff: %v", o)
			}
			e.mustDial(ctx, rt, "staff", e.cred(rt, "alice")) // fails the test if refused
		})
	}
}

// TestRevokeAcrossNodes: Registry.Revoke on another node, sharing the bus
// and the store, closes alice's live gorilla connections on every route:
// with 4401 and the reason on the in-band routes; on the Middleware routes
// the TCP connection ends (1006), which is all Middleware can do. Bob's
// connection stays, and credentials alice had before are refused.
func TestRevokeAcrossNodes(t *testing.T) {
	var bus wsauthtest.Bus
	store := newStore()
	a := newEnv(t, func(c *config) { c.Store, c.Bus = store, &bus })
	b := newEnv(t, func(c *config) { c.Store, c.Bus, c.JWTKey = store, &bus, a.srv.cfg.JWTKey })
	ctx := testCtx(t, 10*time.Second)

	alice := map[route]client{}
	for _, rt := range allRoutes {
		alice[rt], _ = a.mustDial(ctx, rt, "general", a.cred(rt, "alice"))
	}
	bob, _ := a.mustDial(ctx, wsFirst, "general", a.cred(wsFirst, "bob"))
	earlier := a.jwt("alice", lifetime)

	if err := b.srv.Registry.Revoke(ctx, "alice", "logged out"); err != nil {
		t.Fatal(err)
	}
	for rt, c := range alice {
		code, reason := c.end(ctx)
		if rt.middleware && code != 1006 || !rt.middleware && (code != 4401 || reason != "logged out") {
			t.Errorf("%s: closed with %d %q", rt.name, code, reason)
		}
	}
	if _, err := a.events.wait(ctx, len(allRoutes), closedFor("alice", "revoked")); err != nil {
		t.Errorf("closed events: %v", err)
	}
	if err := bob.send(ctx, `"still here"`); err != nil {
		t.Fatal(err)
	}
	if got, err := bob.recv(ctx); err != nil || got != `bob: "still here"` {
		t.Fatalf("bob: %q, %v", got, err)
	}
	for _, n := range []*env{a, b} {
		if c, _, o := n.dial(ctx, mwSubprotocol, "general", earlier); c != nil || o.status != 401 {
			t.Errorf("a token from before the revocation: %v", o)
		}
	}
	// A ticket issued after the revocation (its IssuedAt has nanoseconds)
	// is accepted again.
	c, _ := b.mustDial(ctx, wsFirst, "general", b.ticket("alice"))
	c.close()
}

// TestRefresh: on the in-band routes a refresh frame with a new credential
// of the same subject is answered with auth_ok and a later expiry; one of
// another subject closes the connection with 4403. On per-message, a data
// frame with a new token refreshes too.
func TestRefresh(t *testing.T) {
	e := newEnv(t, nil)
	for _, rt := range inBandRoutes {
		t.Run(rt.name, func(t *testing.T) {
			ctx := testCtx(t, 10*time.Second)
			c, first := e.mustDial(ctx, rt, "general", e.cred(rt, "alice"))
			k := c.(*coderClient)
			next := e.jwt("alice", 2*lifetime)
			if rt.tickets {
				next = e.ticket("alice")
			}
			if err := k.refresh(ctx, next); err != nil {
				t.Fatal(err)
			}
			var ok transport.AuthOK
			if b, err := k.recv(ctx); err != nil || ok.UnmarshalJSON([]byte(b)) != nil || ok.Subject != "alice" || !ok.ExpiresAt.After(first.ExpiresAt) {
				t.Fatalf("refresh answered %q, %v (first expiry %v)", b, err, first.ExpiresAt)
			}
			if err := c.send(ctx, `"after"`); err != nil {
				t.Fatal(err)
			}
			if got, err := c.recv(ctx); err != nil || got != `alice: "after"` {
				t.Fatalf("echo after refresh %q, %v", got, err)
			}
			if rt == wsPer {
				k.tc.SetToken(e.jwt("alice", 3*lifetime))
				if err := c.send(ctx, `"newer"`); err != nil {
					t.Fatal(err)
				}
				if got, err := c.recv(ctx); err != nil || got != `alice: "newer"` {
					t.Fatalf("echo with a newer token %q, %v", got, err)
				}
				if _, err := e.events.wait(ctx, 2, func(ev wsauth.Event) bool { return ev.Kind == wsauth.EventRefreshed }); err != nil {
					t.Fatalf("refreshed events: %v", err)
				}
			}
			if err := k.refresh(ctx, e.cred(rt, "bob")); err != nil {
				t.Fatal(err)
			}
			if code, reason := c.end(ctx); code != 4403 {
				t.Fatalf("refresh as bob: closed with %d %q", code, reason)
			}
		})
	}
}
