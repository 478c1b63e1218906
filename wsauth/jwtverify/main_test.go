package jwtverify

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every
// verification goroutine, server and connection the tests start must be
// gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
