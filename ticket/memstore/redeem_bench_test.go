package memstore_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
)

// BenchmarkRedeem measures the full redemption path on a memstore, as a
// WebSocket handshake runs it: ticket.Redeemer.Redeem, which validates
// the ID and hashes it (KeyOf), takes the ticket and checks expiry,
// address and scope. Tickets are issued untimed, in batches.
func BenchmarkRedeem(b *testing.B) {
	ctx := context.Background()
	s := memstore.New(nil)
	r := &ticket.Redeemer{Store: s}
	ip := netip.MustParseAddr("192.0.2.10")
	tk := ticket.Ticket{Subject: "user-42", ClientIP: ip, Scope: []string{"general"}}
	ids := make([]string, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if len(ids) == 0 {
			b.StopTimer()
			ids = issue(b, s, tk, ids[:cap(ids)])
			b.StartTimer()
		}
		id := ids[len(ids)-1]
		ids = ids[:len(ids)-1]
		if _, err := r.Redeem(ctx, id, ip, "general"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueRedeem measures a ticket's whole life in the store under
// b.RunParallel: ticket.Issuer.Issue (a crypto/rand ID, its SHA-256, a
// Put) then Redeemer.Redeem. Run it with -cpu 1,2 to see how it scales.
func BenchmarkIssueRedeem(b *testing.B) {
	ctx := context.Background()
	s := memstore.New(nil)
	iss := &ticket.Issuer{Store: s}
	r := &ticket.Redeemer{Store: s}
	ip := netip.MustParseAddr("192.0.2.10")
	tk := ticket.Ticket{Subject: "user-42", ClientIP: ip, Scope: []string{"general"}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, _, err := iss.Issue(ctx, tk)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := r.Redeem(ctx, id, ip, "general"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// issue fills ids with fresh tickets stored in s.
func issue(b *testing.B, s ticket.Store, tk ticket.Ticket, ids []string) []string {
	now := time.Now()
	tk.IssuedAt, tk.ExpiresAt = now, now.Add(time.Hour)
	for i := range ids {
		id, key := ticket.NewID()
		if err := s.Put(context.Background(), key, tk, time.Hour); err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}
