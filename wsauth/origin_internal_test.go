package wsauth

import (
	"net/http"
	"testing"
)

// FuzzNamesASite holds namesASite to what it promises: a pattern it takes
// for a Cookie lets in at most one site. No such pattern admits, through
// checkOrigin, both of two unrelated made-up sites, whatever scheme and
// port each is served on.
func FuzzNamesASite(f *testing.F) {
	for _, p := range []string{"app.example", "*.example.com", "https://*.example.com", "http*://app.example:*", "localhost:*", "*.localhost", "*", "*:3000", "*.com.", "[a-z]*", "*:[/][/]*[^://]", "?*", "*.*", `\*`} {
		f.Add(p)
	}
	sites := [][]string{
		{"https://one.wsauth-fuzz.net", "http://one.wsauth-fuzz.net:3000", "https://one.wsauth-fuzz.net.", "http://one.wsauth-fuzz.net.:8080"},
		{"https://two.fuzzing-site.org", "http://two.fuzzing-site.org:3000", "https://two.fuzzing-site.org.", "http://two.fuzzing-site.org.:8080"},
	}
	admits := func(pattern string, origins []string) bool {
		for _, o := range origins {
			r := &http.Request{Host: "server.invalid", Header: http.Header{"Origin": {o}}}
			if checkOrigin(r, []string{pattern}, true) == nil {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		if namesASite(pattern) && admits(pattern, sites[0]) && admits(pattern, sites[1]) {
			t.Fatalf("namesASite(%q), yet it admits two unrelated sites", pattern)
		}
	})
}
