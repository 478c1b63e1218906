package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADME builds the README's complete program with socket.go, as a
// user who copies both would, so that it cannot rot. The package exists
// only in a -overlay: nothing is written into the source tree.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```go\npackage main\n")
	if !ok {
		t.Fatal("README has no complete program")
	}
	block, _, _ = strings.Cut(block, "```")
	if n := strings.Count(block, "\n") + 1; n >= 30 {
		t.Fatalf("README's program is %d lines; keep it under 30", n)
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	prog := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(prog, []byte("package main\n"+block), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(here, "readme-program") // not on disk
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {
		filepath.Join(pkg, "main.go"):   prog,
		filepath.Join(pkg, "socket.go"): filepath.Join(here, "socket.go"),
	}})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), gocmd, "build", "-overlay", overlayFile, "-o", os.DevNull, "./readme-program")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's program does not build: %v\n%s", err, out)
	}
}
