// Command gorilla is wsauth on gorilla/websocket: all four strategies,
// expiry, refresh, revocation and an Authorizer, with the WebSocket
// connections made by gorilla. See README.md.
//
//	go run ./examples/gorilla [-addr 127.0.0.1:8082]
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gorilla:", err)
		os.Exit(1)
	}
}

// run serves the example on addr until ctx is done. It fails at once if
// addr cannot be listened on (the port is busy, say).
func run(ctx context.Context, addr string, out io.Writer) error {
	srv, err := newServer(ctx, config{JWTKey: []byte(rand.Text() + rand.Text())}) // tokens valid for this process only
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,  // to read the upgrade request
		IdleTimeout:       60 * time.Second, // keep-alive connections between requests
		MaxHeaderBytes:    16 << 10,         // room for the largest credential, base64url'd in Sec-WebSocket-Protocol
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
