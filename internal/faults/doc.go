// Package faults holds fault-injection tests of the whole stack: a Redis
// ticket store (a real redis-server and miniredis) killed and restarted
// under a load of WebSocket handshakes on every strategy. It has no code
// of its own; it lives apart from ticket/redisstore because package ticket
// and its stores know nothing of package wsauth.
package faults
