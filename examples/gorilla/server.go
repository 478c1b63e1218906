package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

// The demo's users, and the rooms they may enter: what the Authorizer
// checks, for the room in the path of every WebSocket route.
var (
	users = []string{"alice", "bob"}
	rooms = map[string][]string{
		"general": {"alice", "bob"},
		"staff":   {"alice"},
	}
)

// appProtocol is the application subprotocol of the Subprotocol routes.
const appProtocol = "chat.v1"

// config configures newServer. Only JWTKey is required.
type config struct {
	// JWTKey is the HS256 secret of the demo identity provider (POST
	// /token) and of the JWT verifier: at least 32 random bytes.
	JWTKey []byte
	// Store holds tickets and revocations; nil means a new memstore.
	// Nodes that share one stand for nodes that share redisstore.
	Store *memstore.Store
	// Bus carries revocations between nodes (redisstore.NewBus in
	// production); nil means a single node.
	Bus ticket.Bus
	// TicketLifetime is how long a connection opened with a ticket lives
	// before it must refresh or reconnect. Default 1 h.
	TicketLifetime time.Duration
	// TokenTTL is the lifetime of the JWTs POST /token mints. Default
	// 15 min.
	TokenTTL time.Duration
	// Logger receives wsauth's events (wsauth.SlogEvents); nil means
	// slog.Default().
	Logger *slog.Logger
	// Events, if set, also sees every event: metrics, or tests.
	Events func(context.Context, wsauth.Event)
}

// server is the example: a ticket issuer, a token issuer and the
// WebSocket routes, all on gorilla/websocket.
type server struct {
	http.Handler
	cfg config
	// Registry holds the node's live connections: Revoke closes a
	// subject's connections here and, through the Bus, on every node.
	Registry *wsauth.Registry
}

// newServer returns the example's routes. With a Bus it listens for the
// other nodes' revocations until ctx is done.
func newServer(ctx context.Context, cfg config) (*server, error) {
	if cfg.Store == nil {
		cfg.Store = memstore.New(nil)
	}
	if cfg.TicketLifetime <= 0 {
		cfg.TicketLifetime = time.Hour
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 15 * time.Minute
	}
	jwts, err := newJWTVerifier(cfg.JWTKey)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, Registry: wsauth.NewRegistry(cfg.Store, cfg.Bus)}
	if err := s.Registry.Listen(ctx); err != nil {
		return nil, err
	}
	tickets := ticketVerifier(cfg.Store, cfg.TicketLifetime)
	logEvents := wsauth.SlogEvents(cfg.Logger)
	opts := &wsauth.Options{
		Authorizer: authorizeRoom,
		Registry:   s.Registry,
		Limiter:    wsauth.NewLimiter(20, time.Second), // one failure budget for all routes
		Events: func(ctx context.Context, e wsauth.Event) {
			logEvents(ctx, e)
			if cfg.Events != nil {
				cfg.Events(ctx, e)
			}
		},
		Upgrade: Upgrade, // gorilla, for Handler and for in-band refusals
	}
	auth := func(v wsauth.Verifier, st wsauth.Strategy) *wsauth.Authenticator { return wsauth.New(v, st, opts) }

	mux := http.NewServeMux()
	mux.Handle("POST /tickets", &ticket.Issuer{Store: cfg.Store, Identify: identify})
	cop := http.NewCrossOriginProtection()
	mux.Handle("POST /token", cop.Handler(http.HandlerFunc(s.token)))
	mux.Handle("POST /logout", cop.Handler(http.HandlerFunc(s.logout)))

	// Two ways to put wsauth in front of gorilla:
	//
	// Middleware, when the WebSocket handler is not yours or must stay
	// plain gorilla: wsauth authenticates the upgrade request and passes
	// it on. Handshake strategies only; refusals are HTTP statuses; on
	// expiry or revocation wsauth can only cut the TCP connection (the
	// client sees 1006), and there is no refresh.
	mux.Handle("GET /mw/query/{room}", auth(tickets, wsauth.Query{}).Middleware(http.HandlerFunc(plainEcho)))
	mux.Handle("GET /mw/subprotocol/{room}", auth(jwts, wsauth.Subprotocol{Protocols: []string{appProtocol}}).Middleware(http.HandlerFunc(plainEcho)))

	// Handler with Options.Upgrade set to gorilla, for everything else:
	// every strategy, close codes (4401, 4403, ...), the expiry notice 30 s
	// before 4401, and refresh in band. The handler gets a *wsauth.Conn
	// over gorilla (c.Socket().(*Socket).Conn() for what Conn lacks, such as
	// pings).
	mux.Handle("GET /ws/query/{room}", wsauth.Handler(auth(tickets, wsauth.Query{InBand: true}), echo))
	mux.Handle("GET /ws/subprotocol/{room}", wsauth.Handler(auth(jwts, wsauth.Subprotocol{Protocols: []string{appProtocol}, InBand: true}), echo))
	mux.Handle("GET /ws/first-message/{room}", wsauth.Handler(auth(tickets, wsauth.FirstMessage{}), echo))
	mux.Handle("GET /ws/per-message/{room}", wsauth.Handler(auth(jwts, wsauth.PerMessage{}), echo))
	s.Handler = mux
	return s, nil
}

// authorizeRoom is the Authorizer: the subject must be a member of the
// room in the path. wsauth runs it at connect and for every later
// credential (refresh, per-message token).
func authorizeRoom(_ context.Context, p wsauth.Principal, r *http.Request) error {
	room := r.PathValue("room")
	if !slices.Contains(rooms[room], p.Subject) {
		return fmt.Errorf("%w: %s is not a member of room %q", wsauth.ErrForbidden, p.Subject, room)
	}
	return nil
}

// echo is the handler of the Handler routes: it answers each message with
// "<subject>: <data>" until the connection ends (expired, revoked, closed).
func echo(ctx context.Context, c *wsauth.Conn) {
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, m.Type, append([]byte(m.Principal.Subject+": "), m.Data...)) != nil {
			return
		}
	}
}

// plainEcho is the handler behind Middleware: plain gorilla, which knows of
// wsauth only PrincipalFrom.
func plainEcho(w http.ResponseWriter, r *http.Request) {
	p, _ := wsauth.PrincipalFrom(r.Context())
	u := websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		CheckOrigin:      func(*http.Request) bool { return true }, // Middleware has checked it
		Subprotocols:     websocket.Subprotocols(r),                // Middleware left only the one it selected
	}
	ws, err := u.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	for {
		typ, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if ws.WriteMessage(typ, append([]byte(p.Subject+": "), msg...)) != nil {
			return
		}
	}
}

// ticketVerifier redeems single-use tickets (wsauth.Tickets), and gives the
// connection a lifetime: a ticket authenticates only the handshake, so
// without one a ticket connection would never expire. It re-authenticates
// (refresh with a new ticket, or reconnect) every lifetime, as a JWT
// connection does when its token runs out.
func ticketVerifier(store ticket.Store, lifetime time.Duration) wsauth.Verifier {
	v := wsauth.Tickets(&ticket.Redeemer{Store: store}, nil) // rooms: authorizeRoom
	return wsauth.VerifierFunc(func(ctx context.Context, cred string, peer wsauth.Peer) (wsauth.Principal, error) {
		p, err := v.Verify(ctx, cred, peer)
		if err == nil {
			p.ExpiresAt = time.Now().Add(lifetime)
		}
		return p, err
	})
}

func newJWTVerifier(key []byte) (*jwtverify.Verifier, error) {
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(key)})
	if err != nil {
		return nil, err
	}
	return jwtverify.New([]string{"HS256"}, keys, nil)
}

// mintJWT is the demo identity provider: an HS256 token for subject,
// expiring after ttl (in whole seconds). Revocations compare against
// "iat", so it has milliseconds (jwt/v5 would write whole seconds, and a
// user who logs out and back in within a second would be refused), rounded
// down: a token minted before a revocation never counts as after it.
func mintJWT(key []byte, subject string, ttl time.Duration) (string, time.Time, error) {
	now := time.Now()
	exp := now.Truncate(time.Second).Add(ttl)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": subject,
		"iat": json.Number(strconv.FormatFloat(float64(now.UnixMilli())/1000, 'f', 3, 64)),
		"exp": exp.Unix(),
	}).SignedString(key)
	return tok, exp, err
}

// identify is the demo login, for POST /tickets, /token and /logout: HTTP
// basic auth, every user's password being their name. Put your real
// authentication here (a session cookie, say).
func identify(r *http.Request) (ticket.Ticket, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || !slices.Contains(users, user) || subtle.ConstantTimeCompare([]byte(pass), []byte(user)) != 1 {
		return ticket.Ticket{}, errors.New("unknown user or wrong password")
	}
	return ticket.Ticket{Subject: user}, nil
}

// token answers POST /token with {"token":JWT,"expires_at":RFC 3339}.
func (s *server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	t, err := identify(r)
	if err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	tok, exp, err := mintJWT(s.cfg.JWTKey, t.Subject, s.cfg.TokenTTL)
	if err != nil {
		http.Error(w, "cannot mint a token", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_at": exp.UTC()})
}

// logout answers POST /logout: the caller's connections are closed on every
// node (4401, or the TCP connection cut on the Middleware routes), and
// every credential issued to them before now is refused.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	t, err := identify(r)
	if err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if err := s.Registry.Revoke(r.Context(), t.Subject, "logged out"); err != nil {
		http.Error(w, "revocation failed", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
