package main

import (
	"expvar"
	"fmt"
	"net/http"
	"sync"

	"github.com/wsauth/wsauth/wsauth"
)

// The process's counters, served as JSON at /debug/vars:
//
//	"wsauth":           wsauth events by kind (authenticated, refused,
//	                    rate_limited, refreshed, expired, revoked)
//	"chat_connections": WebSocket connections registered now (the
//	                    wsauth.Registry's size)
//
// expvar variables belong to the process, so they count every server in
// it: one, except in tests.
var (
	authCounts  wsauth.Counters
	liveServers sync.Map // *server → struct{}: those not closed yet
)

func init() {
	expvar.Publish("wsauth", &authCounts)
	expvar.Publish("chat_connections", expvar.Func(func() any {
		n := 0
		liveServers.Range(func(k, _ any) bool {
			n += k.(*server).reg.Len()
			return true
		})
		return n
	}))
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
