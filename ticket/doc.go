// Package ticket implements short-lived, single-use WebSocket tickets.
//
// The pattern: a client asks an authenticated HTTP endpoint (an [Issuer]) for
// a ticket; the server stores it with the caller's subject, client IP, issue
// time, expiry and scope, and returns an opaque ID; the client presents the ID
// when it opens the WebSocket; the server redeems it exactly once
// ([Redeemer]), checking expiry, source IP and scope, before it upgrades.
//
// A ticket ID is 32 bytes from crypto/rand, encoded as 43 characters of
// unpadded base64url. Stores never see the ID: they are keyed by the SHA-256
// of its 32 decoded bytes ([KeyOf]), so a dump of a store redeems nothing.
//
// Expiry, IP and scope are checked here, not in each [Store], so a store only
// has to put with a TTL and take atomically once. Package
// github.com/wsauth/wsauth/ticket/tickettest holds the conformance suite
// every store must pass; memstore and redisstore are the two shipped stores.
//
// # Revocation
//
// A store may also implement [Revocations], an optional capability found by
// type assertion: credential IDs (such as JWT IDs) revoked until they
// expire, and subjects revoked as of a time ("log alice out everywhere").
// [Revocations.Check] answers for one credential in one round trip, and
// [Status.Refuses] decides, here rather than in each store.
//
// Revocation fails closed. A store that lost data (a restart without
// persistence, a FLUSHALL, a failover to an empty replica) cannot tell which
// revocations it lost, so it reports the moment its memory starts again
// ([Status.Since]) and every credential issued before that moment is
// refused: after such a loss everyone logs in again, and no logged-out user
// gets back in. The stores' documentation says what each operation sends and
// how to configure the backend so that this does not happen.
//
// A [Bus] carries revocations to the other nodes, so that each closes the
// connections concerned. It delivers at most once; a node whose
// subscription was interrupted is told to re-check its connections against
// the store instead.
//
// Client IPs come from [http.Request.RemoteAddr] unless a [ClientIP] is
// configured with trusted proxies; then from the one forwarding header it
// names (X-Forwarded-For by default, or RFC 7239 Forwarded), right-most
// untrusted hop first. Forwarding headers are never trusted by default, and
// the header not named is never read.
package ticket
