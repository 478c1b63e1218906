// Package wsauth puts authentication and authorization in front of
// WebSocket handlers in a net/http server.
//
// Browsers cannot send an Authorization header on a WebSocket, so the
// credential rides elsewhere. Each place is one strategy, one line to pick:
//
//	strategy       client sends                                      made by
//	query          wss://host/ws?ticket=T                            Query
//	subprotocol    Sec-WebSocket-Protocol: <app>, wsauth.bearer.<b64> Subprotocol
//	first message  {"type":"auth","token":T} within 10 s             FirstMessage
//	per message    {"token":JWT,"data":…} on every frame             PerMessage
//
// Every strategy takes the same Options: a Verifier (Tickets for single-use
// tickets from package ticket, NewJWT for JWTs), an optional Authorizer
// (room membership), and the wire details. Handler runs a function for each
// authenticated Conn:
//
//	store := memstore.New(nil)
//	auth := wsauth.Query(&wsauth.Options{Verifier: wsauth.Tickets(&ticket.Redeemer{Store: store})})
//	mux.Handle("POST /tickets", &ticket.Issuer{Store: store, Identify: whoIsCaller})
//	mux.Handle("/ws", wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) { … }))
//
// Query and Subprotocol authenticate the upgrade request itself, so they
// also work as plain middleware (Handshake.Middleware) in front of any
// WebSocket library. FirstMessage and PerMessage upgrade first; until the
// first frame authenticates, the socket gets a small read limit and a
// deadline and nothing is delivered to it.
//
// # Refusals
//
// Before the upgrade a refusal is an HTTP status with a short fixed reason:
// 401 (no, malformed, invalid or expired credential), 403 (forbidden, or a
// cross-origin request), 400 (no acceptable subprotocol), 429, 503 (the
// ticket store is down), 500 (a verifier or authorizer panicked). Browsers
// cannot read that status, so with Options.RejectAfterUpgrade the handshake
// strategies upgrade and close with a code instead. After the upgrade:
//
//	4400  malformed auth message
//	4401  no, invalid or expired credential (also when a connection's credential expires)
//	4403  authenticated, but not allowed here
//	4408  no auth message in time
//	4429  too many failed attempts
//	1009  auth message over the read limit
//	1011  authentication unavailable (store outage) or internal error
//
// Accept returns an *Error with the status and code it sent; it wraps one
// of the package's sentinel errors, so errors.Is(err, ErrExpired) works.
//
// # Security rules
//
//   - Fail closed: a store error, a verifier panic, an unknown error and a
//     timeout all refuse.
//   - A credential never appears in an error, a close reason, a response
//     header or anything this package logs; the credential is removed from
//     the request handed on by Middleware.
//   - Cross-origin upgrades are refused with 403, before any credential is
//     looked at, unless Options.Accept.OriginPatterns allows the origin.
//   - A Conn whose Principal has an ExpiresAt closes itself with 4401 then,
//     and refuses writes from that moment, so a server stops pushing to a
//     client whose credential has lapsed.
//
// # Refresh in place
//
// A connection can present a new credential before its own expires and
// keep going without reconnecting. FirstMessage connections (and Query or
// Subprotocol ones with Options.Refresh) send a text frame
// {"type":"refresh","token":T} (transport.Refresh); Conn.Read consumes it,
// verifies T with the same Verifier, Authorizer and deny list, and answers
// {"type":"auth_ok","subject":…,"expires_at":…}. The new principal
// replaces the old one, expiry included. Another subject closes the
// connection with 4403, a bad credential with 4401, a malformed frame
// with 4400. PerMessage connections refresh with each frame: the latest
// exp wins. Refresh frames are only seen while the handler reads.
//
// Ahead of expiry (Options.ExpiryNotice: 30 s, or half the remaining
// lifetime if that is shorter) such connections are sent
// {"type":"expiring","in":N}, N in seconds, from the connection's one
// expiry timer.
//
// # Revoke everywhere
//
// A Registry (Options.Registry) holds the live connections of a node by
// subject. Registry.Revoke closes all of a subject's connections with
// 4401 and a short reason, here and, through a RevocationBus
// (redisstore.NewBus: Redis Pub/Sub), on every other node that called
// Registry.Listen. Registry.RevokeToken puts a JWT ID ("jti") on a deny
// list (RegistryOptions.Denylist: a memstore or redisstore store) until
// the token expires; it is then refused at connect and at refresh. Live
// connections are ended by Revoke, so frames of per-message connections
// are not checked against the list one by one. A deny list that cannot be
// consulted refuses (503 or 1011).
//
// # Rate limits
//
// Failed authentications are limited per client address (Options.Limiter,
// on by default: 20 failures in a row, then one more per second; IPv6 per
// /64). Past the limit an attempt is refused with 429 before the upgrade,
// or 4429 after it, without its credential being looked at. Successful
// authentications spend nothing. Store outages and panics on the server's
// side do not count against the client.
//
// # Events
//
// Options.Events is called for each authentication, refusal (with the
// reason as an error of this package, never the credential), rate-limited
// attempt, in-band refresh, expiry and revocation. SlogEvents logs them
// with log/slog; Counters counts them and publishes as an expvar.Var.
//
// Against slow or idle clients before the upgrade, set ReadHeaderTimeout
// (and IdleTimeout) on your http.Server; wsauth bounds only what it reads.
package wsauth
