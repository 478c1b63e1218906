package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestStackAfterUpgrade runs connmem's server for every kind with its
// goroutine stacks capped at 8 KiB (CONNMEM_MAXSTACK): the server crashes,
// and the test fails with the traceback, if the handshake (the 101, and
// auth_ok in band: both written before the client's dial returns) takes
// the handler's goroutine past 8 KiB. A goroutine keeps a grown stack
// while it idles, so that would double the stack cost per connection.
func TestStackAfterUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs connmem: skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "connmem")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-n", "2", "-sources", "1", "-c", "2", "-settle", "0")
	cmd.Env = append(os.Environ(), maxStackEnv+"=8192", "GOTRACEBACK=system")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with 8 KiB stacks: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
