package main

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
)

func main() {
	store := memstore.New(nil) // or redisstore.New(redisClient, nil) on several nodes
	http.Handle("POST /tickets", &ticket.Issuer{Store: store, Identify: func(r *http.Request) (ticket.Ticket, error) {
		if user, pass, ok := r.BasicAuth(); ok && user == "alice" && pass == "alice" { // your login
			return ticket.Ticket{Subject: user}, nil
		}
		return ticket.Ticket{}, nil // no subject: 401
	}})
	http.Handle("/ws", wsauth.Handler(wsauth.New(wsauth.Tickets(&ticket.Redeemer{Store: store}, nil), wsauth.Query{}, nil), func(ctx context.Context, c *wsauth.Conn) {
		for m, err := c.Read(ctx); err == nil; m, err = c.Read(ctx) {
			c.Write(ctx, m.Type, append([]byte(m.Principal.Subject+": "), m.Data...))
		}
	}))
	log.Print("serving on http://127.0.0.1:8081") // a busy port: the error below, and exit status 1
	log.Fatal((&http.Server{Addr: "127.0.0.1:8081", ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}).ListenAndServe())
}
