package js_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wsauth/wsauth/transport/js"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(js.Handler())
	defer srv.Close()
	want, err := os.ReadFile(js.Module)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/wsauth.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("GET: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body) != string(want) {
		t.Fatalf("GET served %d bytes, not the %d of %s", len(body), len(want), js.Module)
	}
	if !strings.Contains(string(body), "export class WsauthClient") {
		t.Error("the module does not export WsauthClient")
	}
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("ETag %q, Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/anywhere.js", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}

	resp, err = http.Post(srv.URL+"/wsauth.js", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// The module's VERSION is the package's.
func TestVersion(t *testing.T) {
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Name, Version string
		Dependencies  map[string]string
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	src, err := js.FS.ReadFile(js.Module)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`export const VERSION = '([^']+)';`).FindSubmatch(src)
	if m == nil || string(m[1]) != pkg.Version {
		t.Errorf("%s VERSION %q, package.json %q", js.Module, m, pkg.Version)
	}
	if len(pkg.Dependencies) != 0 {
		t.Errorf("runtime dependencies %v: the client has none", pkg.Dependencies)
	}
	if _, err := js.FS.ReadFile("wsauth.d.ts"); err != nil {
		t.Error(err)
	}
}
