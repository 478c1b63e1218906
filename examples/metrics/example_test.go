package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsauth/wsauth/examples/metrics"
	"github.com/wsauth/wsauth/internal/testmain"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/wsauthtest"
)

// TestMain fails the run if any goroutine outlives the Example.
func TestMain(m *testing.M) {
	testmain.Run(m)
}

// A wsauth server whose events Prometheus scrapes at /metrics: one good
// credential, whose connection the handler closes after one echo, and one
// bad credential.
func Example() {
	reg := prometheus.NewRegistry()
	v := wsauthtest.NewVerifier(map[string]wsauth.Principal{"good": {Subject: "alice"}})
	auth := wsauth.New(v, wsauth.Query{}, &wsauth.Options{Events: metrics.Events(reg)})
	mux := http.NewServeMux()
	mux.Handle("/ws", wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		if m, err := c.Read(ctx); err == nil {
			c.Write(ctx, m.Type, m.Data)
		} // returning closes the connection with 1000
	}))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	ctx := context.Background()
	c, _, err := transport.DialQuery(ctx, ws, "good", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write(ctx, websocket.MessageText, []byte("hi"))
	_, echo, _ := c.Read(ctx)
	_, _, err = c.Read(ctx) // the server's close frame, sent once the closed event is counted
	fmt.Println(string(echo), websocket.CloseStatus(err))
	_, resp, _ := transport.DialQuery(ctx, ws, "bad", nil)
	fmt.Println(resp.StatusCode) // the refused event is counted before the answer

	printMetrics(srv.URL + "/metrics")
	// Output:
	// hi StatusNormalClosure
	// 401
	// wsauth_connection_duration_seconds_bucket{le="1"} 1
	// wsauth_connection_duration_seconds_bucket{le="60"} 1
	// wsauth_connection_duration_seconds_bucket{le="3600"} 1
	// wsauth_connection_duration_seconds_bucket{le="+Inf"} 1
	// wsauth_connection_duration_seconds_count 1
	// wsauth_connections 0
	// wsauth_events_total{kind="authenticated",reason=""} 1
	// wsauth_events_total{kind="closed",reason="closed"} 1
	// wsauth_events_total{kind="refused",reason="invalid"} 1
}

// printMetrics prints what Prometheus scrapes from url, in the registry's
// order (sorted by name, then labels), without the comments and without
// the lifetimes' _sum, which varies from run to run.
func printMetrics(url string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if line := sc.Text(); !strings.HasPrefix(line, "#") && !strings.Contains(line, "_sum ") {
			fmt.Println(line)
		}
	}
}
