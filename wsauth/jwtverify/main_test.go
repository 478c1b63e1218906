package jwtverify

import (
	"testing"

	"github.com/wsauth/wsauth/internal/testmain"
)

// TestMain fails the run if any goroutine outlives the tests: every
// verification goroutine, server and connection the tests start must be
// gone.
func TestMain(m *testing.M) {
	testmain.Run(m)
}
