package main

// End-to-end tests of the chat example: the real binary, started as a
// process, driven by clients that are not this repository's code (the npm
// ws package, headless Chromium through playwright-core) and, for two
// nodes on one Redis, by the transport package's Dial helpers.
//
// The Node tests live in e2e/ and need `cd examples/chat/e2e && npm ci`;
// the browser test needs Debian's chromium, the two-node test
// redis-server. Without them the tests skip, saying what to install; with
// WSAUTH_REQUIRE_E2E=1 (CI) they fail instead. See e2e/README.md.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/transport"
)

// e2eRequireEnv, set to "1", turns every missing prerequisite of the
// end-to-end tests (node, e2e/node_modules, chromium) into a failure.
const e2eRequireEnv = "WSAUTH_REQUIRE_E2E"

const (
	e2eStartTimeout = 30 * time.Second // until the chat prints its address
	e2eStopTimeout  = 10 * time.Second // after SIGINT, until the chat exits
	e2eNodeTimeout  = 4 * time.Minute  // one node --test run
	e2eWaitTimeout  = 10 * time.Second // one wait in the Go two-node test
)

// e2eNodeMajor is the oldest Node.js the e2e packages support.
const e2eNodeMajor = 20

// e2eListening is the line the chat prints on stdout once it serves.
var e2eListening = regexp.MustCompile(`^chat: listening on (http://\S+)\s*$`)

// e2eUnavailable skips t, saying how to get what is missing, or fails it
// when WSAUTH_REQUIRE_E2E=1.
func e2eUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(e2eRequireEnv) == "1" {
		t.Fatalf("%s (%s=1: not skipping)", msg, e2eRequireEnv)
	}
	t.Skip(msg)
}

// e2eShort skips the end-to-end tests in -short mode, unless they are
// required.
func e2eShort(t *testing.T) {
	t.Helper()
	if testing.Short() && os.Getenv(e2eRequireEnv) != "1" {
		t.Skip("end-to-end test: skipped in -short mode")
	}
}

// e2eNode returns the path of node, checking that the npm packages of
// e2e/ are installed.
func e2eNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		e2eUnavailable(t, "node not found on PATH: install Node.js 20 or later, then run: cd examples/chat/e2e && npm ci")
	}
	out, _ := exec.Command(node, "--version").Output()
	var major int
	if _, err := fmt.Sscanf(string(out), "v%d.", &major); err != nil || major < e2eNodeMajor {
		e2eUnavailable(t, "%s --version says %q: the e2e tests need Node.js %d or later (Debian 12's nodejs package is 18)", node, bytes.TrimSpace(out), e2eNodeMajor)
	}
	for _, pkg := range []string{"ws", "playwright-core"} {
		if _, err := os.Stat(filepath.Join("e2e", "node_modules", pkg, "package.json")); err != nil {
			e2eUnavailable(t, "e2e/node_modules/%s is missing: run: cd examples/chat/e2e && npm ci", pkg)
		}
	}
	return node
}

// e2eChromium returns the Chromium to drive: $CHROMIUM_PATH, else
// /usr/bin/chromium, else chromium or chromium-browser on PATH.
func e2eChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			e2eUnavailable(t, "CHROMIUM_PATH=%s: %v (unset it to use /usr/bin/chromium: apt-get install chromium)", p, err)
		}
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	e2eUnavailable(t, "chromium not found (looked for $CHROMIUM_PATH, /usr/bin/chromium, chromium on PATH): apt-get install chromium")
	return ""
}

// e2eBuild returns the path of the chat binary, built on the first call
// into a temporary directory that TestMain removes after the tests: the
// end-to-end tests share one build.
func e2eBuild(t *testing.T) string {
	t.Helper()
	bin, err := e2eBuilt()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var (
	e2eBuildDir string // set by e2eBuilt; removed by e2eRemoveBuild
	e2eBuilt    = sync.OnceValues(func() (string, error) {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			return "", fmt.Errorf("go command not found on PATH: %v", err)
		}
		e2eBuildDir, err = os.MkdirTemp("", "wsauth-chat-e2e-")
		if err != nil {
			return "", err
		}
		bin := filepath.Join(e2eBuildDir, "chat")
		if out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build -o %s .: %v\n%s", bin, err, out)
		}
		return bin, nil
	})
)

// e2eRemoveBuild removes the chat binary, if a test built it.
func e2eRemoveBuild() {
	if e2eBuildDir != "" {
		os.RemoveAll(e2eBuildDir)
	}
}

// e2eKey returns a random CHAT_JWT_KEY.
func e2eKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// e2eLog is the output of a chat process: kept for the test log, and
// watched for the line that gives the address.
type e2eLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	url     chan string // receives the URL once
	sent    bool
}

func (l *e2eLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.sent {
		return len(p), nil
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		if m := e2eListening.FindStringSubmatch(line); m != nil {
			l.url <- m[1]
			l.sent, l.partial = true, nil
			break
		}
	}
	return len(p), nil
}

func (l *e2eLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// e2eChat is a running chat process.
type e2eChat struct {
	URL  string
	name string
	log  *e2eLog
}

// e2eStart starts the chat binary bin on a free loopback port with
// CHAT_JWT_KEY=key and the extra flags args, and returns once it has
// printed its address. The process is stopped when t ends; its output is
// logged then (visible with -v or on failure).
func e2eStart(t *testing.T, bin, name, key string, args ...string) *e2eChat {
	t.Helper()
	p, err := e2eLaunch(bin, name, key, "127.0.0.1:0", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.finish(t) })
	return &e2eChat{URL: p.url, name: name, log: p.log}
}

// e2eProc is one chat process.
type e2eProc struct {
	name    string
	url     string
	cmd     *exec.Cmd
	log     *e2eLog
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // set before exited is closed
}

// e2eLaunch starts bin listening on addr with CHAT_JWT_KEY=key and the
// extra flags args, and returns once it has printed its address. The
// caller stops it (finish, stop).
func e2eLaunch(bin, name, key, addr string, args ...string) (*e2eProc, error) {
	p := &e2eProc{name: name, log: &e2eLog{url: make(chan string, 1)}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	p.cmd.Env = append(os.Environ(), "CHAT_JWT_KEY="+key)
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the chat %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(e2eStartTimeout)
	defer timer.Stop()
	select {
	case p.url = <-p.log.url:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("chat %s exited before listening: %v\n%s", name, p.waitErr, p.log)
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.exited
		return nil, fmt.Errorf("chat %s printed no %q line within %v\n%s", name, "chat: listening on http://…", e2eStartTimeout, p.log)
	}
}

// stop stops p with SIGINT (killing it if it has not exited within
// e2eStopTimeout) and reports whether it had exited on its own before, and
// whether it had to be killed.
func (p *e2eProc) stop() (early, killed bool) {
	select {
	case <-p.exited:
		return true, false
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
	case <-time.After(e2eStopTimeout):
		killed = true
		p.cmd.Process.Kill()
		<-p.exited
	}
	return false, killed
}

// finish stops p at the end of a test: a process that exited on its own
// before, or does not exit on SIGINT, fails t. It logs p's output.
func (p *e2eProc) finish(t *testing.T) {
	switch early, killed := p.stop(); {
	case early:
		t.Errorf("chat %s exited before the test ended: %v", p.name, p.waitErr)
	case killed:
		t.Errorf("chat %s did not exit within %v of SIGINT; killed it", p.name, e2eStopTimeout)
	}
	t.Logf("chat %s output:\n%s", p.name, p.log)
}

// e2eRestarter runs a chat process that a test may restart on the same
// address, as a deployment would: POST /restart on its control server
// stops the process (SIGINT: its connections are closed with 1001) and
// starts a new one, and answers 204 once that one listens. The process
// running when t ends is stopped then.
type e2eRestarter struct {
	t         *testing.T
	bin, key  string
	name      string
	addr      string // host:port, the same for every process
	args      []string
	URL       string // the chat's
	Control   string // the control server's
	mu        sync.Mutex
	cur       *e2eProc
	restarted int
}

// e2eStartRestartable starts the chat as e2eStart does, and a control
// server to restart it.
func e2eStartRestartable(t *testing.T, bin, name, key string, args ...string) *e2eRestarter {
	t.Helper()
	p, err := e2eLaunch(bin, name, key, "127.0.0.1:0", args...)
	if err != nil {
		t.Fatal(err)
	}
	r := &e2eRestarter{t: t, bin: bin, key: key, name: name, addr: strings.TrimPrefix(p.url, "http://"), args: args, URL: p.url, cur: p}
	ctl := httptest.NewServer(r)
	r.Control = ctl.URL
	t.Cleanup(func() {
		ctl.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.cur.finish(t)
	})
	return r
}

func (r *e2eRestarter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/restart" {
		http.Error(w, "POST /restart only", http.StatusNotFound)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur
	start := time.Now()
	r.cur.finish(r.t)
	r.restarted++
	name := fmt.Sprintf("%s (restart %d)", r.name, r.restarted)
	p, err := e2eLaunch(r.bin, name, r.key, r.addr, r.args...)
	if err != nil {
		r.t.Errorf("restart the chat %s on %s: %v", old.name, r.addr, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.cur = p
	r.t.Logf("chat %s: restarted on %s in %v", r.name, r.addr, time.Since(start).Round(time.Millisecond))
	w.WriteHeader(http.StatusNoContent)
}

// e2eRunNode runs `node --test e2e/<file>` with env added to this process's
// environment, and fails t with node's output if a test failed.
func e2eRunNode(t *testing.T, node, file string, env ...string) {
	t.Helper()
	timeout := e2eNodeTimeout
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 15*time.Second; left < timeout {
			timeout = left
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", filepath.Join("e2e", file))
	cmd.Env = append(os.Environ(), append([]string{"NO_COLOR=1", "FORCE_COLOR=0"}, env...)...)
	// Interrupt first so node's after-hooks close the browser; kill later.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 15 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case ctx.Err() != nil:
		t.Fatalf("node --test %s: no result within %v\n%s", file, timeout, out)
	case err != nil:
		t.Fatalf("node --test %s failed after %v: %v\n%s", file, took, err, out)
	default:
		t.Logf("node --test %s passed in %v:\n%s", file, took, out)
	}
	// A suite skipped inside node passes there: in CI, that is a failure.
	if m := regexp.MustCompile(`(?m)^ℹ skipped (\d+)$`).FindSubmatch(out); m == nil {
		t.Errorf("node --test %s: no count of skipped tests in its report", file)
	} else if string(m[1]) != "0" && os.Getenv(e2eRequireEnv) == "1" {
		t.Errorf("node --test %s skipped %s tests (%s=1: not skipping)", file, m[1], e2eRequireEnv)
	}
}

// e2eFailBurst is the -auth-fail-burst of the ws-client test's server: its
// refusal tests fail on purpose from 127.0.0.1 about 20 times, the
// default budget (see TestRateLimit for the limit itself).
const e2eFailBurst = "200"

// TestE2EWSClient runs e2e/ws-client.test.mjs: the npm ws package as an
// independent client of every strategy and refusal of the contract, and
// of a logout that revokes.
func TestE2EWSClient(t *testing.T) {
	e2eShort(t)
	t.Parallel() // processes of their own, on ports of their own
	node := e2eNode(t)
	srv := e2eStart(t, e2eBuild(t), "A", e2eKey(t), "-auth-fail-burst", e2eFailBurst)
	e2eRunNode(t, node, "ws-client.test.mjs", "CHAT_URL="+srv.URL)
}

// e2eJWTTTL is the access token lifetime of the browser test's server: short,
// so that its refresh test sees tokens expire and be replaced in place.
// The server's expiry notice (30 s by default) is capped by wsauth at half
// a token's remaining lifetime, so pages are warned 1.5 to 2 s ahead.
const e2eJWTTTL = 4 * time.Second

// TestE2EBrowser runs e2e/browser.test.mjs: alice and bob chatting in
// headless Chromium on every strategy, carol refused on the page, pages
// staying connected past their access token's expiry (refresh in place),
// pages reconnecting by themselves, with fresh credentials, after the chat
// restarts on the same port (with Redis, so that the sessions outlive the
// process; see e2eRestarter), and a logout closing alice's other page. With
// CHAT_SCREENSHOT=path it also writes a screenshot of alice's page there
// (a relative path is relative to examples/chat).
func TestE2EBrowser(t *testing.T) {
	e2eShort(t)
	t.Parallel() // processes of their own, on ports of their own
	node := e2eNode(t)
	chromium := e2eChromium(t)
	env := []string{"CHROMIUM_PATH=" + chromium}
	if p := os.Getenv("CHAT_SCREENSHOT"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, "CHAT_SCREENSHOT="+abs)
	}
	args := []string{"-jwt-ttl", e2eJWTTTL.String()}
	// The restart test needs the sessions to outlive the process: in
	// memory, a restarted chat refuses every credential issued before it
	// started (everyone logs in again); in Redis they live on.
	if rdb := e2eRedisForRestart(t); rdb != "" {
		srv := e2eStartRestartable(t, e2eBuild(t), "A", e2eKey(t), append(args, "-redis", rdb)...)
		env = append(env, "CHAT_URL="+srv.URL, "CHAT_CONTROL_URL="+srv.Control)
	} else {
		srv := e2eStart(t, e2eBuild(t), "A", e2eKey(t), args...)
		env = append(env, "CHAT_URL="+srv.URL)
	}
	env = append(env, fmt.Sprintf("CHAT_JWT_TTL_SECONDS=%d", int(e2eJWTTTL.Seconds())))
	e2eRunNode(t, node, "browser.test.mjs", env...)
}

// e2eRedisForRestart starts a redis-server for the browser test's restart
// and returns its address, or "" without redis-server, when the restart
// test is then skipped; with WSAUTH_REQUIRE_E2E=1 (or
// WSAUTH_REQUIRE_REDIS=1) a missing redis-server fails t instead.
func e2eRedisForRestart(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(redistest.RequireEnv) != "1" {
			e2eUnavailableOr(t, "redis-server not found on PATH: the browser test's server restart needs it (apt-get install redis-server)")
			return ""
		}
	}
	return redistest.Start(t).Addr
}

// e2eUnavailableOr fails t when WSAUTH_REQUIRE_E2E=1, and otherwise only
// logs what is missing: part of the test is skipped.
func e2eUnavailableOr(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv(e2eRequireEnv) == "1" {
		t.Fatalf("%s (%s=1: not skipping)", msg, e2eRequireEnv)
	}
	t.Log(msg)
}

// TestE2ETwoNodes runs two chat processes on one real redis-server with
// the same CHAT_JWT_KEY, and checks from Go, with the transport Dial
// helpers, that a ticket issued by node A is redeemed on node B (once), an
// access token of A is accepted by B, messages cross between them, and a
// logout on A closes alice's sockets on B within a second, after which B
// refuses her old credentials.
func TestE2ETwoNodes(t *testing.T) {
	e2eShort(t)
	t.Parallel() // processes of their own, on ports of their own
	rdb := redistest.Start(t)
	bin := e2eBuild(t)
	key := e2eKey(t)
	a := e2eStart(t, bin, "A", key, "-redis", rdb.Addr)
	b := e2eStart(t, bin, "B", key, "-redis", rdb.Addr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	alice := e2eLogin(t, a.URL, "alice")
	bob := e2eLogin(t, a.URL, "bob") // logged in on A, chatting on B

	// alice on A, first-message with her access token.
	ac, ok, err := transport.DialFirstMessage(ctx, e2eWS(a.URL, "first-message", "general"), alice.access, nil)
	if err != nil {
		t.Fatalf("alice on A (first-message): %v", err)
	}
	defer ac.CloseNow()
	if ok.Subject != "alice" {
		t.Fatalf("alice on A: auth_ok for %q", ok.Subject)
	}

	// bob on B, with a ticket that A issued.
	ticketA := bob.ticket(t, "general")
	bc, _, err := transport.DialQuery(ctx, e2eWS(b.URL, "query", "general"), ticketA, nil)
	if err != nil {
		t.Fatalf("bob on B with a ticket from A (query): %v", err)
	}
	defer bc.CloseNow()

	// Each sees its own hello: it is in the room, on a node subscribed to
	// Redis (every node delivers what comes back from Redis, its own
	// messages included).
	e2eSay(ctx, t, ac, "hello from alice on A")
	e2eExpect(ctx, t, ac, "alice on A", "alice", "hello from alice on A")
	e2eSay(ctx, t, bc, "hello from bob on B")
	e2eExpect(ctx, t, bc, "bob on B", "bob", "hello from bob on B")

	e2eSay(ctx, t, ac, "A to B")
	e2eExpect(ctx, t, bc, "bob on B", "alice", "A to B")
	e2eSay(ctx, t, bc, "B to A")
	e2eExpect(ctx, t, ac, "alice on A", "bob", "B to A")

	// The ticket was redeemed on B: it is gone for A too.
	replay, _, err := transport.DialQuery(ctx, e2eWS(a.URL, "query", "general"), ticketA, nil)
	if err != nil {
		t.Fatalf("replay on A: dial: %v", err)
	}
	defer replay.CloseNow()
	if code := e2eCloseCode(ctx, replay); code != 4401 {
		t.Errorf("a ticket redeemed on B, replayed on A: close code %d, want 4401", code)
	}

	// A ticket from B works on A (the other direction), and an access
	// token minted by A works on B's per-message endpoint.
	ticketB := e2eLogin(t, b.URL, "bob").ticket(t, "general")
	bc2, _, err := transport.DialSubprotocol(ctx, e2eWS(a.URL, "subprotocol", "general"), ticketB, []string{"chat.v1"}, nil)
	if err != nil {
		t.Fatalf("bob on A with a ticket from B (subprotocol): %v", err)
	}
	defer bc2.CloseNow()
	e2eSay(ctx, t, bc2, "bob via subprotocol on A")
	e2eExpect(ctx, t, bc, "bob on B", "bob", "bob via subprotocol on A")

	jc, _, err := websocket.Dial(ctx, e2eWS(b.URL, "jwt", "general"), nil)
	if err != nil {
		t.Fatalf("alice on B (jwt): %v", err)
	}
	defer jc.CloseNow()
	tc := transport.NewTokenConn(jc, alice.access)
	if err := tc.Write(ctx, json.RawMessage(`{"text":"alice via jwt on B"}`)); err != nil {
		t.Fatalf("alice on B (jwt): write: %v", err)
	}
	e2eExpect(ctx, t, ac, "alice on A", "alice", "alice via jwt on B")

	// A logout on A closes alice's sockets on both nodes (on B through
	// Redis pub/sub) with 4401 "logged out", within a second, and B
	// refuses her old token and cookie (the deny list is in Redis). bob
	// chats on.
	logoutBody, _ := json.Marshal(map[string]string{"access_token": alice.access})
	start := time.Now()
	if status, _ := e2ePostStatus(t, a.URL+"/api/logout", logoutBody, alice.cookie); status != http.StatusNoContent {
		t.Fatalf("logout on A: HTTP %d, want 204", status)
	}
	for _, c := range []struct {
		who  string
		conn *websocket.Conn
	}{{"alice on B (jwt)", jc}, {"alice on A (first-message)", ac}} {
		ce := e2eCloseError(ctx, c.conn)
		took := time.Since(start)
		if ce.Code != 4401 || ce.Reason != "logged out" {
			t.Errorf("%s after logout on A: closed %d %q, want 4401 \"logged out\"", c.who, ce.Code, ce.Reason)
		}
		if took > time.Second {
			t.Errorf("%s: closed %v after the logout on A, want within a second", c.who, took)
		} else {
			t.Logf("%s: closed %v after the logout on A", c.who, took.Round(time.Millisecond))
		}
	}
	if _, _, err := transport.DialFirstMessage(ctx, e2eWS(b.URL, "first-message", "general"), alice.access, nil); websocket.CloseStatus(err) != 4401 {
		t.Errorf("alice's old access token on B after logout on A: %v, want close 4401", err)
	}
	ticketBody, _ := json.Marshal(map[string]string{"room": "general"})
	if status, _ := e2ePostStatus(t, b.URL+"/api/tickets", ticketBody, alice.cookie); status != http.StatusUnauthorized {
		t.Errorf("a ticket on B with alice's old cookie: HTTP %d, want 401", status)
	}
	e2eSay(ctx, t, bc, "bob on B after alice left")
	e2eExpect(ctx, t, bc2, "bob on A", "bob", "bob on B after alice left")

	for _, c := range []*websocket.Conn{bc, bc2} {
		c.Close(websocket.StatusNormalClosure, "")
	}

	// Neither process logged a credential it was handed, the tickets in
	// query strings included.
	secrets := map[string]string{
		"alice's access token": alice.access,
		"alice's cookie":       alice.cookie.Value,
		"bob's cookie":         bob.cookie.Value,
		"the ticket from A":    ticketA,
		"the ticket from B":    ticketB,
	}
	for _, n := range []*e2eChat{a, b} {
		out := n.log.String()
		for what, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("chat %s logged %s (cut out below, as [credential]):\n%s", n.name, what, strings.ReplaceAll(out, secret, "[credential]"))
			}
		}
	}
}

// e2eUser is a user logged in over HTTP.
type e2eUser struct {
	base, name string
	cookie     *http.Cookie
	access     string
}

// e2eLogin logs name in on the chat at base (password = name).
func e2eLogin(t *testing.T, base, name string) *e2eUser {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": name, "password": name})
	resp := e2ePost(t, base+"/api/login", body, nil)
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.body, &r); err != nil || r.AccessToken == "" {
		t.Fatalf("login %s on %s: no access_token in %q (%v)", name, base, resp.body, err)
	}
	u := &e2eUser{base: base, name: name, access: r.AccessToken}
	for _, c := range resp.cookies {
		if c.HttpOnly {
			u.cookie = c
		}
	}
	if u.cookie == nil {
		t.Fatalf("login %s on %s: no HttpOnly session cookie", name, base)
	}
	return u
}

// ticket asks u's node for a ticket for room.
func (u *e2eUser) ticket(t *testing.T, room string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"room": room})
	resp := e2ePost(t, u.base+"/api/tickets", body, u.cookie)
	var r struct {
		Ticket string `json:"ticket"`
	}
	if err := json.Unmarshal(resp.body, &r); err != nil || r.Ticket == "" {
		t.Fatalf("ticket for %s in %s: no ticket in the response (%v)", u.name, room, err)
	}
	return r.Ticket
}

type e2eResponse struct {
	body    []byte
	cookies []*http.Cookie
}

// e2ePost posts a JSON body and fails t unless the answer is 200.
func e2ePost(t *testing.T, url string, body []byte, cookie *http.Cookie) e2eResponse {
	t.Helper()
	status, resp := e2ePostStatus(t, url, body, cookie)
	if status != http.StatusOK {
		t.Fatalf("POST %s: %d %s: %s", url, status, http.StatusText(status), resp.body)
	}
	return resp
}

// e2ePostStatus posts a JSON body and returns the status and the answer.
func e2ePostStatus(t *testing.T, url string, body []byte, cookie *http.Cookie) (int, e2eResponse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWaitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("POST %s: read: %v", url, err)
	}
	return resp.StatusCode, e2eResponse{body: b, cookies: resp.Cookies()}
}

// e2eWS returns the ws:// URL of a strategy's endpoint for room.
func e2eWS(base, strategy, room string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/ws/" + strategy + "/" + room
}

// e2eSay sends the chat frame {"text":text}.
func e2eSay(ctx context.Context, t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"text": text})
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
}

// e2eExpect reads c until the chat frame with text arrives, and checks that
// it is from from and in general. Frames before it are skipped (other
// tests' hellos); it fails t after e2eWaitTimeout.
func e2eExpect(ctx context.Context, t *testing.T, c *websocket.Conn, who, from, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, e2eWaitTimeout)
	defer cancel()
	var seen []string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("%s: waiting for %q from %s: %v (got before: %q)", who, text, from, err, seen)
		}
		var m struct {
			Room, From, Text string
			At               json.RawMessage
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: frame is not a chat message: %q: %v", who, b, err)
		}
		if m.Text != text {
			seen = append(seen, string(b))
			continue
		}
		if m.From != from || m.Room != "general" || len(m.At) == 0 {
			t.Fatalf("%s: got %s, want from %q in general with \"at\"", who, b, from)
		}
		return
	}
}

// e2eCloseCode reads c until it closes and returns the close code (-1 if
// it ended without a close frame).
func e2eCloseCode(ctx context.Context, c *websocket.Conn) websocket.StatusCode {
	return e2eCloseError(ctx, c).Code
}

// e2eCloseError reads c until it closes and returns the close code and
// reason (code -1 if it ended without a close frame).
func e2eCloseError(ctx context.Context, c *websocket.Conn) websocket.CloseError {
	ctx, cancel := context.WithTimeout(ctx, e2eWaitTimeout)
	defer cancel()
	return readClose(ctx, c)
}
