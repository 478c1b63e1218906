package harness

import (
	"os"
	"strings"
	"testing"
)

// TestGorillaAdapterIsTheExample: gorilla_test.go's code is the example's, so
// that what the harness checks is what users copy.
func TestGorillaAdapterIsTheExample(t *testing.T) {
	code := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i := strings.Index(s, "\nimport (")
		if i < 0 {
			t.Fatalf("%s: no import block", path)
		}
		return s[i:]
	}
	if code("gorilla_test.go") != code("../../examples/gorilla/socket.go") {
		t.Fatal("internal/harness/gorilla_test.go differs from examples/gorilla/socket.go: copy the example's code, from its imports on")
	}
}
