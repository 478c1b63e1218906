package main

import (
	"testing"

	"github.com/wsauth/wsauth/internal/testmain"
)

// TestMain fails the run if any goroutine outlives the tests.
func TestMain(m *testing.M) {
	testmain.Run(m)
}
