package memstore_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
)

// BenchmarkPutTake measures one issue-and-redeem cycle: a Put and the Take
// of the same key. Keys are made from counters, not ticket.NewID, so that
// the crypto does not drown what is measured.
func BenchmarkPutTake(b *testing.B) {
	for _, bc := range []struct {
		name    string
		prefill int
	}{
		{"empty", 0},
		{"100k", 100_000}, // a busy server: many tickets waiting
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			s := memstore.New(nil)
			now := time.Now()
			tk := ticket.Ticket{
				Subject:   "user-42",
				ClientIP:  netip.MustParseAddr("192.0.2.10"),
				IssuedAt:  now,
				ExpiresAt: now.Add(30 * time.Second),
				Scope:     []string{"room:general"},
			}
			var seq atomic.Uint64
			for range bc.prefill {
				if err := s.Put(ctx, benchKey(seq.Add(1)), tk, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// A counter per goroutine: a shared one would be
				// the contended cache line the shards avoid.
				n := seq.Add(1) << 40
				for pb.Next() {
					n++
					k := benchKey(n)
					if err := s.Put(ctx, k, tk, 30*time.Second); err != nil {
						b.Fatal(err)
					}
					if _, ok, err := s.Take(ctx, k); !ok || err != nil {
						b.Fatalf("Take: ok %v, err %v", ok, err)
					}
				}
			})
		})
	}
}

// benchKey spreads a counter over the key's bytes (splitmix64), as SHA-256
// would.
func benchKey(n uint64) ticket.Key {
	var k ticket.Key
	for i := 0; i < len(k); i += 8 {
		n += 0x9e3779b97f4a7c15
		z := n
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		binary.LittleEndian.PutUint64(k[i:], z^z>>31)
	}
	return k
}
