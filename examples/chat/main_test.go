package main

import (
	"testing"

	"github.com/wsauth/wsauth/internal/testmain"
)

func TestMain(m *testing.M) {
	testmain.Run(m, e2eRemoveBuild)
}
