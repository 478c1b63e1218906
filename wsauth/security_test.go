package wsauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// panicky returns options whose Verifier panics on the credential "boom"
// and whose Authorizer panics for the subject "carol"; "alice" and
// "carol" are otherwise good credentials.
func panicky() *wsauth.Options {
	good := wsauthtest.NewVerifier(map[string]wsauth.Principal{
		"alice": {Subject: "alice"},
		"carol": {Subject: "carol"},
	})
	return &wsauth.Options{
		Verifier: wsauth.VerifierFunc(func(ctx context.Context, cred string, peer wsauth.Peer) (wsauth.Principal, error) {
			if cred == "boom" {
				panic("verifier boom")
			}
			return good.Verify(ctx, cred, peer)
		}),
		Authorizer: func(_ context.Context, p wsauth.Principal, _ *http.Request) error {
			if p.Subject == "carol" {
				panic("authorizer boom")
			}
			return nil
		},
		DisableLimiter: true,
	}
}

// TestInBandPanicsAreRefusals extends TestPanicsAreRefusals to the
// strategies that authenticate after the upgrade: a panicking verifier or
// authorizer closes that connection with 1011, and the server goes on
// serving the next client. In per-message mode a panic while verifying a
// later frame does the same.
func TestInBandPanicsAreRefusals(t *testing.T) {
	for _, st := range inBandStrategies {
		t.Run(st.name, func(t *testing.T) {
			a := record(st.mk(panicky()))
			srv := wsauthtest.NewServer(t, a, echo)
			for _, cred := range []string{"boom", "carol", "boom", "carol"} {
				ctx := testCtx(t)
				var err error
				if st.name == "first_message" {
					var c *websocket.Conn
					c, _, err = srv.DialFirstMessage(ctx, "/ws", cred, nil)
					if err == nil {
						c.CloseNow()
					}
				} else {
					err = perMessageRoundTrip(ctx, srv, cred, cred)
				}
				if code := websocket.CloseStatus(err); code != websocket.StatusInternalError {
					t.Fatalf("%s: client saw %v (code %d), want 1011", cred, err, code)
				}
				if err := a.next(t); !errors.Is(err, wsauth.ErrInternal) {
					t.Fatalf("%s: refused with %v, want ErrInternal", cred, err)
				}
				// The server keeps serving.
				if st.name == "first_message" {
					c, _, err := srv.DialFirstMessage(ctx, "/ws", "alice", nil)
					if err != nil {
						t.Fatalf("after a panic: %v", err)
					}
					c.CloseNow()
				} else if err := perMessageRoundTrip(ctx, srv, "alice", "alice"); err != nil {
					t.Fatalf("after a panic: %v", err)
				}
			}
			if st.name != "per_message" {
				return
			}
			// A panic on a later frame.
			ctx := testCtx(t)
			if err := perMessageRoundTrip(ctx, srv, "alice", "boom"); websocket.CloseStatus(err) != websocket.StatusInternalError {
				t.Fatalf("panic on a later frame: %v, want 1011", err)
			}
			if err := perMessageRoundTrip(ctx, srv, "alice", "alice"); err != nil {
				t.Fatalf("after a panic on a later frame: %v", err)
			}
		})
	}
}

// perMessageRoundTrip opens a per-message connection, sends a frame with
// first and then one with second, and reads the echo of each.
func perMessageRoundTrip(ctx context.Context, srv *wsauthtest.Server, first, second string) error {
	tc, _, err := srv.DialPerMessage(ctx, "/ws", first, nil)
	if err != nil {
		return err
	}
	defer tc.Conn().CloseNow()
	for _, tok := range []string{first, second} {
		tc.SetToken(tok)
		if err := tc.Write(ctx, []byte(`"x"`)); err != nil {
			return err
		}
		if _, _, err := tc.Conn().Read(ctx); err != nil {
			return err
		}
	}
	return tc.Conn().Close(websocket.StatusNormalClosure, "")
}

// TestMiddlewarePanicsAreRefusals: the plain middleware recovers too, and
// answers 500 without calling the next handler.
func TestMiddlewarePanicsAreRefusals(t *testing.T) {
	for _, cred := range []string{"boom", "carol"} {
		var reached bool
		h := wsauth.Query(panicky()).Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/ws?ticket="+cred, nil))
		if w.Code != http.StatusInternalServerError || reached {
			t.Fatalf("%s: status %d, next reached %v; want 500 and not reached", cred, w.Code, reached)
		}
	}
}

// TestEventsNeverLeakCredentials logs every event of every strategy at
// debug level, tickets and JWTs alike, accepted and refused, and searches
// the log for the credentials in every form they travel in.
func TestEventsNeverLeakCredentials(t *testing.T) {
	var out syncBuffer
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := memstore.New(nil)
	signer := wsauthtest.NewSigner()
	tickets := &wsauth.Options{
		Verifier:       wsauth.Tickets(&ticket.Redeemer{Store: store}),
		Events:         wsauth.SlogEvents(logger),
		DisableLimiter: true,
	}
	browser := *tickets
	browser.RejectAfterUpgrade = true
	jwts := *tickets
	jwts.Verifier = signer.Verifier(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/query", wsauth.Handler(wsauth.Query(tickets), echo))
	mux.Handle("/query-b", wsauth.Handler(wsauth.Query(&browser), echo))
	mux.Handle("/sub", wsauth.Handler(wsauth.Subprotocol(tickets), echo))
	mux.Handle("/sub-b", wsauth.Handler(wsauth.Subprotocol(&browser), echo))
	mux.Handle("/first", wsauth.Handler(wsauth.FirstMessage(tickets), echo))
	mux.Handle("/first-jwt", wsauth.Handler(wsauth.FirstMessage(&jwts), echo))
	mux.Handle("/per", wsauth.Handler(wsauth.PerMessage(&jwts), echo))
	srv := wsauthtest.NewHandlerServer(t, mux)
	ctx := testCtx(t)

	var secrets []string
	valid := func() string {
		id := wsauthtest.Ticket(t, store, ticket.Ticket{Subject: "alice"})
		secrets = append(secrets, id)
		return id
	}
	forged, _ := ticket.NewID() // well-formed, never issued
	other := wsauthtest.NewSigner()
	jwtsToTry := []string{
		signer.Token(t, "alice", time.Minute, nil),
		signer.Token(t, "alice", -time.Minute, nil),       // expired
		other.Token(t, "alice", time.Minute, nil),         // foreign key
		signer.Token(t, "alice", time.Minute, nil) + "x",  // bad signature
		strings.Repeat("secret-garbage.", 20) + "SECRET5", // malformed
	}
	secrets = append(secrets, forged, "SECRET4-not-a-ticket")
	secrets = append(secrets, jwtsToTry...)

	for _, path := range []string{"/query", "/query-b"} {
		for _, cred := range []string{valid(), valid(), forged, "SECRET4-not-a-ticket"} {
			if c, _, err := srv.DialQuery(ctx, path, cred, nil); err == nil {
				c.Close(websocket.StatusNormalClosure, "")
			}
		}
	}
	for _, path := range []string{"/sub", "/sub-b"} {
		for _, cred := range []string{valid(), forged} {
			if c, _, err := srv.DialSubprotocol(ctx, path, cred, nil); err == nil {
				c.Close(websocket.StatusNormalClosure, "")
			}
		}
	}
	for _, cred := range []string{valid(), forged, "SECRET4-not-a-ticket"} {
		if c, _, err := srv.DialFirstMessage(ctx, "/first", cred, nil); err == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
	}
	for _, cred := range jwtsToTry {
		if c, _, err := srv.DialFirstMessage(ctx, "/first-jwt", cred, nil); err == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
		// Per message: the good token first, then each in turn.
		tc, _, err := srv.DialPerMessage(ctx, "/per", jwtsToTry[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{jwtsToTry[0], cred} {
			tc.SetToken(tok)
			if tc.Write(ctx, []byte(`1`)) != nil {
				break
			}
			if _, _, err := tc.Conn().Read(ctx); err != nil {
				break
			}
		}
		tc.Conn().CloseNow()
	}

	log := out.String()
	if !strings.Contains(log, "alice") || strings.Count(log, "\n") < 20 {
		t.Fatalf("the events log is empty or names no subject; the test exercised nothing:\n%s", log)
	}
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), base64.RawURLEncoding.EncodeToString([]byte(s)), transport.SubprotocolPrefix + base64.RawURLEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(log, form) {
				t.Fatalf("a credential appears in the events log:\n%s", log)
			}
		}
		// A JWT's signature alone is a secret too: it proves possession.
		if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i > 16 && strings.Contains(log, s[i+1:]) {
			t.Fatalf("a JWT signature appears in the events log:\n%s", log)
		}
	}
	t.Logf("%d events logged, %d credentials searched for in 4 forms: none found", strings.Count(log, "\n"), len(secrets))
}
