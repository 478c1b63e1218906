package wsauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

func TestMalformedTicketsNeverReachTheStore(t *testing.T) {
	ctx := testCtx(t)
	store := newCountingStore()
	a := record(wsauth.Query(ticketOptions(store)))
	srv := wsauthtest.NewServer(t, a, echo)
	for name, id := range map[string]string{
		"short":        strings.Repeat("A", ticket.IDLen-1),
		"long":         strings.Repeat("A", ticket.IDLen+1),
		"not base64":   strings.Repeat("*", ticket.IDLen),
		"std base64":   strings.Repeat("+", ticket.IDLen),
		"10 KB":        strings.Repeat("A", 10<<10),
		"padded":       strings.Repeat("A", ticket.IDLen-1) + "=",
		"non-ASCII":    strings.Repeat("é", ticket.IDLen/2) + "A",
		"noncanonical": strings.Repeat("A", ticket.IDLen-1) + "B",
	} {
		t.Run(name, func(t *testing.T) {
			// A raw dial: the transport helpers refuse to send some of these.
			_, resp, err := websocket.Dial(ctx, srv.URL+"/ws?ticket="+url.QueryEscape(id), nil)
			if err == nil {
				t.Fatal("accepted")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("response %v, want 401", resp)
			}
			if err := a.next(t); err == nil || strings.Contains(err.Error(), id) {
				t.Fatalf("refusal %v names the credential", err)
			}
		})
	}
	if n := store.takes.Load(); n != 0 {
		t.Fatalf("store consulted %d times for malformed tickets", n)
	}
}

func TestStoreErrorRefuses(t *testing.T) {
	ctx := testCtx(t)
	a := record(wsauth.Query(ticketOptions(failingStore{})))
	srv := wsauthtest.NewServer(t, a, echo)
	id, _ := ticket.NewID()
	_, resp, err := srv.DialQuery(ctx, "/ws", id, nil)
	if err == nil {
		t.Fatal("accepted while the store is down")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("response %v, want 503", resp)
	}
	if err := a.next(t); !errors.Is(err, wsauth.ErrUnavailable) || !errors.Is(err, ticket.ErrStoreUnavailable) {
		t.Fatalf("refused with %v, want ErrUnavailable", err)
	}
}

func TestRejectAfterUpgradeCloseCodes(t *testing.T) {
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"alice": {Subject: "alice"},
		"carol": {Subject: "carol"},
	})
	mk := map[string]func(*wsauth.Options) wsauth.Authenticator{
		"query":       func(o *wsauth.Options) wsauth.Authenticator { return wsauth.Query(o) },
		"subprotocol": func(o *wsauth.Options) wsauth.Authenticator { return wsauth.Subprotocol(o) },
	}
	for name, newAuth := range mk {
		a := newAuth(&wsauth.Options{
			Verifier:           v,
			RejectAfterUpgrade: true,
			Authorizer: func(ctx context.Context, p wsauth.Principal, r *http.Request) error {
				if p.Subject == "carol" {
					return errors.New("not a member")
				}
				return nil
			},
		})
		srv := wsauthtest.NewServer(t, a, echo)
		dial := func(ctx context.Context, cred string) (*websocket.Conn, error) {
			if name == "query" {
				c, _, err := srv.DialQuery(ctx, "/ws", cred, nil)
				return c, err
			}
			c, _, err := srv.DialSubprotocol(ctx, "/ws", cred, nil)
			return c, err
		}
		for _, tc := range []struct {
			cred   string
			code   websocket.StatusCode
			reason string
		}{
			{"mallory", wsauth.CloseUnauthenticated, "invalid credential"},
			{"carol", wsauth.CloseForbidden, "forbidden"},
		} {
			t.Run(name+"/"+tc.cred, func(t *testing.T) {
				ctx := testCtx(t)
				c, err := dial(ctx, tc.cred)
				if err != nil {
					t.Fatalf("dial: %v (a browser could not read the reason)", err)
				}
				defer c.CloseNow()
				code, reason := closeCode(t, ctx, c)
				if code != tc.code || reason != tc.reason {
					t.Fatalf("closed with %d %q, want %d %q", code, reason, tc.code, tc.reason)
				}
			})
		}
		t.Run(name+"/alice", func(t *testing.T) {
			ctx := testCtx(t)
			c, err := dial(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if got := roundTrip(t, ctx, c, "hi"); got != "alice: hi" {
				t.Fatalf("echo %q", got)
			}
		})
	}
}

func TestAuthorizerRefusesWith403(t *testing.T) {
	ctx := testCtx(t)
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"carol": {Subject: "carol", Scope: []string{"general"}}})
	a := record(wsauth.Query(&wsauth.Options{
		Verifier: v,
		Scope:    func(r *http.Request) string { return r.PathValue("room") },
		Authorizer: func(ctx context.Context, p wsauth.Principal, r *http.Request) error {
			if !p.Allows(r.PathValue("room")) {
				return errors.New("not a member")
			}
			return nil
		},
	}))
	mux := http.NewServeMux()
	mux.Handle("/ws/{room}", wsauth.Handler(a, echo))
	srv := wsauthtest.NewHandlerServer(t, mux)

	_, resp, err := srv.DialQuery(ctx, "/ws/secret", "carol", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("err %v, response %v; want 403", err, resp)
	}
	if err := a.next(t); !errors.Is(err, wsauth.ErrForbidden) {
		t.Fatalf("refused with %v, want ErrForbidden", err)
	}
	c, _, err := srv.DialQuery(ctx, "/ws/general", "carol", nil)
	if err != nil {
		t.Fatalf("general: %v", err)
	}
	c.CloseNow()
	if got := v.Peers(); got[len(got)-1].Scope != "general" {
		t.Fatalf("verifier saw scope %q, want general", got[len(got)-1].Scope)
	}
}

func TestPanicsAreRefusals(t *testing.T) {
	for name, o := range map[string]*wsauth.Options{
		"verifier": {Verifier: wsauth.VerifierFunc(func(context.Context, string, wsauth.Peer) (wsauth.Principal, error) {
			panic("boom")
		})},
		"authorizer": {
			Verifier:   wsauthtest.NewVerifier(map[string]wsauth.Principal{"alice": {Subject: "alice"}}),
			Authorizer: func(context.Context, wsauth.Principal, *http.Request) error { panic("boom") },
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			a := record(wsauth.Query(o))
			srv := wsauthtest.NewServer(t, a, echo)
			for range 2 { // the server keeps serving after a panic
				_, resp, err := srv.DialQuery(ctx, "/ws", "alice", nil)
				if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
					t.Fatalf("err %v, response %v; want 500", err, resp)
				}
				if err := a.next(t); !errors.Is(err, wsauth.ErrInternal) {
					t.Fatalf("refused with %v, want ErrInternal", err)
				}
			}
		})
	}
}

func TestConnClosesWhenPrincipalExpires(t *testing.T) {
	ctx := testCtx(t)
	v := wsauthtest.NewVerifier(nil)
	v.Set("short", wsauth.Principal{Subject: "alice", ExpiresAt: time.Now().Add(300 * time.Millisecond)})
	writeErr := make(chan error, 1)
	srv := wsauthtest.NewServer(t, wsauth.Query(&wsauth.Options{Verifier: v}), func(ctx context.Context, c *wsauth.Conn) {
		_, _, err := c.Read(ctx) // returns once the expiry closes the socket
		if !errors.Is(err, wsauth.ErrExpired) {
			writeErr <- err
			return
		}
		writeErr <- c.Write(ctx, websocket.MessageText, []byte("late"))
	})
	c, _, err := srv.DialQuery(ctx, "/ws", "short", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	code, reason := closeCode(t, ctx, c)
	if code != wsauth.CloseUnauthenticated || reason != "credential expired" {
		t.Fatalf("closed with %d %q, want 4401", code, reason)
	}
	if err := <-writeErr; !errors.Is(err, wsauth.ErrExpired) {
		t.Fatalf("write after expiry: %v, want ErrExpired", err)
	}
}

func TestExpiredPrincipalRefused(t *testing.T) {
	ctx := testCtx(t)
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"old": {Subject: "alice", ExpiresAt: time.Now().Add(-time.Second)}})
	_, resp, err := wsauthtest.NewServer(t, wsauth.Query(&wsauth.Options{Verifier: v}), echo).DialQuery(ctx, "/ws", "old", nil)
	if err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired principal: err %v, response %v", err, resp)
	}
}
