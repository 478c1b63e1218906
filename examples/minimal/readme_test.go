package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADME keeps the README's complete server identical to this one, so
// the README's code always compiles.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```go\npackage main\n")
	if !ok {
		t.Fatal("README has no complete server")
	}
	block, _, _ = strings.Cut(block, "```")
	if "package main\n"+block != string(src) {
		t.Fatal("README's server differs from examples/minimal/main.go")
	}
	if n := strings.Count(block, "\n"); n >= 30 {
		t.Fatalf("README's server is %d lines; keep it under 30", n)
	}
}
