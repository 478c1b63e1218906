package ticket_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsauth/wsauth/ticket"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/.

// validID is an independent oracle for KeyOf: 43 base64url characters whose
// last one leaves the two unused low bits clear.
func validID(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(b64url, s[i]) < 0 {
			return false
		}
	}
	return strings.IndexByte(b64url, s[42])%4 == 0
}

func FuzzKeyOf(f *testing.F) {
	f.Fuzz(func(t *testing.T, id string) {
		key, err := ticket.KeyOf(id)
		if (err == nil) != validID(id) {
			t.Fatalf("KeyOf(%q) err = %v, oracle valid = %v", id, err, validID(id))
		}
		if err != nil {
			// The bare sentinel: its text carries nothing of the input.
			if err != ticket.ErrMalformed || key != (ticket.Key{}) {
				t.Fatalf("KeyOf(%q) = %v, %v; want zero key and ErrMalformed itself", id, key, err)
			}
			return
		}
		again, err := ticket.KeyOf(id)
		if err != nil || again != key {
			t.Fatal("KeyOf not deterministic")
		}
	})
}

// strictAddr parses "ip" or "ip:port" forms only, as an oracle.
func strictAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// FuzzClientIP feeds RemoteAddr, X-Forwarded-For and Forwarded values (one
// header line per "\n") to a ClientIP reading each header in turn. Besides
// the parser's invariants it checks the configuration's promise: the header
// not named never changes the answer.
func FuzzClientIP(f *testing.F) {
	trusted := func(a netip.Addr) bool {
		for _, p := range trustedNets {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, remote, xffVal, fwdVal string) {
		req := func(xffVal, fwdVal string) *http.Request {
			r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
			if xffVal != "" {
				r.Header["X-Forwarded-For"] = strings.Split(xffVal, "\n")
			}
			if fwdVal != "" {
				r.Header["Forwarded"] = strings.Split(fwdVal, "\n")
			}
			return r
		}
		r := req(xffVal, fwdVal)
		peer, peerErr := (*ticket.ClientIP)(nil).Of(req("", ""))

		// Without trusted proxies headers never matter.
		got, err := (*ticket.ClientIP)(nil).Of(r)
		if got != peer || (err == nil) != (peerErr == nil) {
			t.Fatalf("nil ClientIP: Of = %v, %v; without headers %v, %v", got, err, peer, peerErr)
		}

		for _, cfg := range []struct {
			c     *ticket.ClientIP
			value string        // of the header c reads
			only  *http.Request // r with only the header c reads
		}{
			{proxies, xffVal, req(xffVal, "")},
			{fwdProxies, fwdVal, req("", fwdVal)},
		} {
			got, err := cfg.c.Of(r)
			// The header not named never changes the answer.
			if alone, aerr := cfg.c.Of(cfg.only); alone != got || (err == nil) != (aerr == nil) {
				t.Fatalf("Header %q: Of = %v, %v, but %v, %v without the other header", cfg.c.Header, got, err, alone, aerr)
			}
			if err != nil {
				if !errors.Is(err, ticket.ErrClientAddr) || got.IsValid() {
					t.Fatalf("Of = %v, %v; want zero Addr and ErrClientAddr", got, err)
				}
				for _, v := range []string{remote, xffVal, fwdVal} {
					if len(v) > 16 && strings.Contains(err.Error(), v) {
						t.Fatalf("error %q echoes input %q", err, v)
					}
				}
				continue
			}
			if peerErr != nil {
				t.Fatalf("Of succeeded (%v) with an unusable RemoteAddr %q", got, remote)
			}
			if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
				t.Fatalf("Of = %#v: not a valid normalised address", got)
			}
			if !trusted(peer) && got != peer {
				t.Fatalf("untrusted remote %v, but Of = %v", peer, got)
			}
			if a, ok := strictAddr(remote); ok && a != peer {
				t.Fatalf("RemoteAddr %q: Of = %v, want %v", remote, peer, a)
			}
			if trusted(peer) && cfg.value == "" && got != peer {
				t.Fatalf("trusted remote without its header: Of = %v, want %v", got, peer)
			}
		}
	})
}

func FuzzUnmarshalBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var t1 ticket.Ticket
		if err := t1.UnmarshalBinary(b); err != nil {
			if !strings.HasPrefix(err.Error(), "ticket: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		enc1, err := t1.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of decoded %+v: %v", t1, err)
		}
		var t2 ticket.Ticket
		if err := t2.UnmarshalBinary(enc1); err != nil {
			t.Fatalf("re-decode %s: %v", enc1, err)
		}
		if !sameTicket(t1, t2) {
			t.Fatalf("round trip of %q:\n t1 %+v\n t2 %+v\n via %s", b, t1, t2, enc1)
		}
		enc2, _ := t2.MarshalBinary()
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding not stable:\n %s\n %s", enc1, enc2)
		}
	})
}
