// Package redistest runs a throwaway redis-server for tests, the way
// net/http/httptest runs an HTTP server:
//
//	srv := redistest.Start(t)
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
//
// The server listens on a free loopback port, keeps no data on disk (no RDB
// snapshots, no append-only file, its own temporary directory) and is
// stopped when the test ends. [Server.Stop] and [Server.Restart] take it down
// and bring it back on the same address, to test what clients do meanwhile.
//
// # When redis-server is missing
//
// If no redis-server is on PATH, Start skips the test with a message saying
// how to install it, so `go test ./...` passes on a bare machine (the stores
// are still covered there by miniredis). Where Redis must be tested, set the
// environment variable WSAUTH_REQUIRE_REDIS=1 ([RequireEnv]); Start then
// fails the test instead of skipping it. CI (.ci/run) sets it.
//
// The package speaks just enough of the Redis protocol to send PING, so it
// does not depend on a client library.
package redistest
