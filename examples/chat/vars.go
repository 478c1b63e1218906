package main

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"net/http"
	"sync"

	"github.com/wsauth/wsauth/wsauth"
)

// The process's counters, served as JSON at /debug/vars:
//
//	"wsauth":           wsauth events by kind and reason, such as
//	                    "authenticated", "refused/expired", "closed/revoked"
//	"chat_connections": WebSocket connections open now
//
// Both come from the wsauth events alone: a connection counts from its
// EventAuthenticated to its EventClosed. expvar variables belong to the
// process, so they count every server in it: one, except in tests.
var authEvents = newEventCounts()

func init() {
	expvar.Publish("wsauth", authEvents)
	expvar.Publish("chat_connections", expvar.Func(func() any { return authEvents.live() }))
}

// eventCounts counts wsauth events by kind and reason; it is an
// expvar.Var.
type eventCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func newEventCounts() *eventCounts { return &eventCounts{n: make(map[string]int64)} }

// observe is a wsauth Options.Events hook.
func (c *eventCounts) observe(_ context.Context, e wsauth.Event) {
	key := string(e.Kind)
	if e.Reason != "" {
		key += "/" + e.Reason
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[key]++
	switch e.Kind {
	case wsauth.EventAuthenticated:
		c.n[liveKey]++
	case wsauth.EventClosed:
		c.n[liveKey]--
	}
}

// liveKey holds the live-connection gauge among the counts; the slash
// keeps it apart from every kind.
const liveKey = "/live"

func (c *eventCounts) live() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[liveKey]
}

// count returns the count of kind, or kind/reason.
func (c *eventCounts) count(key string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// String returns the counts as a JSON object, as expvar.Var asks.
func (c *eventCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		if k != liveKey {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// varsHandler serves the expvar variables as expvar.Handler does, but
// without "cmdline": the command line may hold a -redis URL with a
// password, and nothing the chat serves may show a credential.
func varsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, "{\n")
		first := true
		expvar.Do(func(kv expvar.KeyValue) {
			if kv.Key == "cmdline" {
				return
			}
			if !first {
				fmt.Fprint(w, ",\n")
			}
			first = false
			fmt.Fprintf(w, "%q: %s", kv.Key, kv.Value)
		})
		fmt.Fprint(w, "\n}\n")
	})
}
