// Package redistest runs throwaway Redis deployments for tests, the way
// net/http/httptest runs an HTTP server:
//
//	srv := redistest.Start(t)
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
//
// Every server listens on a free loopback port, keeps no data on disk (no
// RDB snapshots, no append-only file, its own temporary directory) and is
// stopped when the test ends. [Server.Stop] kills one (SIGKILL) and
// [Server.Restart] brings it back, empty, on the same address; [Server.Pause]
// and [Server.Resume] freeze and thaw it; all to test what clients do
// meanwhile.
//
// Beyond one server:
//
//   - [StartCluster] starts a Redis Cluster of three primaries, for
//     redis.NewClusterClient with [Cluster.Addrs]. It takes about two
//     seconds, as Redis makes a new primary wait that long before it serves.
//   - [StartSentinel] starts a primary, a replica and a Sentinel, for
//     redis.NewFailoverClient with [Sentinel.Addr] and [MasterName];
//     [Sentinel.Failover] promotes the replica.
//
// # When redis-server is missing
//
// If no redis-server is on PATH, the launchers skip the test with a message
// saying how to install it, so `go test ./...` passes on a bare machine (the
// stores are still covered there by miniredis). Where Redis must be tested,
// set the environment variable WSAUTH_REQUIRE_REDIS=1 ([RequireEnv]); they
// then fail the test instead of skipping it. CI (.ci/run) sets it. The same
// redis-server binary runs the Sentinel (redis-server --sentinel);
// StartCluster and StartSentinel need Redis 7.0 or later.
//
// The package speaks just enough of the Redis protocol to send a command
// and read its reply, so it does not depend on a client library.
package redistest
