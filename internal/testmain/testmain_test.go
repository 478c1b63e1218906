package testmain

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// childEnv makes the binary a child of TestRun, doing what its value says.
const childEnv = "WSAUTH_TESTMAIN_CHILD"

var leaked = make(chan struct{})

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "leak" {
		go func() { <-leaked }()
	}
	Run(m)
}

// TestRun runs this binary again as a child for each case and checks
// its exit status and output.
func TestRun(t *testing.T) {
	if os.Getenv(childEnv) == "fail" {
		t.Fatal("failing as the parent asked")
	}
	for _, tt := range []struct {
		child, run string
		fails      bool
		mentions   string
	}{
		{"pass", "^$", false, "PASS"},
		{"leak", "^$", true, "goleak: errors on successful test run"},
		{"fail", "^TestRun$", true, "--- FAIL: TestRun"},
	} {
		t.Run(tt.child, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+tt.run, "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+tt.child)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.fails {
				t.Fatalf("child failed: %v, want %v (%v); output:\n%s", failed, tt.fails, err, out)
			}
			if !strings.Contains(string(out), tt.mentions) {
				t.Fatalf("child output lacks %q:\n%s", tt.mentions, out)
			}
		})
	}
}
