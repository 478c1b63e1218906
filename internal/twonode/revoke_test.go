package twonode_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

var jwtKey = []byte("a two-node test key of at least 32 bytes")

func signJWT(t *testing.T, sub, jti string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub,
		"jti": jti,
		"iat": float64(time.Now().UnixMilli()) / 1000,
		"exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(jwtKey)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// jwtVerifier accepts the tokens of signJWT.
func jwtVerifier(t *testing.T) *jwtverify.Verifier {
	t.Helper()
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(jwtKey)})
	if err != nil {
		t.Fatal(err)
	}
	jv, err := jwtverify.New([]string{"HS256"}, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return jv
}

// revokeNode is an application server whose registry shares revocations
// and the deny list through its own client of one Redis.
type revokeNode struct {
	reg *wsauth.Registry
	url string
}

func newRevokeNode(t *testing.T, client redis.UniversalClient) revokeNode {
	t.Helper()
	_, reg := listenRegistry(t, client)
	return serveEcho(t, jwtVerifier(t), reg)
}

// listenRegistry returns a store over client and a Registry over it that
// listens on the bus. It returns once the store's revocation list has
// started: the store refuses every credential issued before that, to the
// millisecond, so the credentials a test issues next must come after it,
// which is up to a millisecond away (a clock to cross, not an event).
func listenRegistry(t *testing.T, client redis.UniversalClient) (*redisstore.Store, *wsauth.Registry) {
	t.Helper()
	store := redisstore.New(client, nil)
	reg := wsauth.NewRegistry(store, redisstore.NewBus(client, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := reg.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := store.Check(ctx, [2]ticket.Key{}, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(st.Since.Add(time.Millisecond)))
	return store, reg
}

// serveEcho serves first-message connections verified by v, registered
// in reg, that echo what they read.
func serveEcho(t *testing.T, v wsauth.Verifier, reg *wsauth.Registry) revokeNode {
	t.Helper()
	auth := wsauth.New(v, wsauth.FirstMessage{}, &wsauth.Options{Registry: reg})
	srv := httptest.NewServer(wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		for {
			m, err := c.Read(ctx)
			if err != nil {
				return
			}
			c.Write(ctx, m.Type, m.Data)
		}
	}))
	t.Cleanup(srv.Close)
	return revokeNode{reg: reg, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

func (n revokeNode) dial(ctx context.Context, t *testing.T, token string) (*websocket.Conn, error) {
	t.Helper()
	c, _, err := transport.DialFirstMessage(ctx, n.url, token, nil)
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
		// One echo: the server has registered the connection by then.
		if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return c, err
}

// testRevokeTwoNodes: a revoke on node A closes the subject's socket on
// node B within a second and leaves others; a token ID revoked on A is
// refused on B.
func testRevokeTwoNodes(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	clientA, clientB := redis.NewClient(&redis.Options{Addr: addr}), redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { clientA.Close(); clientB.Close() })
	a, b := newRevokeNode(t, clientA), newRevokeNode(t, clientB)

	aliceOnB, err := b.dial(ctx, t, signJWT(t, "alice", "alice-1"))
	if err != nil {
		t.Fatal(err)
	}
	bobOnB, err := b.dial(ctx, t, signJWT(t, "bob", "bob-1"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.reg.Revoke(ctx, "alice", "logged out"); err != nil {
		t.Fatal(err)
	}
	_, _, err = aliceOnB.Read(ctx)
	if code := websocket.CloseStatus(err); code != transport.CloseUnauthenticated {
		t.Fatalf("alice on B: %v, want close 4401", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("revoke on A took %v to close the socket on B", d)
	}
	if err := bobOnB.Write(ctx, websocket.MessageText, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := bobOnB.Read(ctx); err != nil || string(msg) != "x" {
		t.Fatalf("bob on B after alice's revoke: %q, %v", msg, err)
	}

	tok := signJWT(t, "carol", "carol-1")
	if _, err := b.dial(ctx, t, tok); err != nil {
		t.Fatal(err)
	}
	if err := a.reg.RevokeToken(ctx, "carol-1", time.Now().Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.dial(ctx, t, tok); websocket.CloseStatus(err) != transport.CloseUnauthenticated {
		t.Fatalf("reconnect on B with a jti revoked on A: %v, want close 4401", err)
	}
	if _, err := a.dial(ctx, t, signJWT(t, "carol", "carol-2")); err != nil {
		t.Fatalf("another token of carol: %v", err)
	}
}

func TestRevokeTwoNodesRedis(t *testing.T) { testRevokeTwoNodes(t, redistest.Start(t).Addr) }

func TestRevokeTwoNodesMiniredis(t *testing.T) { testRevokeTwoNodes(t, miniredis.RunT(t).Addr()) }
