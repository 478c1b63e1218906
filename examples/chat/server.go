package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/ticket/redisstore"
	wsauthjs "github.com/wsauth/wsauth/transport/js"
	"github.com/wsauth/wsauth/wsauth"
)

//go:embed static
var staticFiles embed.FS

// appProtocol is the application subprotocol of /ws/subprotocol.
const appProtocol = "chat.v1"

// config is what a chat node is made of; main fills it from flags.
type config struct {
	// Key signs access and session tokens (CHAT_JWT_KEY); at least 32
	// bytes. Nodes sharing Redis must share it.
	Key []byte
	// Redis, if set, holds the tickets and carries messages between
	// nodes; otherwise both stay in this process. The server does not
	// close it.
	Redis redis.UniversalClient
	// TicketTTL, TokenTTL and AuthTimeout default to 30 s, 5 min and 10 s.
	TicketTTL   time.Duration
	TokenTTL    time.Duration
	AuthTimeout time.Duration
	// AuthFailBurst is how many failed authentications a client address
	// may make in a row before it is refused with 429 or 4429 (then one
	// more per second), pooled over the four endpoints. Zero means 20;
	// negative turns the limit off.
	AuthFailBurst int
	// Logger defaults to discarding. The wsauth events (wsauth.SlogEvents)
	// go to its writer as slog text lines.
	Logger *log.Logger
}

// server is one chat node.
type server struct {
	cfg     config
	log     *log.Logger
	tokens  *tokens
	store   ticket.Store
	revs    ticket.Revocations // the store's revocations: logged-out sessions and users
	reg     *wsauth.Registry
	events  func(context.Context, wsauth.Event)
	hub     *hub
	broker  broker
	handler http.Handler

	stopListen context.CancelFunc // ends reg.Listen
	closeOnce  sync.Once

	// handlers counts the WebSocket handlers still running, so that Close
	// returns only once every connection has said goodbye.
	mu       sync.Mutex
	closing  bool
	handlers sync.WaitGroup
}

// track counts a starting WebSocket handler, unless the server is closing.
func (s *server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.handlers.Add(1)
	return true
}

func newServer(cfg config) (*server, error) {
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = ticket.DefaultTTL
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = log.New(io.Discard, "", 0)
	}
	tok, err := newTokens(cfg.Key, cfg.TokenTTL)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: cfg.Logger, tokens: tok, hub: newHub()}
	logEvent := wsauth.SlogEvents(slog.New(slog.NewTextHandler(cfg.Logger.Writer(), nil)))
	s.events = func(ctx context.Context, e wsauth.Event) {
		logEvent(ctx, e)
		authEvents.observe(ctx, e)
	}
	var bus ticket.Bus
	if cfg.Redis != nil {
		rs := redisstore.New(cfg.Redis, nil)
		s.store, s.revs = rs, rs
		bus = redisstore.NewBus(cfg.Redis, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if s.broker, err = newRedisBroker(ctx, cfg.Redis, s.hub, s.log); err != nil {
			return nil, err
		}
	} else {
		ms := memstore.New(nil)
		s.store, s.revs = ms, ms
		s.broker = localBroker{hub: s.hub}
	}
	// One registry for the node: logout revokes through it, in the store
	// (which every node checks) and on every node's live connections.
	s.reg = wsauth.NewRegistry(s.revs, bus)
	lctx, stop := context.WithCancel(context.Background())
	if err := s.reg.Listen(lctx); err != nil {
		stop()
		s.broker.close()
		return nil, err
	}
	s.stopListen = stop
	s.handler = s.routes()
	return s, nil
}

// Handler returns the node's HTTP handler: the page, the API and the
// WebSocket endpoints.
func (s *server) Handler() http.Handler { return s.handler }

// Close closes every chat connection with 1001, stops listening for
// revocations and leaves the broker.
func (s *server) Close() error {
	s.closeOnce.Do(func() {
		s.stopListen()
	})
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.hub.close()
	s.handlers.Wait()
	return s.broker.close()
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()

	// Login CSRF is a thing too: the API refuses cross-site requests, as
	// the ticket Issuer does on its own.
	cop := http.NewCrossOriginProtection()
	mux.Handle("POST /api/login", cop.Handler(http.HandlerFunc(s.login)))
	mux.Handle("POST /api/logout", cop.Handler(http.HandlerFunc(s.logout)))
	mux.Handle("POST /api/token", cop.Handler(http.HandlerFunc(s.token)))
	mux.Handle("POST /api/tickets", s.withSession(&ticket.Issuer{
		Store:    s.store,
		Identify: s.identify,
		TTL:      s.cfg.TicketTTL,
	}))

	// Counters of the wsauth events and the registry's size, as JSON.
	mux.Handle("GET /debug/vars", varsHandler())

	// Tickets name the room they were issued for; the path must match.
	tickets := wsauth.Tickets(&ticket.Redeemer{Store: s.store}, func(r *http.Request) string { return r.PathValue("room") })
	either := eitherVerifier{tickets: tickets, tokens: s.tokens.access}
	// One budget of failed authentications per address for all four
	// endpoints, so that spreading attempts over them gains nothing.
	limiter := wsauth.NewLimiter(20, time.Second)
	if s.cfg.AuthFailBurst < 0 {
		limiter = wsauth.NewLimiter(0, 0)
	} else if s.cfg.AuthFailBurst > 0 {
		limiter = wsauth.NewLimiter(s.cfg.AuthFailBurst, time.Second)
	}
	opts := &wsauth.Options{
		Authorizer: s.authorize,
		ReadLimit:  maxFrame,
		Registry:   s.reg,
		Limiter:    limiter,
		Events:     s.events,
	}
	// Browsers cannot read an HTTP status, so every endpoint refuses in
	// band, with a close code. Query strings end up in logs: tickets only
	// there. A subprotocol connection opened with an access token
	// refreshes it in band, as first-message ones do.
	mux.Handle("GET /ws/query/{room}", s.chatHandler("query", wsauth.New(tickets, wsauth.Query{InBand: true}, opts)))
	mux.Handle("GET /ws/subprotocol/{room}", s.chatHandler("subprotocol", wsauth.New(either, wsauth.Subprotocol{Protocols: []string{appProtocol}, InBand: true}, opts)))
	mux.Handle("GET /ws/first-message/{room}", s.chatHandler("first-message", wsauth.New(either, wsauth.FirstMessage{Timeout: s.cfg.AuthTimeout}, opts)))
	mux.Handle("GET /ws/jwt/{room}", s.chatHandler("jwt", wsauth.New(s.tokens.access, wsauth.PerMessage{Timeout: s.cfg.AuthTimeout}, opts)))

	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	// The browser client, the package in transport/js, from this origin
	// (the page's scripts may come from 'self' only).
	mux.Handle("GET /wsauth.js", securityHeaders(wsauthjs.Handler()))
	mux.Handle("GET /", securityHeaders(http.FileServerFS(static)))
	return mux
}

// authorize is the Authorizer of every WebSocket endpoint, run at
// connect and for every later credential (refresh frames, per-message
// tokens): the user must be a member of the room. (That the credential's
// session has not logged out, wsauth checks itself: its "sid".) It also
// joins the room (see chatHandler).
func (s *server) authorize(ctx context.Context, p wsauth.Principal, r *http.Request) error {
	room := r.PathValue("room")
	if !mayEnter(p.Subject, room) {
		return fmt.Errorf("%w: %s may not enter this room", wsauth.ErrForbidden, p.Subject)
	}
	if j, ok := ctx.Value(joinKey{}).(*joining); ok && j.m == nil {
		j.m = s.hub.join(room)
	}
	return nil
}

// securityHeaders sets the page's headers: no framing, no sniffing, and
// scripts only from this origin.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy",
			"default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}
