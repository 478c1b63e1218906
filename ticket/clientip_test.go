package ticket_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsauth/wsauth/ticket"
)

// request builds a request from remote with the given header lines.
func request(remote string, headers ...[2]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

func xff(v string) [2]string { return [2]string{"X-Forwarded-For", v} }
func fwd(v string) [2]string { return [2]string{"Forwarded", v} }

var trustedNets = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("fd00::/8"),
}

// proxies reads X-Forwarded-For (the default); fwdProxies reads Forwarded.
var (
	proxies    = &ticket.ClientIP{TrustedProxies: trustedNets}
	fwdProxies = &ticket.ClientIP{TrustedProxies: trustedNets, Header: ticket.HeaderForwarded}
)

func TestClientIPUntrustedIgnoresHeaders(t *testing.T) {
	spoof := []([2]string){xff("1.1.1.1"), fwd("for=1.1.1.1"), {"X-Real-IP", "1.1.1.1"}}
	for name, c := range map[string]*ticket.ClientIP{
		"nil":               nil,
		"zero":              {},
		"untrusted src":     proxies, // remote 192.0.2.7 is not a trusted proxy
		"untrusted src fwd": fwdProxies,
		"untrusted src bad": {TrustedProxies: trustedNets, Header: "X-Real-IP"},
	} {
		got, err := c.Of(request("192.0.2.7:5555", spoof...))
		if err != nil || got != netip.MustParseAddr("192.0.2.7") {
			t.Errorf("%s: Of = %v, %v; want 192.0.2.7 (headers refused)", name, got, err)
		}
	}
}

func TestClientIPRemoteAddr(t *testing.T) {
	tests := []struct {
		remote string
		want   string // "" means ErrClientAddr
	}{
		{"127.0.0.1:1234", "127.0.0.1"},
		{"127.0.0.1", "127.0.0.1"},
		{"[::1]:80", "::1"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"[fe80::1%eth0]:443", "fe80::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"pipe", ""},
		{"@", ""},
		{"", ""},
		{"example.com:80", ""},
		{"[]:80", ""},
		{"1.2.3.4:80:90", ""},
		{"[", ""},
		{"]", ""},
		{"unix:/tmp/sock", ""},
	}
	for _, tt := range tests {
		for _, c := range []*ticket.ClientIP{nil, proxies, fwdProxies} {
			got, err := c.Of(request(tt.remote))
			if tt.want == "" {
				if !errors.Is(err, ticket.ErrClientAddr) || got.IsValid() {
					t.Errorf("Of(%q) = %v, %v; want ErrClientAddr", tt.remote, got, err)
				}
				continue
			}
			if err != nil || got != netip.MustParseAddr(tt.want) {
				t.Errorf("Of(%q) = %v, %v; want %s", tt.remote, got, err, tt.want)
			}
		}
	}
}

func TestClientIPTrustedProxy(t *testing.T) {
	many := strings.TrimSuffix(strings.Repeat("10.0.0.1, ", 32), ", ")
	tests := []struct {
		name    string
		remote  string
		headers [][2]string
		want    string           // "" means ErrClientAddr
		c       *ticket.ClientIP // nil: by the name, fwdProxies for "fwd …", else proxies
	}{
		{"no headers", "10.0.0.1:1", nil, "10.0.0.1", nil},
		{"xff one", "10.0.0.1:1", [][2]string{xff("203.0.113.5")}, "203.0.113.5", nil},
		{"xff spoofed left", "10.0.0.1:1", [][2]string{xff("1.1.1.1, 203.0.113.5")}, "203.0.113.5", nil},
		{"xff trusted hops", "10.0.0.1:1", [][2]string{xff("1.1.1.1, 203.0.113.5, 10.0.0.3, 10.9.9.9")}, "203.0.113.5", nil},
		{"xff lines", "10.0.0.1:1", [][2]string{xff("1.1.1.1"), xff("203.0.113.5, 10.0.0.2"), xff("10.0.0.3")}, "203.0.113.5", nil},
		{"xff all trusted", "10.0.0.1:1", [][2]string{xff("10.0.0.7, 10.0.0.8")}, "10.0.0.7", nil},
		{"xff with port", "10.0.0.1:1", [][2]string{xff("203.0.113.5:4711")}, "203.0.113.5", nil},
		{"xff v6", "[fd00::1]:1", [][2]string{xff("2001:db8::5, fd00::9")}, "2001:db8::5", nil},
		{"xff v6 brackets", "[fd00::1]:1", [][2]string{xff("[2001:db8::5]:80")}, "2001:db8::5", nil},
		{"xff mapped", "10.0.0.1:1", [][2]string{xff("::ffff:203.0.113.5")}, "203.0.113.5", nil},
		{"xff mapped trusted", "10.0.0.1:1", [][2]string{xff("203.0.113.5, ::ffff:10.0.0.2")}, "203.0.113.5", nil},
		{"xff garbage", "10.0.0.1:1", [][2]string{xff("203.0.113.5, garbage")}, "", nil},
		{"xff unknown", "10.0.0.1:1", [][2]string{xff("unknown")}, "", nil},
		{"xff empty hop", "10.0.0.1:1", [][2]string{xff("203.0.113.5,")}, "", nil},
		{"xff empty", "10.0.0.1:1", [][2]string{xff("")}, "", nil},
		{"xff 32 hops", "10.0.0.1:1", [][2]string{xff(many)}, "10.0.0.1", nil},
		{"xff 33 hops", "10.0.0.1:1", [][2]string{xff("1.1.1.1, " + many)}, "", nil},
		{"xff 33 over lines", "10.0.0.1:1", [][2]string{xff(many), xff("10.0.0.1")}, "", nil},
		{"fwd for", "10.0.0.1:1", [][2]string{fwd("for=203.0.113.5")}, "203.0.113.5", nil},
		{"fwd case", "10.0.0.1:1", [][2]string{fwd("For=203.0.113.5")}, "203.0.113.5", nil},
		{"fwd quoted", "10.0.0.1:1", [][2]string{fwd(`for="203.0.113.5"`)}, "203.0.113.5", nil},
		{"fwd v6 port", "10.0.0.1:1", [][2]string{fwd(`for="[2001:db8:cafe::17]:4711"`)}, "2001:db8:cafe::17", nil},
		{"fwd v6 no port", "10.0.0.1:1", [][2]string{fwd(`for="[2001:db8:cafe::17]"`)}, "2001:db8:cafe::17", nil},
		{"fwd params", "10.0.0.1:1", [][2]string{fwd("proto=https;for=203.0.113.5;by=10.0.0.1")}, "203.0.113.5", nil},
		{"fwd elements", "10.0.0.1:1", [][2]string{fwd("for=1.1.1.1, for=203.0.113.5, for=10.0.0.4")}, "203.0.113.5", nil},
		{"fwd lines", "10.0.0.1:1", [][2]string{fwd("for=1.1.1.1"), fwd("for=203.0.113.5")}, "203.0.113.5", nil},
		{"fwd all trusted", "10.0.0.1:1", [][2]string{fwd("for=10.0.0.7, for=10.0.0.8")}, "10.0.0.7", nil},
		{"fwd unknown", "10.0.0.1:1", [][2]string{fwd("for=unknown")}, "", nil},
		{"fwd obfuscated", "10.0.0.1:1", [][2]string{fwd("for=_hidden")}, "", nil},
		{"fwd quoted obfuscated", "10.0.0.1:1", [][2]string{fwd(`for="_hidden"`)}, "", nil},
		{"fwd no for", "10.0.0.1:1", [][2]string{fwd("proto=https;by=10.0.0.1")}, "", nil},
		{"fwd element no for", "10.0.0.1:1", [][2]string{fwd("for=203.0.113.5, proto=http")}, "", nil},
		{"fwd duplicate for", "10.0.0.1:1", [][2]string{fwd("for=1.1.1.1;for=203.0.113.5")}, "", nil},
		{"fwd empty", "10.0.0.1:1", [][2]string{fwd("")}, "", nil},
		{"fwd empty for", "10.0.0.1:1", [][2]string{fwd(`for=""`)}, "", nil},
		{"fwd ignores xff", "10.0.0.1:1", [][2]string{xff("198.51.100.1"), fwd("for=203.0.113.5")}, "203.0.113.5", nil},
		{"fwd bad, xff good", "10.0.0.1:1", [][2]string{xff("198.51.100.1"), fwd("for=unknown")}, "", nil},
		{"fwd absent, xff present", "10.0.0.1:1", [][2]string{xff("198.51.100.1")}, "10.0.0.1", nil},
		// The attack of a proxy that appends X-Forwarded-For and passes
		// the client's own Forwarded through: only the configured header
		// counts.
		{"xff ignores spoofed fwd", "10.0.0.1:1", [][2]string{fwd("for=198.51.100.66"), xff("203.0.113.5")}, "203.0.113.5", nil},
		{"xff ignores bad fwd", "10.0.0.1:1", [][2]string{fwd("for=unknown"), xff("203.0.113.5")}, "203.0.113.5", nil},
		{"xff absent, fwd present", "10.0.0.1:1", [][2]string{fwd("for=198.51.100.66")}, "10.0.0.1", nil},
		{"header name case", "10.0.0.1:1", [][2]string{fwd("for=198.51.100.66"), xff("203.0.113.5")}, "203.0.113.5",
			&ticket.ClientIP{TrustedProxies: trustedNets, Header: "x-forwarded-for"}},
		{"header name case fwd", "10.0.0.1:1", [][2]string{fwd("for=203.0.113.5"), xff("198.51.100.66")}, "203.0.113.5",
			&ticket.ClientIP{TrustedProxies: trustedNets, Header: "FORWARDED"}},
		{"unsupported header", "10.0.0.1:1", [][2]string{{"X-Real-IP", "203.0.113.5"}, xff("203.0.113.5")}, "",
			&ticket.ClientIP{TrustedProxies: trustedNets, Header: "X-Real-IP"}},
		{"fwd 33 hops", "10.0.0.1:1", [][2]string{fwd(strings.Repeat("for=10.0.0.1,", 32) + "for=1.1.1.1")}, "", nil},
		{"bad remote", "pipe", [][2]string{xff("203.0.113.5")}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if c == nil {
				c = proxies
				if strings.HasPrefix(tt.name, "fwd ") {
					c = fwdProxies
				}
			}
			r := request(tt.remote, tt.headers...)
			got, err := c.Of(r)
			if tt.want == "" {
				if !errors.Is(err, ticket.ErrClientAddr) || got.IsValid() {
					t.Fatalf("Of = %v, %v; want ErrClientAddr", got, err)
				}
				for _, h := range tt.headers {
					if len(h[1]) > 6 && strings.Contains(err.Error(), h[1]) {
						t.Fatalf("error %q echoes header %q", err, h[1])
					}
				}
				return
			}
			if err != nil || got != netip.MustParseAddr(tt.want) {
				t.Fatalf("Of = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}
