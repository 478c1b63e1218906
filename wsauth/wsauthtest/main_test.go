package wsauthtest_test

import (
	"testing"

	"github.com/wsauth/wsauth/internal/testmain"
)

// TestMain fails the run if any goroutine outlives the tests: every
// server and connection the helpers make must be gone when a test ends.
func TestMain(m *testing.M) {
	testmain.Run(m)
}
