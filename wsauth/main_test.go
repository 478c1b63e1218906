package wsauth_test

import (
	"testing"

	"github.com/wsauth/wsauth/internal/testmain"
)

// TestMain fails the run if any goroutine outlives the tests: every
// connection, timer goroutine and server the tests start must be gone.
func TestMain(m *testing.M) {
	testmain.Run(m)
}
