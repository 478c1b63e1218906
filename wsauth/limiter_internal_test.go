package wsauth

import (
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// TestLimiterBounded: however many addresses fail, at most limitAddrs are
// tracked, and the whole ones go first.
func TestLimiterBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(2, time.Second)
		bad := fail(kindInvalid, errors.New("bad"))
		for i := range 3 * limitAddrs {
			addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if ok, _ := l.reserve(addr, uint64(i)); ok {
				l.settle(addr, uint64(i), bad)
			}
			if n := l.tracked(); n > limitAddrs {
				t.Fatalf("%d addresses tracked after %d, cap %d", n, i+1, limitAddrs)
			}
		}
	})
}

// TestLimiterExactArithmetic: a budget refills to the unit after any
// number of partial waits (the budget is kept in durations, which add up
// exactly; fractional tokens did not).
func TestLimiterExactArithmetic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(3, time.Second)
		addr := netip.MustParseAddr("192.0.2.1")
		for range 3 {
			l.spend(addr)
		}
		for i := range 10 {
			if !l.limited(addr) {
				t.Fatalf("a unit back after %d tenths of a second", i)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if l.limited(addr) {
			t.Fatal("no unit back after a second of tenths")
		}
		for i := range 2 {
			if ok, _ := l.reserve(addr, uint64(i)); !ok && i == 0 {
				t.Fatal("the unit earned back could not be reserved")
			} else if ok && i == 1 {
				t.Fatal("a second unit after one interval")
			}
		}
	})
}
