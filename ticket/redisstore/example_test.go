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

// The revocation list fails closed: when Redis loses its data, the
// revocations go, but so does the marker of when the list started, and
// every credential issued before the loss is refused.
func Example_revocations() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer client.Close()
	store := redisstore.New(client, nil)
	ctx := context.Background()
	mr.SetTime(time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)) // the Redis clock

	// The first use starts the list; a token is issued then, and later
	// revoked by its ID ("jti") until it expires.
	jti := ticket.DenyKey("jti-42")
	st, err := store.Check(ctx, [2]ticket.Key{jti}, "alice")
	if err != nil {
		panic(err)
	}
	iat := st.Since
	fmt.Println("list since", st.Since.UTC().Format(time.TimeOnly), "refused:", st.Refuses(iat))
	// How long is this node's clock's say, not Redis's.
	if err := store.RevokeID(ctx, jti, time.Now().Add(time.Hour)); err != nil {
		panic(err)
	}
	st, _ = store.Check(ctx, [2]ticket.Key{jti}, "alice")
	fmt.Println("revoked:", st.Denied, "refused:", st.Refuses(iat))

	// Five minutes on, Redis restarts empty (here, FLUSHALL).
	mr.SetTime(time.Date(2025, 11, 24, 12, 5, 0, 0, time.UTC))
	mr.FlushAll()
	st, _ = store.Check(ctx, [2]ticket.Key{jti}, "alice")
	fmt.Println("list since", st.Since.UTC().Format(time.TimeOnly), "revoked:", st.Denied, "refused:", st.Refuses(iat))
	// Output:
	// list since 12:00:00 refused: false
	// revoked: true refused: true
	// list since 12:05:00 revoked: false refused: true
}

// Two nodes share revocations over a Bus: what one publishes, both hear.
func ExampleBus() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	clientA := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer clientA.Close()
	clientB := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer clientB.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan ticket.Revocation, 1)
	err = redisstore.NewBus(clientB, nil).Subscribe(ctx,
		func(r ticket.Revocation) { heard <- r }, // close r.Subject's connections
		func() {},                                // re-check live connections against the store
	)
	if err != nil {
		panic(err)
	}
	if err := redisstore.NewBus(clientA, nil).Publish(ctx, ticket.Revocation{Subject: "alice", Reason: "logged out"}); err != nil {
		panic(err)
	}
	r := <-heard
	fmt.Println(r.Subject, r.Reason)
	// Output:
	// alice logged out
}
