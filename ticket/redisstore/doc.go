// Package redisstore is a [ticket.Store] in Redis, for tickets issued on one
// node and redeemed on another behind a load balancer. It works over any
// [redis.UniversalClient] from github.com/redis/go-redis/v9: a single node,
// Sentinel or Cluster.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	iss := &ticket.Issuer{Store: redisstore.New(client, nil), Identify: identify}
//
// The Store is also [ticket.Revocations], the list of revoked credentials
// shared by every node, and [Bus] carries revocations between nodes over
// Pub/Sub ([ticket.Bus]).
//
// # Commands
//
// Each operation is one round trip, and atomic on the server (but for the
// WAIT that follows a revocation, see below):
//
//	Put:           SET <prefix><hex key> <value> PX <ttl in ms> NX
//	Take:          GETDEL <prefix><hex key>
//	Check:         EVALSHA <script> 5 <marker> <run> <subject key> <ID key> <ID key> check <1|0> <1|0> <1|0> <trust>
//	RevokeID:      EVALSHA <script> 3 <marker> <run> <ID key> id <until−now in ms> <trust>
//	RevokeSubject: EVALSHA <script> 3 <marker> <run> <subject key> sub <at in Unix ms> <at+lifetime−now in ms> <trust>
//	Bus:           PUBLISH / SUBSCRIBE on DefaultChannel ("wsauth:revoke")
//
// If the primary has replicas, each revocation is followed by WAIT 1
// <ReplicaTimeout in ms> on the same connection: a second round trip, until
// a replica holds the revocation.
//
// So among any number of nodes taking the same ticket at once, exactly one
// gets it. GETDEL needs Redis 6.2 or later. The revocation list is one
// script; a server that does not know it yet answers EVALSHA with
// NOSCRIPT, and it is sent once with EVAL. Unless [Options.TrustRestarts]
// (<trust> 1), the script asks INFO server for the server's run_id (see
// "When Redis loses data"); it reads the server's clock (TIME) when it
// writes the marker, and, for a revocation, asks INFO replication how
// many replicas are online (a replica in its first sync is not waited
// for: it will have the revocation once synced). Durations (the TTLs of
// revocations) are the node's: [Options.Now].
//
// # Keys and values
//
// A ticket's key is [Options.Prefix] (default "wsauth:ticket:") followed by
// the 64 lower-case hex digits of the [ticket.Key], the SHA-256 of the
// ticket ID:
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
// The revocation list lives under the prefix and one hash tag:
//
//	wsauth:ticket:{revocations}:since           the marker: when the list started, Unix ms; no TTL
//	wsauth:ticket:{revocations}:run             the run_id of the server it started on; no TTL
//	wsauth:ticket:{revocations}:id:<64 hex>     a revoked ID's DenyKey; "1", PX until its until
//	wsauth:ticket:{revocations}:sub:<64 hex>    a subject's SHA-256; its latest revocation
//	                                            time, Unix ms, PX until that plus the lifetime
//
// Neither credential IDs nor subjects appear in a key; every time is
// rounded up to the millisecond, towards refusal.
//
// # When Redis loses data
//
// Redis without persistence forgets everything when it restarts (kill -9,
// a crash, a reboot), and so does a FLUSHALL or a failover to an empty
// replica. A forgotten revocation would let a logged-out user back in, so
// the list fails closed: the marker is lost with the revocations, and a
// Check that finds it missing writes it anew with the server's time, which
// [ticket.Status.Since] reports. Every credential
// issued before it is then refused: after a loss, everyone logs in again.
// In-flight tickets are refused too, as they were issued before the new
// marker; clients ask for another.
//
// A restart from an RDB snapshot, Redis's default persistence (save
// points, appendonly no), is a loss that leaves the marker in place: the
// server comes back as it was at the snapshot, revocations made since
// undone and tickets redeemed since redeemable again. So the list keeps,
// next to the marker, the run_id of the server it started on (INFO
// server), and every revocation script compares it with the server's: a
// list started in another run of the server (before a restart, or on
// another server before a failover or a resharding of its slot) starts
// again, as a missing marker does, once: the script that finds it so
// writes the marker and the run_id anew. Set [Options.TrustRestarts], the
// same on every node, only for a deployment that loses nothing across
// restarts and failovers (below); else each of them logs everyone out.
// A revocation the old primary takes after the failover, split from the
// new one and its replicas, is lost when it rejoins, and no run_id
// reveals that: set min-replicas-to-write 1, so that a primary cut off
// from its replicas refuses writes, and the revocation fails rather than
// being lost.
// The comparison costs one INFO server per script run. A server without
// INFO server (miniredis) has no run_id, and only a missing marker
// reveals its losses. Moving to a release that keeps the run_id from one
// that did not starts the list again once.
//
// On Redis Cluster, tickets live on every shard and the marker on one:
// the marker moves when its own shard restarts from a snapshot, not when
// another does, and that shard's tickets redeemed since its snapshot, if
// not yet expired (a ticket lives 30 s by default), are redeemable once
// more. Give the shards persistence that loses nothing, or none at all.
//
// The marker is also written when the list is first used (the first Check
// or revocation on an empty Redis), not when a ticket is Put, which is one
// SET on a key anywhere in the cluster. So the tickets and credentials
// issued before that first use, on a new deployment or between a loss and
// the next Check, are refused too: a brief over-refusal, never failing
// open.
//
// Since comes from the Redis server's clock, and credentials' issue times
// from their issuers'. Keep the clocks in sync (NTP): a Redis clock running
// behind the issuers narrows what a loss refuses by the difference. So
// does an issuer's clock running ahead of the revoking node's for a
// revocation, whose time is the revoking node's: a credential issued less
// than the difference before it is not covered.
//
// To avoid the mass logout, make Redis keep its data, and set
// [Options.TrustRestarts]:
//
//   - appendonly yes with appendfsync always, so that a restart reloads
//     every acknowledged revocation (appendfsync everysec loses up to a
//     second of them, which with TrustRestarts nothing reveals: leave it
//     off then);
//   - replicas, with Sentinel or Cluster failover, so that a failover
//     finds the data. A replica promoted with the marker but without the
//     latest revocations would forget them without a trace, so every
//     revocation waits (WAIT 1, up to [Options.ReplicaTimeout]) until a
//     replica holds it, and fails with [ticket.ErrStoreUnavailable] if
//     none confirms in time; the revocation is then in force on the
//     primary, and retrying is safe. A primary with no replica connected
//     has none to wait for; set min-replicas-to-write 1 for it to refuse
//     the revocation instead (the error wraps ErrStoreUnavailable too).
//     With several replicas, the one promoted may not be the one that
//     confirmed: Sentinel prefers the most up to date. Do not let a
//     primary without persistence restart before its replicas are
//     promoted: they would copy its empty data set.
//   - maxmemory-policy noeviction: an evicted revocation is a lost one
//     that the marker, if kept, does not reveal.
//
// # Errors
//
// A missing or expired key is not an error: Take returns ok == false. A Put
// over a live key returns an error wrapping [ticket.ErrKeyExists]. A Put
// with a TTL under a millisecond, and a RevokeSubject of the empty
// subject, return plain errors. Every other failure (connection refused, timeout,
// a done context, an error reply, a value that does not decode, a
// revocation record that is not a time, a revocation no replica confirmed)
// is returned wrapping both [ticket.ErrStoreUnavailable] and the original
// error, so callers fail closed and can still inspect the cause. A done
// context is reported before anything is sent. A Take whose GETDEL reached
// the server but whose reply was lost has consumed the ticket: the client
// asks for a new one, the safe way to fail.
//
// # Timeouts and outages
//
// Timeouts and retries are the client's ([redis.Options] DialTimeout,
// ReadTimeout, MaxRetries); the store adds none but ReplicaTimeout. go-redis
// bounds a command by the context's deadline only with
// ContextTimeoutEnabled set; set it so that a request's deadline also bounds
// its wait for Redis.
//
// Retries keep tickets single-use: a retried SET NX cannot overwrite and a
// retried GETDEL cannot hand a ticket out twice. At worst a retry whose
// first attempt went through reports a stored ticket as existing or a
// taken one as missing, and both fail closed. The revocation scripts keep
// the later time, so retrying them changes nothing.
//
// After an outage the same client recovers by itself; no restart or new
// client is needed. A client whose dials kept failing fails fast until a
// background dial gets through, about a second after Redis is back.
//
// # Pub/Sub
//
// Pub/Sub delivers at most once: a node cut off from Redis misses the
// revocations published meanwhile. go-redis subscribes again by itself,
// and the Bus then calls Subscribe's catchUp, for the node to re-check its
// live connections against the store. Revoke in the store first and
// publish second, so that the re-check finds what the message carried.
//
// # Redis Cluster
//
// No ticket command touches two keys, so tickets hash to any slot and
// spread over every primary; no hash tag belongs in Prefix (it would pile
// every ticket onto one node). The revocation keys share the hash tag
// {revocations}, so they live on one shard, where a Check reads them in
// one script: the list is small and mostly read. Every primary must run
// Redis 6.2 or later for GETDEL. Every command writes, so it goes to the
// primary of its key's slot, whatever the client's ReadOnly or routing
// options.
//
// Revocations reach the primary over a connection of their own, which the
// following WAIT needs; it goes where the client's slot map points, without
// following redirects, so just after that slot moves (a failover, a
// resharding) revocations fail until go-redis reloads the map, which a
// failure prompts.
//
// Replication in Redis is asynchronous. If a primary fails over before it
// has passed a GETDEL to its replica, the promoted replica still holds the
// ticket until its TTL runs out; keep TTLs short (the default is 30 s).
package redisstore
