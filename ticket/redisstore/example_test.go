package redisstore_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
)

func Example() {
	// An in-process stand-in for Redis; in production, the address of
	// your Redis (or a redis.NewClusterClient, redis.NewFailoverClient).
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer client.Close()

	store := redisstore.New(client, nil)
	ctx := context.Background()

	// The ID goes to the client; the store only ever sees its hash.
	_, key := ticket.NewID()
	now := time.Now()
	t := ticket.Ticket{Subject: "alice", IssuedAt: now, ExpiresAt: now.Add(30 * time.Second)}
	if err := store.Put(ctx, key, t, 30*time.Second); err != nil {
		panic(err)
	}

	got, ok, err := store.Take(ctx, key)
	fmt.Println(got.Subject, ok, err)
	_, ok, err = store.Take(ctx, key) // single use
	fmt.Println(ok, err)
	// Output:
	// alice true <nil>
	// false <nil>
}

// Two nodes, each with its own client of one Redis: a ticket issued on one
// is redeemed on the other, once.
func Example_twoNodes() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	clientA := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer clientA.Close()
	clientB := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer clientB.Close()

	issuer := &ticket.Issuer{Store: redisstore.New(clientA, nil)}
	redeemer := &ticket.Redeemer{Store: redisstore.New(clientB, nil)}
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.10")

	id, _, err := issuer.Issue(ctx, ticket.Ticket{Subject: "alice", ClientIP: ip})
	if err != nil {
		panic(err)
	}
	t, err := redeemer.Redeem(ctx, id, ip, "")
	fmt.Println(t.Subject, err)
	_, err = redeemer.Redeem(ctx, id, ip, "")
	fmt.Println(err)
	// Output:
	// alice <nil>
	// ticket: unknown or already used ticket
}
