package wsauthtest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestServerClosesItsWebSockets: a Server closed at the end of its test
// closes the WebSockets it served too (hijacked connections, which
// httptest.Server.Close leaves alone), so that the user's handler does not
// go on serving one after the test; they were left open.
func TestServerClosesItsWebSockets(t *testing.T) {
	var c *websocket.Conn
	t.Run("user test", func(t *testing.T) {
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"a": {Subject: "alice"}})
		srv := wsauthtest.NewServer(t, wsauth.New(v, wsauth.Query{}, nil), echo)
		var err error
		c, _, err = srv.DialQuery(context.Background(), "/", "a", nil)
		if err != nil {
			t.Fatal(err)
		}
		// The user forgets c.CloseNow(); the Server's cleanup runs.
	})
	defer c.CloseNow()
	ctx := testCtx(t)
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		return // closed: fine
	}
	if _, b, err := c.Read(ctx); err == nil {
		t.Fatalf("after its test ended, the Server's handler still answers %q", b)
	}
}

// TestMemServerLeftOpenConn: the same on NewMemServer, in a synctest
// bubble, where a handler left blocked on a connection the cleanup did not
// close made synctest.Test panic. The bubble runs in a child process, so
// that such a panic fails this test only.
func TestMemServerLeftOpenConn(t *testing.T) {
	if os.Getenv("WSAUTHTEST_CHILD") == "1" {
		synctest.Test(t, func(t *testing.T) {
			v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"a": {Subject: "alice"}})
			srv := wsauthtest.NewMemServer(t, wsauth.Handler(wsauth.New(v, wsauth.Query{}, nil), echo))
			if _, _, err := srv.DialQuery(t.Context(), "/", "a", nil); err != nil {
				t.Fatal(err)
			}
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemServerLeftOpenConn$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WSAUTHTEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		line := string(out)
		if i := strings.Index(line, "panic:"); i >= 0 {
			line = line[i:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
		}
		t.Fatalf("a MemServer test that leaves a client connection open fails after its cleanup: %s", line)
	}
}

// TestServerCleanupOfAPushOnlyHandler: a handler that only pushes, waiting
// on its context, does not learn that its client left until it writes;
// the Server's cleanup closes the connection and does not wait for such a
// handler, nor fail the test for it (it waited 10 s, then failed it).
func TestServerCleanupOfAPushOnlyHandler(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop) // the handler's next "write", for the leak check
	var inner *testing.T
	t.Run("user test", func(t *testing.T) {
		inner = t
		v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"a": {Subject: "alice"}})
		srv := wsauthtest.NewServer(t, wsauth.New(v, wsauth.Query{}, nil), func(ctx context.Context, c *wsauth.Conn) {
			select {
			case <-ctx.Done():
			case <-stop:
			}
		})
		c, _, err := srv.DialQuery(context.Background(), "/", "a", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
	})
	if inner.Failed() {
		t.Fatal("the Server's cleanup failed a test whose handler only pushes")
	}
}
