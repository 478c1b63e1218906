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
	defer func() {
		if recover() == nil {
			t.Fatal("a Cookie strategy allowing every origin was made")
		}
	}()
	wsauth.New(verifier(), wsauth.Cookie{Name: "session"}, &wsauth.Options{OriginPatterns: []string{"*"}})
}
