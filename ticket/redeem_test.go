package ticket_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

var (
	ip1 = netip.MustParseAddr("127.0.0.1")
	ip2 = netip.MustParseAddr("127.0.0.2")
)

// put stores tk under a fresh ID and returns the ID.
func put(t *testing.T, st ticket.Store, tk ticket.Ticket) string {
	t.Helper()
	id, key := ticket.NewID()
	if err := st.Put(context.Background(), key, tk, time.Minute); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRedeem(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	live := func(ip netip.Addr, scope ...string) ticket.Ticket {
		return ticket.Ticket{Subject: "alice", ClientIP: ip, IssuedAt: now, ExpiresAt: now.Add(30 * time.Second), Scope: scope}
	}
	tests := []struct {
		name     string
		tk       ticket.Ticket
		advance  time.Duration
		ignoreIP bool
		ip       netip.Addr
		scope    string
		want     error
	}{
		{name: "ok", tk: live(ip1), ip: ip1},
		{name: "just before expiry", tk: live(ip1), advance: 30*time.Second - time.Nanosecond, ip: ip1},
		{name: "at expiry", tk: live(ip1), advance: 30 * time.Second, ip: ip1, want: ticket.ErrExpired},
		{name: "after expiry", tk: live(ip1), advance: time.Hour, ip: ip1, want: ticket.ErrExpired},
		{name: "zero expiry", tk: ticket.Ticket{Subject: "alice"}, want: ticket.ErrExpired},
		{name: "ip mismatch", tk: live(ip1), ip: ip2, want: ticket.ErrClientIP},
		{name: "ip absent", tk: live(ip1), ip: netip.Addr{}, want: ticket.ErrClientIP},
		{name: "v6 vs v4", tk: live(ip1), ip: netip.MustParseAddr("::1"), want: ticket.ErrClientIP},
		{name: "mapped presented", tk: live(ip1), ip: netip.MustParseAddr("::ffff:127.0.0.1")},
		{name: "mapped in ticket", tk: live(netip.MustParseAddr("::ffff:127.0.0.1")), ip: ip1},
		{name: "zone in ticket", tk: live(netip.MustParseAddr("fe80::1%eth0")), ip: netip.MustParseAddr("fe80::1")},
		{name: "zone presented", tk: live(netip.MustParseAddr("fe80::1")), ip: netip.MustParseAddr("fe80::1%eth1")},
		{name: "ignore ip", tk: live(ip1), ip: ip2, ignoreIP: true},
		{name: "unbound ticket", tk: live(netip.Addr{}), ip: ip2},
		{name: "scope ok", tk: live(ip1, "general"), ip: ip1, scope: "general"},
		{name: "scope other", tk: live(ip1, "general"), ip: ip1, scope: "secret", want: ticket.ErrScope},
		{name: "scope none asked", tk: live(ip1, "general"), ip: ip1, scope: ""},
		{name: "unscoped asked", tk: live(ip1), ip: ip1, scope: "general", want: ticket.ErrScope},
		{name: "expired before ip", tk: live(ip1), advance: time.Hour, ip: ip2, want: ticket.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			st := newMapStore()
			id := put(t, st, tt.tk)
			clk.Add(tt.advance)
			rd := &ticket.Redeemer{Store: st, Now: clk.Now, IgnoreClientIP: tt.ignoreIP}
			got, err := rd.Redeem(context.Background(), id, tt.ip, tt.scope)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Redeem: %v", err)
				}
				if !sameTicket(got, tt.tk) {
					t.Fatalf("Redeem = %+v, want %+v", got, tt.tk)
				}
			} else {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Redeem: err = %v, want %v", err, tt.want)
				}
				if got.Subject != "" {
					t.Fatalf("ticket returned with error: %+v", got)
				}
				if strings.Contains(err.Error(), id) {
					t.Fatalf("error %q contains the ID", err)
				}
			}
			// Success or not, the ticket is gone.
			if st.len() != 0 {
				t.Fatal("ticket not consumed")
			}
			_, err = rd.Redeem(context.Background(), id, tt.ip, tt.scope)
			if !errors.Is(err, ticket.ErrNotFound) {
				t.Fatalf("second Redeem: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestRedeemDefaultClock(t *testing.T) {
	st := newMapStore()
	id := put(t, st, ticket.Ticket{Subject: "a", ExpiresAt: time.Now().Add(time.Hour)})
	if _, err := (&ticket.Redeemer{Store: st}).Redeem(context.Background(), id, ip1, ""); err != nil {
		t.Fatalf("live ticket with time.Now: %v", err)
	}
	id = put(t, st, ticket.Ticket{Subject: "a", ExpiresAt: time.Now().Add(-time.Second)})
	if _, err := (&ticket.Redeemer{Store: st}).Redeem(context.Background(), id, ip1, ""); !errors.Is(err, ticket.ErrExpired) {
		t.Fatalf("past ticket with time.Now: err = %v, want ErrExpired", err)
	}
}

func TestRedeemStoreError(t *testing.T) {
	st := &failStore{}
	id, _ := ticket.NewID()
	_, err := (&ticket.Redeemer{Store: st}).Redeem(context.Background(), id, ip1, "")
	if !errors.Is(err, ticket.ErrStoreUnavailable) || !errors.Is(err, errBackend) {
		t.Fatalf("err = %v, want ErrStoreUnavailable wrapping the store error", err)
	}
	if st.calls.Load() != 1 {
		t.Fatalf("store called %d times, want 1", st.calls.Load())
	}
	if strings.Contains(err.Error(), id) {
		t.Fatalf("error %q contains the ID", err)
	}
}

// wrappedUnavailable returns an error that already wraps ErrStoreUnavailable.
type wrappedUnavailable struct{ failStore }

func (s *wrappedUnavailable) Take(context.Context, ticket.Key) (ticket.Ticket, bool, error) {
	return ticket.Ticket{}, false, errors.Join(ticket.ErrStoreUnavailable, errBackend)
}

func TestRedeemStoreErrorNotDoubleWrapped(t *testing.T) {
	id, _ := ticket.NewID()
	_, err := (&ticket.Redeemer{Store: &wrappedUnavailable{}}).Redeem(context.Background(), id, ip1, "")
	if !errors.Is(err, ticket.ErrStoreUnavailable) || !errors.Is(err, errBackend) {
		t.Fatalf("err = %v", err)
	}
	if n := strings.Count(err.Error(), ticket.ErrStoreUnavailable.Error()); n != 1 {
		t.Fatalf("%q mentions the sentinel %d times", err, n)
	}
}

// Exactly one of many concurrent redeemers of one ticket wins.
func TestRedeemConcurrentOnce(t *testing.T) {
	st := newMapStore()
	id := put(t, st, ticket.Ticket{Subject: "a", ExpiresAt: time.Now().Add(time.Hour)})
	rd := &ticket.Redeemer{Store: st}
	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := rd.Redeem(context.Background(), id, ip1, "")
			errs <- err
		}()
	}
	wins := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ticket.ErrNotFound):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d redeemers won, want 1", wins)
	}
}

// No error a Redeemer returns contains the presented ID.
func TestRedeemErrorsNeverContainID(t *testing.T) {
	clk := newClock()
	st := newMapStore()
	rd := &ticket.Redeemer{Store: st, Now: clk.Now}
	exp := clk.Now().Add(time.Second)
	cases := map[string]func() (string, *ticket.Redeemer, netip.Addr, string){
		"malformed 44": func() (string, *ticket.Redeemer, netip.Addr, string) {
			id, _ := ticket.NewID()
			return id + "x", rd, ip1, ""
		},
		"malformed 42": func() (string, *ticket.Redeemer, netip.Addr, string) {
			id, _ := ticket.NewID()
			return id[:42], rd, ip1, ""
		},
		"not found": func() (string, *ticket.Redeemer, netip.Addr, string) {
			id, _ := ticket.NewID()
			return id, rd, ip1, ""
		},
		"expired": func() (string, *ticket.Redeemer, netip.Addr, string) {
			return put(t, st, ticket.Ticket{Subject: "a"}), rd, ip1, ""
		},
		"client ip": func() (string, *ticket.Redeemer, netip.Addr, string) {
			return put(t, st, ticket.Ticket{Subject: "a", ClientIP: ip1, ExpiresAt: exp}), rd, ip2, ""
		},
		"scope": func() (string, *ticket.Redeemer, netip.Addr, string) {
			return put(t, st, ticket.Ticket{Subject: "a", ExpiresAt: exp}), rd, ip1, "x"
		},
		"store": func() (string, *ticket.Redeemer, netip.Addr, string) {
			id, _ := ticket.NewID()
			return id, &ticket.Redeemer{Store: &failStore{}}, ip1, ""
		},
	}
	for name, mk := range cases {
		id, r, ip, scope := mk()
		_, err := r.Redeem(context.Background(), id, ip, scope)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), id) || (len(id) > 8 && strings.Contains(err.Error(), id[:8])) {
			t.Errorf("%s: error %q contains (part of) the ID", name, err)
		}
	}
}
