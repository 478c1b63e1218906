package redisstore_test

import (
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/wsauth/wsauth/internal/redistest"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
)

// BenchmarkIssueRedeem measures one ticket's life as an application sees
// it: Issuer.Issue (a Put) and Redeemer.Redeem (a Take), one after the
// other on one connection, so ns/op is about two round trips. The
// roundtrips/redeem metric counts the commands Redeem sent; it must be 1.
func BenchmarkIssueRedeem(b *testing.B) {
	b.Run("redis", func(b *testing.B) {
		benchIssueRedeem(b, redistest.Start(b).Addr)
	})
	b.Run("miniredis", func(b *testing.B) {
		benchIssueRedeem(b, miniredis.RunT(b).Addr())
	})
}

func benchIssueRedeem(b *testing.B, addr string) {
	c := newClient(b, addr)
	n := &counter{}
	c.AddHook(n)
	if err := c.Ping(b.Context()).Err(); err != nil {
		b.Fatal(err)
	}
	st := redisstore.New(c, nil)
	iss := &ticket.Issuer{Store: st}
	rd := &ticket.Redeemer{Store: st}
	tk := ticket.Ticket{Subject: "user-42", ClientIP: clientIP, Scope: []string{"room:general"}}
	var trips int64
	b.ReportAllocs()
	for b.Loop() {
		id, _, err := iss.Issue(b.Context(), tk)
		if err != nil {
			b.Fatal(err)
		}
		before := n.n.Load()
		if _, err := rd.Redeem(b.Context(), id, clientIP, "room:general"); err != nil {
			b.Fatal(err)
		}
		trips += n.n.Load() - before
	}
	b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/redeem")
}

// BenchmarkIssueRedeemParallel is BenchmarkIssueRedeem from many goroutines
// at once against a real redis-server, as a busy node would run it.
func BenchmarkIssueRedeemParallel(b *testing.B) {
	c := newClient(b, redistest.Start(b).Addr)
	st := redisstore.New(c, nil)
	iss := &ticket.Issuer{Store: st}
	rd := &ticket.Redeemer{Store: st}
	tk := ticket.Ticket{Subject: "user-42", ClientIP: clientIP}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, _, err := iss.Issue(b.Context(), tk)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := rd.Redeem(b.Context(), id, clientIP, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCheck measures Revocations.Check of a credential with an ID and
// a subject, as a connect or refresh runs it. The roundtrips/check metric
// counts the commands sent; it must be 1.
func BenchmarkCheck(b *testing.B) {
	b.Run("redis", func(b *testing.B) {
		benchCheck(b, redistest.Start(b).Addr)
	})
	b.Run("miniredis", func(b *testing.B) {
		benchCheck(b, miniredis.RunT(b).Addr())
	})
}

func benchCheck(b *testing.B, addr string) {
	c := newClient(b, addr)
	n := &counter{}
	c.AddHook(n)
	st := redisstore.New(c, nil)
	k := ticket.DenyKey("jti-42")
	if _, err := st.Check(b.Context(), [2]ticket.Key{k}, "user-42"); err != nil { // loads the script
		b.Fatal(err)
	}
	n.reset()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Check(b.Context(), [2]ticket.Key{k}, "user-42"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n.n.Load())/float64(b.N), "roundtrips/check")
}
