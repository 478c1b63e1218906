package ticket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

func ExampleKeyOf() {
	id, key := ticket.NewID()
	k, err := ticket.KeyOf(id)
	fmt.Println(len(id), k == key, err)

	for _, bad := range []string{
		"",
		id[:42],                     // too short
		id + "A",                    // too long
		"+" + id[1:],                // standard, not URL, alphabet
		id[:42] + "=",               // padding
		strings.Repeat("A", 10<<10), // oversized
	} {
		_, err := ticket.KeyOf(bad)
		fmt.Println(errors.Is(err, ticket.ErrMalformed))
	}
	// Output:
	// 43 true <nil>
	// true
	// true
	// true
	// true
	// true
	// true
}

func ExampleRedeemer_Redeem() {
	ctx := context.Background()
	store := newMapStore() // any ticket.Store, such as memstore
	iss := &ticket.Issuer{Store: store}
	client := netip.MustParseAddr("192.0.2.1")

	id, _, err := iss.Issue(ctx, ticket.Ticket{
		Subject:  "alice",
		ClientIP: client,
		Scope:    []string{"room:general"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	rd := &ticket.Redeemer{Store: store}
	t, err := rd.Redeem(ctx, id, client, "room:general")
	fmt.Println(t.Subject, err)

	// Single use: the second attempt finds nothing.
	_, err = rd.Redeem(ctx, id, client, "room:general")
	fmt.Println(err)

	// A ticket presented from another address is refused, and burnt.
	id, _, _ = iss.Issue(ctx, ticket.Ticket{Subject: "alice", ClientIP: client})
	_, err = rd.Redeem(ctx, id, netip.MustParseAddr("198.51.100.9"), "")
	fmt.Println(err)
	// Output:
	// alice <nil>
	// ticket: unknown or already used ticket
	// ticket: client address does not match
}

func ExampleIssuer() {
	iss := &ticket.Issuer{
		Store: newMapStore(),
		TTL:   time.Minute,
		// Identify is where the app checks its session cookie or header.
		Identify: func(r *http.Request) (ticket.Ticket, error) {
			if r.Header.Get("Authorization") != "Bearer let-me-in" {
				return ticket.Ticket{}, errors.New("no session")
			}
			return ticket.Ticket{Subject: "alice", Scope: []string{"room:general"}}, nil
		},
	}

	r := httptest.NewRequest(http.MethodPost, "/ticket", nil)
	r.Header.Set("Authorization", "Bearer let-me-in")
	w := httptest.NewRecorder()
	iss.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Cache-Control"), w.Header().Get("Content-Type"))

	r = httptest.NewRequest(http.MethodPost, "/ticket", nil)
	w = httptest.NewRecorder()
	iss.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Cache-Control"))
	// Output:
	// 200 no-store application/json
	// 401 no-store
}

// A Status from Revocations.Check decides for a credential by its issue
// time: here alice logged out at 12:00:00.5, and the store's memory goes
// back to 08:00.
func ExampleStatus_Refuses() {
	day := time.Date(2025, 11, 24, 0, 0, 0, 0, time.UTC)
	st := ticket.Status{
		SubjectRevoked: day.Add(12*time.Hour + 500*time.Millisecond),
		Since:          day.Add(8 * time.Hour),
	}
	for _, iat := range []time.Time{
		day.Add(7 * time.Hour),  // before the store's memory: may have been revoked
		day.Add(11 * time.Hour), // before the logout
		day.Add(12 * time.Hour), // a JWT's whole-second iat in the logout's second
		day.Add(12*time.Hour + time.Second),
		{}, // no issue time at all
	} {
		fmt.Println(iat.Format(time.TimeOnly), st.Refuses(iat))
	}
	// Output:
	// 07:00:00 true
	// 11:00:00 true
	// 12:00:00 true
	// 12:00:01 false
	// 00:00:00 true
}
