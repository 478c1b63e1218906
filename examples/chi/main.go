// Command chi is wsauth behind a chi router with chi's usual middleware
// stack (RequestID, Logger, Recoverer, Timeout), a ticket Issuer and
// WebSocket routes, set up so that the stack undoes none of wsauth's
// guarantees. Three traps, each fixed in server.go and tested in
// chi_test.go over real loopback:
//
//   - middleware.RealIP believes X-Forwarded-For from anyone: a ticket
//     bound to 127.0.0.1 is redeemed from 127.0.0.2 with a forged header.
//     Left out; the trusted proxies are configured in wsauth and the
//     Issuer (ticket.ClientIP), and chi's ClientIPFromXFF, with the same
//     proxies, only feeds the access log.
//   - middleware.Logger writes ?ticket=… into the access log: it formats
//     the request line as the request starts, before wsauth removes the
//     credential. The WebSocket routes are in a group without it, logged
//     by wsauth's events; behind auth.Middleware, a Logger after wsauth
//     is safe.
//   - middleware.Timeout cancels the request's context. wsauth.Handler's
//     connections and in-band handshakes outlive it, but a handshake
//     strategy checks its credential under that context, and Timeout
//     writes a 504 onto the hijacked connection when it ends, so the
//     WebSocket routes are in a group without it too.
//
// Try it:
//
//	go run ./examples/chi [-addr 127.0.0.1:8083] [-trusted-proxy 10.0.0.0/8]
//	T=$(curl -s -u alice:alice -X POST http://127.0.0.1:8083/tickets | jq -r .ticket)
//	websocat "ws://127.0.0.1:8083/ws?ticket=$T"
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "address to listen on")
	var cfg config
	flag.Func("trusted-proxy", "a `CIDR` of reverse proxies whose X-Forwarded-For is believed (repeatable)", func(s string) error {
		p, err := netip.ParsePrefix(s)
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
		return err
	})
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chi:", err)
		os.Exit(1)
	}
}

// run serves the example on addr until ctx is done. It fails at once if
// addr cannot be listened on (the port is busy, say).
func run(ctx context.Context, addr string, cfg config, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = out
	}
	hs := &http.Server{
		Handler:           newRouter(cfg),
		ReadHeaderTimeout: 5 * time.Second,  // to read the upgrade request
		IdleTimeout:       60 * time.Second, // keep-alive connections between requests
		MaxHeaderBytes:    32 << 10,         // room for an 8 KiB credential, base64url'd in Sec-WebSocket-Protocol
	}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// WebSocket connections are hijacked: Shutdown does not wait for them,
	// and they end with the process.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
