package memstore_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
)

func Example() {
	ctx := context.Background()
	store := memstore.New(nil)

	// Issue: the client gets id, the store only ever sees key.
	id, key := ticket.NewID()
	now := time.Now()
	err := store.Put(ctx, key, ticket.Ticket{
		Subject:   "alice",
		ClientIP:  netip.MustParseAddr("192.0.2.10"),
		IssuedAt:  now,
		ExpiresAt: now.Add(30 * time.Second),
		Scope:     []string{"room:general"},
	}, 30*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Redeem: the presented id leads back to the key, once.
	key, err = ticket.KeyOf(id)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, ok, err := store.Take(ctx, key)
	fmt.Println(t.Subject, t.Allows("room:general"), ok, err)
	_, ok, err = store.Take(ctx, key)
	fmt.Println(ok, err)
	// Output:
	// alice true true <nil>
	// false <nil>
}
