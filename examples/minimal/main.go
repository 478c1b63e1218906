package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
)

func main() {
	store := memstore.New(nil) // or redisstore.New(redisClient, nil) on several nodes
	http.Handle("POST /tickets", &ticket.Issuer{Store: store, Identify: login})
	auth := wsauth.Query(&wsauth.Options{Verifier: wsauth.Tickets(&ticket.Redeemer{Store: store})})
	http.Handle("/ws", wsauth.Handler(auth, func(ctx context.Context, c *wsauth.Conn) {
		for typ, msg, err := c.Read(ctx); err == nil; typ, msg, err = c.Read(ctx) {
			c.Write(ctx, typ, append([]byte(c.Principal().Subject+": "), msg...))
		}
	}))
	http.ListenAndServe("127.0.0.1:8081", nil)
}
func login(r *http.Request) (ticket.Ticket, error) { // your existing authentication
	if user, pass, ok := r.BasicAuth(); ok && user == "alice" && pass == "alice" {
		return ticket.Ticket{Subject: user}, nil
	}
	return ticket.Ticket{}, errors.New("unknown user")
}
