package js_test

// The JavaScript client's own tests, run from go test: the Node tests in
// test/ (node's test runner, the npm ws package as the WebSocket) against
// the Go test server in testserver/, and tsc over the JSDoc types. They
// need Node.js 20 or later and `cd transport/js && npm ci`; without them
// they skip, saying so, and with WSAUTH_REQUIRE_E2E=1 (CI) they fail.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// requireEnv, set to "1", turns a missing Node.js or node_modules into a
// failure.
const requireEnv = "WSAUTH_REQUIRE_E2E"

// nodeMajor is the oldest Node.js the client supports.
const nodeMajor = 20

// nodeTimeout bounds one node run.
const nodeTimeout = 2 * time.Minute

// unavailable skips t, saying what to install, or fails it when
// WSAUTH_REQUIRE_E2E=1.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1: not skipping)", msg, requireEnv)
	}
	t.Skip(msg)
}

// node returns the path of node, once it has checked its version and the
// npm packages. In -short mode it skips, unless the tests are required.
func node(t *testing.T) string {
	t.Helper()
	if testing.Short() && os.Getenv(requireEnv) != "1" {
		t.Skip("Node.js test: skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node not found on PATH: install Node.js %d or later, then run: cd transport/js && npm ci", nodeMajor)
	}
	out, _ := exec.Command(node, "--version").Output()
	var major int
	if _, err := fmt.Sscanf(string(out), "v%d.", &major); err != nil || major < nodeMajor {
		unavailable(t, "%s --version says %q: the client's tests need Node.js %d or later", node, bytes.TrimSpace(out), nodeMajor)
	}
	for _, pkg := range []string{"ws", "typescript"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			unavailable(t, "transport/js/node_modules/%s is missing: run: cd transport/js && npm ci", pkg)
		}
	}
	return node
}

// runNode runs node with args in this directory and env added, and fails
// t with its output unless it succeeds.
func runNode(t *testing.T, node string, env []string, args ...string) []byte {
	t.Helper()
	timeout := nodeTimeout
	if d, ok := t.Deadline(); ok && time.Until(d)-10*time.Second < timeout {
		timeout = time.Until(d) - 10*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(), append([]string{"NO_COLOR=1", "FORCE_COLOR=0"}, env...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case ctx.Err() != nil:
		t.Fatalf("node %v: no result within %v\n%s", args, timeout, out)
	case err != nil:
		t.Fatalf("node %v failed after %v: %v\n%s", args, took, err, out)
	}
	t.Logf("node %v passed in %v", args, took)
	// A test skipped inside node passes there: in CI, that is a failure.
	if m := regexp.MustCompile(`(?m)^ℹ skipped (\d+)$`).FindSubmatch(out); m != nil && string(m[1]) != "0" && os.Getenv(requireEnv) == "1" {
		t.Errorf("node %v skipped %s tests (%s=1: not skipping)", args, m[1], requireEnv)
	}
	return out
}

// TestNodeClient runs the client's Node tests (test/*.test.mjs): every
// carrier, refresh on expiring, reconnecting by close code, a restart, a
// revocation, queued and refused sends, several listeners, the binary
// envelope. Each test file starts the test server it runs against.
func TestNodeClient(t *testing.T) {
	t.Parallel()
	node := node(t)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "testserver")
	if out, err := exec.Command(goCmd, "build", "-o", bin, "./testserver").CombinedOutput(); err != nil {
		t.Fatalf("go build ./testserver: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join("test", "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test/*.test.mjs (%v)", err)
	}
	args := append([]string{"--test", "--test-force-exit", "--test-timeout=30000", "--test-reporter=spec", fmt.Sprintf("--test-concurrency=%d", len(files))}, files...)
	out := runNode(t, node, []string{"WSAUTH_TESTSERVER=" + bin}, args...)
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

// TestTypes runs tsc over the client: wsauth.js with --strict --checkJs,
// test/usage.ts against the declarations, and checks that wsauth.d.ts is
// what tsc makes of wsauth.js.
func TestTypes(t *testing.T) {
	t.Parallel()
	node := node(t)
	tsc := filepath.Join("node_modules", "typescript", "bin", "tsc")
	runNode(t, node, nil, tsc, "-p", "tsconfig.json")
	dir := t.TempDir()
	runNode(t, node, nil, tsc, "-p", "tsconfig.types.json", "--outDir", dir)
	got, err := os.ReadFile(filepath.Join(dir, "wsauth.d.ts"))
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("wsauth.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, have) {
		t.Errorf("wsauth.d.ts is not what tsc makes of wsauth.js: run: cd transport/js && npm run types")
	}
}
