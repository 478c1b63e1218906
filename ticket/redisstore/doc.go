// Package redisstore is a [ticket.Store] in Redis, for tickets issued on one
// node and redeemed on another behind a load balancer. It works over any
// [redis.UniversalClient] from github.com/redis/go-redis/v9: a single node,
// Sentinel or Cluster.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	iss := &ticket.Issuer{Store: redisstore.New(client, nil), Identify: identify}
//
// # Commands
//
// Each operation is one command, one round trip, and atomic on the server:
//
//	Put:  SET <prefix><hex key> <value> PX <ttl in ms> NX
//	Take: GETDEL <prefix><hex key>
//
// So among any number of nodes taking the same ticket at once, exactly one
// gets it. GETDEL needs Redis 6.2 or later.
//
// The Store is also a [ticket.Denylist] for revoked JWT IDs, and [Bus]
// carries revocations between nodes for wsauth.Registry:
//
//	Deny:    SET <prefix>deny:<hex key> 1 PXAT <until in ms>
//	Denied:  EXISTS <prefix>deny:<hex key>
//	Bus:     PUBLISH / SUBSCRIBE on DefaultChannel ("wsauth:revoke")
//
// Pub/Sub delivers at most once: a node cut off from Redis misses the
// revocations published meanwhile (its own connections stay subject to
// expiry and to the deny list on reconnect).
//
// # Keys and values
//
// A key is [Options.Prefix] (default "wsauth:ticket:") followed by the 64
// lower-case hex digits of the [ticket.Key], the SHA-256 of the ticket ID:
//
//	wsauth:ticket:3f0c9d…(64 hex digits in all)
//
// The ID itself is never sent to Redis, so a dump of the database, a
// MONITOR session or a replica redeems nothing. The value is the ticket in
// the encoding of [ticket.Ticket.MarshalBinary], compact JSON with times in
// Unix milliseconds:
//
//	{"sub":"alice","ip":"192.0.2.10","iat":1764000000000,"exp":1764000030000,"scope":["room:general"],"md":{"k":"v"}}
//
// Redis expires the key after the TTL given to Put; package ticket still
// checks the ticket's own expiry on redemption.
//
// # Errors
//
// A missing or expired key is not an error: Take returns ok == false. A Put
// over a live key returns an error wrapping [ticket.ErrKeyExists], and a
// Put with a TTL under a millisecond a plain error. Every other failure
// (connection refused, timeout, a done context, an error reply, a value
// that does not decode) is returned wrapping both
// [ticket.ErrStoreUnavailable] and the original error, so callers fail
// closed and can still inspect the cause. A done context is reported
// before anything is sent. A Take whose GETDEL reached the server but whose
// reply was lost has consumed the ticket: the client asks for a new one,
// the safe way to fail.
//
// # Timeouts and outages
//
// Timeouts and retries are the client's ([redis.Options] DialTimeout,
// ReadTimeout, MaxRetries); the store adds none. go-redis bounds a command
// by the context's deadline only with ContextTimeoutEnabled set; set it so
// that a request's deadline also bounds its wait for Redis.
//
// Retries keep tickets single-use: a retried SET NX cannot overwrite and a
// retried GETDEL cannot hand a ticket out twice. At worst a retry whose
// first attempt went through reports a stored ticket as existing or a
// taken one as missing, and both fail closed.
//
// After an outage the same client recovers by itself; no restart or new
// client is needed. A client whose dials kept failing fails fast until a
// background dial gets through, about a second after Redis is back.
//
// # Redis Cluster
//
// No command touches two keys, so keys may hash to any slot: no hash tags
// are needed, and none should be put in Prefix (they would pile every
// ticket onto one node). Every primary must run Redis 6.2 or later for
// GETDEL. Both commands are writes, so they always go to the primary of
// the key's slot, whatever the client's ReadOnly or routing options.
//
// Replication in Redis is asynchronous. If a primary fails over before it
// has passed a GETDEL to its replica, the promoted replica still holds the
// ticket until its TTL runs out; keep TTLs short (the default is 30 s).
package redisstore
