// Package wsauth puts authentication and authorization in front of
// WebSocket handlers in a net/http server.
//
// Browsers cannot send an Authorization header on a WebSocket, so the
// credential rides elsewhere. Each place is one Strategy, one line to pick:
//
//	strategy       client sends                                       answer on success
//	Query          wss://host/ws?ticket=T                             101
//	Subprotocol    Sec-WebSocket-Protocol: <app>, wsauth.bearer.<b64> 101 echoing <app>
//	FirstMessage   {"type":"auth","token":T} within 10 s              auth_ok
//	PerMessage     {"token":JWT,"data":…} on every frame              auth_ok, after the first
//
// and, for clients that are not browsers or that hold a session cookie:
//
//	Header         Authorization: Bearer T                            101
//	Cookie         the browser's own cookie, same origin only         101
//
// New combines a Verifier (Tickets for single-use tickets of package
// ticket, package jwtverify for JWTs, or your own), a Strategy and Options
// (an Authorizer for room membership, a Registry for revocation, …); Handler
// runs a function for each authenticated connection:
//
//	store := memstore.New(nil)
//	mux.Handle("POST /tickets", &ticket.Issuer{Store: store, Identify: whoIsCaller})
//	auth := wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil)
//	mux.Handle("/ws", wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) { … }))
//
// # One pipeline
//
// Every strategy, and every WebSocket library, goes through the same steps
// in the same order:
//
//	origin → client address → failure budget → credential (from the
//	carrier) → Verifier → revocations → Authorizer → register → success
//	answer (101, auth_ok) with a deadline → serve
//
// A connection is registered before anything tells its client that it
// succeeded, so a Registry.Revoke that runs at any moment of an attempt
// either makes it fail or closes the connection afterwards. Every later
// credential a connection presents (a refresh frame, a per-message token
// other than the last one verified) goes through the same checks —
// failure budget, Verifier, revocations, Authorizer, same subject — and a
// refusal ends the connection with its close code.
//
// Until the first frame authenticates, an in-band socket has a small read
// limit and a deadline, and nothing is delivered to it; every write wsauth
// makes before or during authentication (the 101, auth_ok, a refusal's
// close) has a deadline of 10 s. Against slow or idle clients before the
// upgrade, set ReadHeaderTimeout (and IdleTimeout) on your http.Server.
//
// # Refusals
//
// One table says how each refusal is answered: before the upgrade an HTTP
// status with a short fixed text, after it a close code (the codes are
// transport's). The handshake strategies with InBand set, like the in-band
// ones, upgrade to refuse, because browsers cannot read an HTTP status.
//
//	Event.Reason     error           HTTP  close  budget
//	malformed        ErrMalformed    401   4400   spent
//	too_large        ErrMalformed    -     1009   spent
//	subprotocol      ErrMalformed    400   -      -
//	no_credential    ErrInvalid      401   4401   spent
//	invalid          ErrInvalid      401   4401   spent
//	expired          ErrExpired      401   4401   spent
//	revoked          ErrRevoked      401   4401   spent
//	forbidden        ErrForbidden    403   4403   spent
//	subject_changed  ErrForbidden    403   4403   spent
//	origin           ErrForbidden    403   -      -
//	timeout          ErrTimeout      -     4408   spent
//	rate_limited     ErrRateLimited  429   4429   -
//	unavailable      ErrUnavailable  503   1011   -
//	internal         ErrUnavailable  500   1011   -
//	upgrade          ErrMalformed    4xx   -      -   (not a WebSocket handshake)
//
// A request that is no WebSocket handshake is refused before its
// credential is read, so it spends no ticket: 405 for a method other than
// GET, 426 over HTTP/1.0, without the Upgrade and Connection headers or
// with another Sec-WebSocket-Version, 400 for a bad Sec-WebSocket-Key or
// a request body. Over HTTP/1, a refused request that announces a body is
// answered with Connection: close, and given a read deadline in the past
// so that net/http does not read the body (which takes a ResponseWriter
// that http.ResponseController reaches, as the answer's write deadline
// does).
//
// Accept's error wraps the sentinel, so errors.Is(err, ErrExpired) works;
// Event.Reason is the finer, stable label. Fail closed: a store error, a
// verifier or authorizer panic and an error of unknown origin all refuse.
// A credential never appears in an error, a close reason, a response
// header, an event or anything this package logs, and it is removed from
// the request (its URL, its Sec-WebSocket-Protocol header) before the
// handler, or a middleware that logs afterwards, can see it. Only from the
// request wsauth is given, and what shares its URL and Header: a logger
// further out that holds a copy (one made by r.WithContext, as routers and
// request-ID middleware do, or by http.StripPrefix), or that formats the
// request line before calling on, still sees ?ticket=; log r.URL.Path
// there, or mount the logger inside wsauth (examples/chi).
//
// # The connection's life
//
// A Conn knows its Principal. When the principal's ExpiresAt comes, the
// connection is closed with 4401 and writes fail with ErrExpired, so a
// server stops pushing to a client whose credential has lapsed. The
// handler's context (Handler) is done when the connection ends, whatever
// ended it.
//
// A connection that speaks in band (FirstMessage, PerMessage, and Query or
// Subprotocol with InBand) is warned 30 s before expiry (or at half the
// remaining lifetime, if that is shorter) with {"type":"expiring","in":N},
// and may present a new credential without reconnecting:
// {"type":"refresh","token":T}, answered with auth_ok. The new principal
// replaces the old one, expiry included, and PrincipalFrom(ctx) returns it
// from then on. PerMessage connections also refresh with each frame whose
// token is newer: the latest exp wins.
//
// # Revocation
//
// A Registry (Options.Registry; one per node) holds the live connections.
// Registry.Revoke(subject) ends every connection of the subject, here and,
// through a ticket.Bus (redisstore.Bus, over Redis Pub/Sub), on every node
// that called Registry.Listen; with a store that keeps revocations
// (ticket.Revocations: memstore and redisstore), it also refuses every
// credential issued to the subject before then, on every node, tickets not
// yet redeemed included. Registry.RevokeToken does the same for one token
// ID ("jti"). A store that may have lost its revocations (a restart
// without persistence, or from a snapshot, or a failover: see redisstore)
// refuses every credential issued before the loss: everyone logs in again
// rather than a logged-out user getting back in. A node whose bus was
// interrupted re-checks its connections against the store when it is
// back, attempts under way included, trying again while the store cannot
// answer and ending with 1011 a connection it has not answered for in
// 30 s.
//
// # Failure budget
//
// Failed authentications are limited per client address (Limiter: by
// default 20, then one more per second; IPv6 per /64), exactly: an attempt
// reserves a unit before its credential reaches the Verifier and gets it
// back if it succeeds, so however many arrive at once, at most the budget
// reach the Verifier. Past it, attempts are refused with 429 or 4429
// unheard. Store outages and panics are not the client's fault and spend
// nothing.
//
// # Events
//
// Options.Events is called for each authentication, refusal, refresh and
// ended connection, with a stable Reason fit for a metrics label, the
// subject when known, the code sent, and for an ended connection how long
// it lived: a live-connection gauge and a lifetime histogram need nothing
// else. SlogEvents logs them with log/slog. A panic in the hook is
// contained, and its first occurrence logged.
//
// # Other WebSocket libraries
//
// Everything above works over any WebSocket library: Options.Upgrade makes
// the Conn over a Socket of that library (a small adapter; examples/gorilla
// has one for gorilla/websocket), and Handler and Accept then work as with
// coder/websocket. For a handler you cannot change, Authenticator.Middleware
// authenticates a handshake strategy (Query, Subprotocol, Header, Cookie)
// in front of it, registers the
// connection the library hijacks and ends it on expiry or revocation.
//
// # Departures from the design
//
// The JWT verifier lives in package jwtverify and the close codes in
// package transport, to keep this package's API small; PerMessage answers
// its first frame with auth_ok, as FirstMessage does, so that a client
// knows when it is in.
package wsauth
