// Command chat is the wsauth example: a chat server with rooms, a browser
// page, and one WebSocket endpoint per authentication strategy.
//
//	go run ./examples/chat [-addr 127.0.0.1:8080] [-redis ADDR]
//
// See README.md for the HTTP and WebSocket contract.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
)

// keyEnv names the environment variable holding the JWT HMAC key.
const keyEnv = "CHAT_JWT_KEY"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	redisAddr := flag.String("redis", "", "Redis `address` (host:port or redis:// URL) for tickets and fan-out across nodes; empty keeps both in memory")
	ticketTTL := flag.Duration("ticket-ttl", ticket.DefaultTTL, "ticket lifetime")
	jwtTTL := flag.Duration("jwt-ttl", 5*time.Minute, "access token lifetime")
	authTimeout := flag.Duration("auth-timeout", 10*time.Second, "how long /ws/first-message and /ws/jwt wait for the first frame")
	failBurst := flag.Int("auth-fail-burst", 20, "failed authentications a client address may make in a row before 4429 (then one more per second); 0 turns the limit off")
	flag.Parse()

	logger := log.New(os.Stdout, "chat: ", 0)
	cfg := config{
		TicketTTL:     *ticketTTL,
		TokenTTL:      *jwtTTL,
		AuthTimeout:   *authTimeout,
		AuthFailBurst: *failBurst,
		Logger:        logger,
	}
	if *failBurst <= 0 {
		cfg.AuthFailBurst = -1
	}
	if err := run(*addr, *redisAddr, cfg); err != nil {
		logger.Fatal(err)
	}
}

func run(addr, redisAddr string, cfg config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := cfg.Logger

	if k := os.Getenv(keyEnv); k != "" {
		cfg.Key = []byte(k)
		if len(cfg.Key) < minKeySize {
			return fmt.Errorf("%s must be at least %d bytes", keyEnv, minKeySize)
		}
	} else {
		cfg.Key = make([]byte, 32)
		rand.Read(cfg.Key)
		logger.Printf("%s is not set: using a random key; tokens die with this process, and nodes sharing Redis need the same key", keyEnv)
	}

	if redisAddr != "" {
		client, err := redisClient(redisAddr)
		if err != nil {
			return err
		}
		defer client.Close()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = client.Ping(pctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("redis %s: %w", redactedAddr(redisAddr), err)
		}
		cfg.Redis = client
		logger.Printf("tickets, messages and revocations go through Redis at %s", redactedAddr(redisAddr))
	} else {
		logger.Printf("tickets and messages stay in memory (single node)")
	}

	srv, err := newServer(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := httpServer(srv.Handler())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	logger.Printf("demo accounts (password = name, demo only): alice, bob, carol")
	logger.Printf("rooms: general (everyone), secret (alice and bob)")
	logger.Printf("listening on http://%s", ln.Addr())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop()
	logger.Printf("shutting down")
	// Hijacked WebSocket connections are not Shutdown's: close them first.
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpServer is the chat's http.Server for h, with the timeouts and the
// header limit the README's "Deploying" section recommends. None of them
// cuts an established WebSocket (net/http clears deadlines on hijack).
func httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,  // to read the upgrade request
		IdleTimeout:       60 * time.Second, // keep-alive connections between requests
		MaxHeaderBytes:    32 << 10,         // a JWT is at most 8 KiB, 11 KiB in base64 in Sec-WebSocket-Protocol
	}
}

// redisClient returns a client for addr, host:port or a redis:// URL. Its
// errors do not show the URL, which may hold a password.
func redisClient(addr string) (redis.UniversalClient, error) {
	if strings.Contains(addr, "://") {
		opts, err := redis.ParseURL(addr)
		if err != nil {
			// A *url.Error quotes the whole URL, password included.
			if ue := (*url.Error)(nil); errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("-redis %s: %w", redactedAddr(addr), err)
		}
		return redis.NewClient(opts), nil
	}
	return redis.NewClient(&redis.Options{Addr: addr}), nil
}

// redactedAddr is the -redis address fit for a log line or an error: a
// URL's password is replaced by "xxxxx", and a URL that does not parse
// shows only its scheme.
func redactedAddr(addr string) string {
	scheme, _, isURL := strings.Cut(addr, "://")
	if !isURL {
		return addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return scheme + "://…"
	}
	return u.Redacted()
}
