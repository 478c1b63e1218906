package main

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
)

// config configures newRouter. The zero value works.
type config struct {
	// Store holds the tickets; nil means a new memstore.
	Store ticket.Store
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed, by the ticket Issuer, by wsauth and by the access log
	// alike. None: the client is RemoteAddr, whatever the headers say.
	TrustedProxies []netip.Prefix
	// AccessLog receives chi's access log (middleware.Logger's lines);
	// nil means os.Stdout, as for middleware.Logger.
	AccessLog io.Writer
	// Events receives wsauth's events (wsauth.SlogEvents); nil means
	// slog.Default().
	Events *slog.Logger
	// Timeout is chi's middleware.Timeout of the plain HTTP routes.
	// Default 10 s.
	Timeout time.Duration
}

// newRouter returns the example's routes on chi: POST /tickets (basic
// auth, alice/alice or bob/bob), and two WebSocket echo routes taking a
// ticket in ?ticket=: GET /ws (wsauth.Handler) and GET /ws/plain (a plain
// handler behind auth.Middleware).
func newRouter(cfg config) http.Handler {
	if cfg.Store == nil {
		cfg.Store = memstore.New(nil)
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = os.Stdout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	// Trap 1: middleware.RealIP believes X-Forwarded-For from anyone and
	// rewrites RemoteAddr, so a ticket bound to one address is redeemed
	// from another. Leave it out: one ClientIP, with the trusted proxies,
	// for the Issuer that binds tickets and for wsauth that checks them.
	ip := &ticket.ClientIP{TrustedProxies: cfg.TrustedProxies}
	opts := &wsauth.Options{ClientIP: ip, Events: wsauth.SlogEvents(cfg.Events)}
	tickets := wsauth.Tickets(&ticket.Redeemer{Store: cfg.Store}, nil)
	// middleware.Logger, with its output where cfg says.
	accessLog := middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(cfg.AccessLog, "", log.LstdFlags), NoColor: true})

	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(clientIP(cfg.TrustedProxies)) // the access log's "from": never RemoteAddr rewritten
	r.Use(middleware.Recoverer)
	// Plain HTTP routes: the access log and the request timeout.
	r.Group(func(r chi.Router) {
		r.Use(accessLog, middleware.Timeout(cfg.Timeout))
		r.Method(http.MethodPost, "/tickets", &ticket.Issuer{Store: cfg.Store, Identify: login, ClientIP: ip})
	})
	// WebSocket routes. Trap 2: middleware.Logger writes the request line,
	// ?ticket= included, as the request starts, before wsauth removes the
	// credential; wsauth's events log these routes instead. Trap 3:
	// middleware.Timeout cancels the request's context, under which the
	// handshake runs (see the README).
	r.Group(func(r chi.Router) {
		r.Method(http.MethodGet, "/ws", wsauth.Handler(wsauth.New(tickets, wsauth.Query{}, opts), echo))
		// After wsauth, a logger sees the request without its credential.
		mw := wsauth.New(tickets, wsauth.Query{}, opts).Middleware
		r.With(mw, accessLog).Get("/ws/plain", plainEcho)
	})
	return r
}

// clientIP is chi's replacement for RealIP: it records the client address
// for the access log, reading X-Forwarded-For only from trusted proxies,
// and leaves RemoteAddr alone.
func clientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	cidrs := make([]string, len(trusted))
	for i, p := range trusted {
		cidrs[i] = p.String()
	}
	return middleware.ClientIPFromXFF(cidrs...)
}

// login is the ticket Issuer's Identify: basic auth, password = name.
func login(r *http.Request) (ticket.Ticket, error) {
	if user, pass, ok := r.BasicAuth(); ok && user == pass && (user == "alice" || user == "bob") {
		return ticket.Ticket{Subject: user}, nil
	}
	return ticket.Ticket{}, nil // no subject: 401
}

// echo answers each message with "<subject>: <message>".
func echo(ctx context.Context, c *wsauth.Conn) {
	for m, err := c.Read(ctx); err == nil; m, err = c.Read(ctx) {
		if c.Write(ctx, m.Type, append([]byte(m.Principal.Subject+": "), m.Data...)) != nil {
			return
		}
	}
}

// plainEcho is a WebSocket handler that knows nothing of wsauth but the
// principal in its request's context.
func plainEcho(w http.ResponseWriter, r *http.Request) {
	p, _ := wsauth.PrincipalFrom(r.Context())
	c, err := websocket.Accept(w, r, nil) // wsauth has checked the origin already, same host only
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	for typ, b, err := c.Read(ctx); err == nil; typ, b, err = c.Read(ctx) {
		if c.Write(ctx, typ, append([]byte(p.Subject+": "), b...)) != nil {
			return
		}
	}
}
