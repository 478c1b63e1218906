package wsauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
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
