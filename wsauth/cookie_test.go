package wsauth_test

import (
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
)

// TestCookieNeedsAnOrigin: a cookie rides on every request of the
// browser, so an upgrade that does not say where it comes from is refused
// before the cookie is read, and no pattern may allow every origin.
func TestCookieNeedsAnOrigin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := verifier()
		a := wsauth.New(v, wsauth.Cookie{Name: "session"}, &wsauth.Options{OriginPatterns: []string{"app.example"}})
		n := newVNet(t, wsauth.Handler(a, echo))
		o := n.opts()
		o.HTTPHeader = http.Header{"Cookie": {"session=alice-token"}}
		_, resp, err := websocket.Dial(vctx(t), vURL, o)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("without an Origin: %v, %v; want 403", resp, err)
		}
		if v.Calls() != 0 {
			t.Fatal("the cookie reached the verifier")
		}
		o.HTTPHeader.Set("Origin", "https://app.example")
		c, _, err := websocket.Dial(vctx(t), vURL, o)
		if err != nil {
			t.Fatalf("from an allowed origin: %v", err)
		}
		c.CloseNow()
	})
}

// TestCookieFromEveryOriginIsRefused: New refuses a Cookie strategy with
// any origin pattern that names no site, one a cross-site page could be
// served from ("*", "*:3000", "*.com"); patterns that pin the site are
// taken.
func TestCookieFromEveryOriginIsRefused(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		site    bool
	}{
		{"*", false},
		{"*://*", false},
		{"**", false},
		{"?*", false},
		{"*.*", false},
		{"*.*.*", false},
		{"*-*", false},
		{"*:*", false},
		{"*:3000", false},
		{"http://*:3000", false},
		{"https://*", false},
		{"*.com", false},
		{"*.", false},
		{"[*]:80", false},
		{"*.com.", false},
		{"[a-z]*", false},
		{"https://[a-z]*", false},
		{"[::1]*", false},
		{"*:[/][/]*[^://]", false},
		{`\[::1\]:*`, false},
		{"[::1]:*", false},
		{"app.example", true},
		{"https://app.example", true},
		{"*.example.com", true},
		{"https://*.example.com", true},
		{"http*://app.example:*", true},
		{"localhost:*", true},
		{"*.localhost", true},
		{"127.0.0.1:*", true},
		{"*.example.com.", true},
	} {
		made := func() (ok bool) {
			defer func() { ok = recover() == nil }()
			wsauth.New(verifier(), wsauth.Cookie{Name: "session"}, &wsauth.Options{OriginPatterns: []string{"app.example", tc.pattern}})
			return
		}()
		if made != tc.site {
			t.Errorf("OriginPatterns %q: made %v, want %v", tc.pattern, made, tc.site)
		}
	}
}
