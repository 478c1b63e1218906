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

// A Store is also the process's revocation list: alice logs out
// everywhere, and a token is revoked by its ID.
func Example_revocations() {
	ctx := context.Background()
	start := time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)
	now := start
	store := memstore.New(&memstore.Options{Now: func() time.Time { return now }})

	now = start.Add(30 * time.Minute)
	if err := store.RevokeSubject(ctx, "alice", now); err != nil {
		fmt.Println(err)
		return
	}
	if err := store.RevokeID(ctx, ticket.DenyKey("jti-42"), now.Add(time.Hour)); err != nil {
		fmt.Println(err)
		return
	}

	for _, c := range []struct {
		jti, sub string
		iat      time.Time
	}{
		{"jti-1", "alice", start.Add(10 * time.Minute)}, // before the logout
		{"jti-2", "alice", start.Add(45 * time.Minute)}, // a new login
		{"jti-42", "bob", start.Add(40 * time.Minute)},  // revoked by ID
		{"jti-3", "bob", start.Add(-time.Hour)},         // before the process started
	} {
		st, err := store.Check(ctx, [2]ticket.Key{ticket.DenyKey(c.jti)}, c.sub)
		fmt.Println(c.jti, c.sub, st.Refuses(c.iat), err)
	}
	// Output:
	// jti-1 alice true <nil>
	// jti-2 alice false <nil>
	// jti-42 bob true <nil>
	// jti-3 bob true <nil>
}
