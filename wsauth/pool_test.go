package wsauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
)

// TestPooledAttemptsDoNotCross is the attack on the pool of attempts:
// 600 concurrent handshakes on every route and through Middleware,
// successes among refusals and panics of the Verifier, the Authorizer
// and Options.Upgrade. Every accepted connection, and every event, must
// see its own principal and its own request.
func TestPooledAttemptsDoNotCross(t *testing.T) {
	v := wsauth.VerifierFunc(func(ctx context.Context, cred string, peer wsauth.Peer) (wsauth.Principal, error) {
		switch {
		case strings.HasPrefix(cred, "panic-"):
			panic("boom")
		case strings.HasPrefix(cred, "bad-"):
			return wsauth.Principal{}, wsauth.ErrInvalid
		}
		return wsauth.Principal{Subject: cred}, nil
	})
	authz := func(ctx context.Context, p wsauth.Principal, r *http.Request) error {
		if strings.HasPrefix(p.Subject, "apanic-") {
			panic("authz boom")
		}
		return nil
	}
	type pathKey struct{}
	hook := func(ctx context.Context, e wsauth.Event) {
		path, _ := ctx.Value(pathKey{}).(string)
		if e.Kind == wsauth.EventAuthenticated || e.Kind == wsauth.EventClosed {
			p, _ := wsauth.PrincipalFrom(ctx)
			i := path[strings.LastIndexByte(path, '/')+1:]
			if !strings.HasSuffix(e.Subject, "-"+i) || p.Subject != e.Subject {
				t.Errorf("event %s of %q (ctx %q) on %s", e.Kind, e.Subject, p.Subject, path)
			}
		}
	}
	upgrade := func(w http.ResponseWriter, r *http.Request, sub string) (wsauth.Socket, error) {
		if strings.Contains(r.URL.Path, "/7") {
			panic(http.ErrAbortHandler)
		}
		var o *websocket.AcceptOptions
		if sub != "" {
			o = &websocket.AcceptOptions{Subprotocols: []string{sub}}
		}
		return websocket.Accept(w, r, o)
	}
	mux := http.NewServeMux()
	var mwRoutes []route
	for _, rt := range allRoutes {
		a := wsauth.New(v, rt.strategy, &wsauth.Options{Limiter: wsauth.NewLimiter(0, 0), Authorizer: authz, Events: hook, Upgrade: upgrade})
		mux.Handle("/"+rt.name+"/", wsauth.Handler(a, func(ctx context.Context, c *wsauth.Conn) {
			msg := c.Principal().Subject + " " + c.Request().URL.Path
			if p, _ := wsauth.PrincipalFrom(ctx); p.Subject != c.Principal().Subject {
				msg = "ctx principal " + p.Subject
			}
			c.Write(ctx, websocket.MessageText, []byte(msg))
			c.Read(ctx)
		}))
		if rt.name == "query" || rt.name == "subprotocol" || rt.name == "header" || rt.name == "cookie" {
			mux.Handle("/mw-"+rt.name+"/", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, _ := wsauth.PrincipalFrom(r.Context())
				c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols(r)})
				if err != nil {
					return
				}
				defer c.CloseNow()
				c.Write(context.Background(), websocket.MessageText, []byte(p.Subject+" "+r.URL.Path))
				c.Read(context.Background())
			})))
			mw := rt
			mw.name = "mw-" + rt.name
			mwRoutes = append(mwRoutes, mw)
		}
	}
	url := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pathKey{}, r.URL.Path)))
	}))
	ctx := loadCtx(t)
	all := append(append([]route{}, allRoutes...), mwRoutes...)
	var wg sync.WaitGroup
	for i := range 600 {
		wg.Go(func() {
			rt := all[i%len(all)]
			var cred string
			switch i % 5 {
			case 1:
				cred = fmt.Sprintf("panic-%d", i)
			case 2:
				cred = fmt.Sprintf("bad-%d", i)
			case 3:
				cred = fmt.Sprintf("apanic-%d", i)
			default:
				cred = fmt.Sprintf("user-%d", i)
			}
			path := fmt.Sprintf("/%s/%d", rt.name, i)
			c, out := rt.dial(ctx, url+path, cred, nil)
			good := strings.HasPrefix(cred, "user-") && !strings.HasPrefix(fmt.Sprint(i), "7")
			if c == nil {
				if good {
					t.Errorf("%s #%d refused: %v", rt.name, i, out)
				}
				return
			}
			defer c.CloseNow()
			if !good {
				t.Errorf("%s #%d: %s accepted", rt.name, i, cred)
				return
			}
			_, b, err := c.Read(ctx)
			if want := cred + " " + path; err != nil || string(b) != want {
				var ce websocket.CloseError
				if errors.As(err, &ce) {
					err = ce
				}
				t.Errorf("%s #%d: got %q, %v; want %q", rt.name, i, b, err, want)
			}
		})
	}
	wg.Wait()
}
