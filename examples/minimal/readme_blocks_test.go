package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// notCompiled starts a README Go block that is deliberately not Go: the
// test skips it. Keep such blocks at zero if at all possible.
const notCompiled = "// not compiled:"

// readmeScaffold is what the README's fragments use without declaring
// it: the packages they name and the variables that earlier prose or
// blocks stand for. Every fragment becomes the body of a function in one
// file after it.
const readmeScaffold = `package blocks

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

var (
	_ = context.Background
	_ = netip.MustParsePrefix
	_ = time.Second
	_ = chi.NewRouter
	_ = middleware.Logger
	_ = redis.NewUniversalClient
	_ = memstore.New
	_ = redisstore.New
	_ = jwtverify.New
)

var (
	auth           *wsauth.Authenticator                      // an Authenticator made earlier
	verifier       wsauth.Verifier                            // tickets or JWTs
	tickets        wsauth.Verifier                            // wsauth.Tickets(…)
	keys           jwt.Keyfunc                                // jwtverify.Keys(…)
	store          ticket.Store                               // memstore or redisstore
	login          func(*http.Request) (ticket.Ticket, error) // your login, as ticket.Issuer.Identify
	ip             *ticket.ClientIP                           // the trusted proxies
	mux            = http.NewServeMux()
	serve          func(context.Context, *wsauth.Conn)                                    // a wsauth.Handler function
	gorillaHandler http.Handler                                                           // a plain gorilla/websocket handler
	plainHandler   http.HandlerFunc                                                       // a WebSocket handler that knows nothing of wsauth
	Upgrade        func(http.ResponseWriter, *http.Request, string) (wsauth.Socket, error) // examples/gorilla's adapter
)
`

// readmeBlock is one Go block of the README.
type readmeBlock struct {
	line int // of its first line of code
	code string
}

// TestREADMEBlocksCompile builds every Go block of the README in one go
// build: complete programs (package main) as they are, fragments as
// function bodies after readmeScaffold, with //line directives so that an
// error names the README's line. Nothing is written into the tree: the
// packages exist only in a -overlay.
func TestREADMEBlocksCompile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("the README has no Go blocks")
	}
	readmePath, err := filepath.Abs("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(here, "readme-blocks") // not on disk
	tmp := t.TempDir()
	replace := map[string]string{}
	add := func(pkgFile, src string) {
		f := filepath.Join(tmp, fmt.Sprintf("f%d.go", len(replace)))
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		replace[filepath.Join(root, pkgFile)] = f
	}
	var frags strings.Builder
	frags.WriteString(readmeScaffold)
	pkgs := []string{"./readme-blocks/fragments"}
	skipped := 0
	for i, b := range blocks {
		switch {
		case strings.HasPrefix(strings.TrimSpace(b.code), notCompiled):
			skipped++
			t.Logf("README.md:%d: not compiled", b.line)
		case strings.HasPrefix(b.code, "package "):
			dir := fmt.Sprintf("program%d", i)
			// Built as a library: the check is that it compiles, and
			// linking each program would cost more than compiling it.
			code := strings.Replace(b.code, "package main\n", "package program\n", 1)
			add(filepath.Join(dir, "main.go"), fmt.Sprintf("//line %s:%d\n%s", readmePath, b.line, code))
			pkgs = append(pkgs, "./readme-blocks/"+dir)
		default:
			defined, err := definedNames(b.code)
			if err != nil {
				t.Errorf("README.md:%d: not a sequence of Go statements: %v", b.line, err)
				continue
			}
			fmt.Fprintf(&frags, "\nfunc block%d() {\n//line %s:%d\n%s\n", i, readmePath, b.line, b.code)
			for _, name := range defined {
				fmt.Fprintf(&frags, "\t_ = %s\n", name)
			}
			frags.WriteString("}\n")
		}
	}
	add(filepath.Join("fragments", "fragments.go"), frags.String())
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-overlay", overlayFile}
	if raceBuild {
		args = append(args, "-race") // reuses what building this test compiled
	}
	cmd := exec.CommandContext(t.Context(), gocmd, append(args, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README Go blocks do not compile: %v\n%s", err, out)
	}
	t.Logf("%d Go blocks built, %d not compiled", len(blocks)-skipped, skipped)
}

// goBlocks returns the ```go blocks of a Markdown text.
func goBlocks(md string) []readmeBlock {
	var blocks []readmeBlock
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
		}
		blocks = append(blocks, readmeBlock{line: start + 1, code: strings.Join(lines[start:min(i, len(lines))], "\n")})
	}
	return blocks
}

// definedNames parses code as a function body and returns the names its
// top-level statements declare, so that the scaffold can use each once:
// a fragment shows how to make something, not what to do with it next.
func definedNames(code string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+code+"\n}", 0)
	if err != nil {
		return nil, err
	}
	var names []string
	addIdent := func(e ast.Expr) {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			names = append(names, id.Name)
		}
	}
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, e := range st.Lhs {
					addIdent(e)
				}
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, s := range gd.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						addIdent(n)
					}
				}
			}
		}
	}
	return names, nil
}
