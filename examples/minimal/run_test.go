package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsauth/wsauth/transport"
)

// TestRun builds the example and runs it as a user would: it prints its
// address, hands alice a ticket that opens one echo connection, and with
// its port taken it fails loudly with exit status 1.
func TestRun(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "minimal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A port already taken: the example must say so and exit 1.
	if ln, err := net.Listen("tcp", "127.0.0.1:8081"); err == nil {
		out, err := exec.Command(bin).CombinedOutput()
		ln.Close()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !bytes.Contains(out, []byte("address already in use")) {
			t.Fatalf("with the port busy: %v\n%s", err, out)
		}
	} else {
		t.Fatalf("port 8081 is taken by something else: %v", err)
	}

	var out syncBuffer
	cmd := exec.Command(bin)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var tk struct{ Ticket string }
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:8081/tickets", nil)
		req.SetBasicAuth("alice", "alice")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&tk)
			resp.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the example never answered: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the process's port, not synchronising goroutines
	}
	if !strings.Contains(out.String(), "serving on http://127.0.0.1:8081") {
		t.Errorf("output lacks the address:\n%s", out.String())
	}
	c, _, err := transport.DialQuery(ctx, "ws://127.0.0.1:8081/ws", tk.Ticket, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, 1, []byte("hi"))
	if _, b, err := c.Read(ctx); err != nil || string(b) != "alice: hi" {
		t.Fatalf("echo %q, %v", b, err)
	}
	if _, resp, _ := transport.DialQuery(ctx, "ws://127.0.0.1:8081/ws", tk.Ticket, nil); resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a replayed ticket: %v", resp)
	}
	http.DefaultClient.CloseIdleConnections()
}

// syncBuffer collects a process's output, written while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
