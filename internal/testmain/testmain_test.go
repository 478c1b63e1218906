package testmain

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// childEnv makes the binary a child of TestRun, doing what its value says.
const childEnv = "WSAUTH_TESTMAIN_CHILD"

var leaked = make(chan struct{})

func TestMain(m *testing.M) {
	var after []func()
	switch os.Getenv(childEnv) {
	case "leak":
		go func() { <-leaked }()
	case "parallel":
		Parallel(5)
	case "after":
		after = append(after, func() { fmt.Println("after ran") })
	}
	Run(m, after...)
}

// TestParallelFlag prints -test.parallel in a "parallel" child.
func TestParallelFlag(t *testing.T) {
	if os.Getenv(childEnv) == "parallel" {
		fmt.Printf("parallel=%s\n", flag.Lookup("test.parallel").Value)
	}
}

// TestRun runs this binary again as a child for each case and checks
// its exit status and output.
func TestRun(t *testing.T) {
	if os.Getenv(childEnv) == "fail" {
		t.Fatal("failing as the parent asked")
	}
	for _, tt := range []struct {
		child    string
		args     []string
		fails    bool
		mentions string
	}{
		{"pass", []string{"-test.run=^$"}, false, "PASS"},
		{"leak", []string{"-test.run=^$"}, true, "goleak: Errors on successful test run"},
		{"fail", []string{"-test.run=^TestRun$"}, true, "--- FAIL: TestRun"},
		{"after", []string{"-test.run=^$"}, false, "PASS\nafter ran\n"},
		{"parallel", []string{"-test.run=^TestParallelFlag$"}, false, "parallel=5\n"},
		{"parallel", []string{"-test.run=^TestParallelFlag$", "-test.parallel=3"}, false, "parallel=3\n"},
	} {
		t.Run(tt.child, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], append(tt.args, "-test.v")...)
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
