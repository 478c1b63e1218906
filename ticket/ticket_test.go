package ticket_test

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

// sameTicket compares tickets the way the wire format promises: times as
// instants, nil and empty scope/metadata alike.
func sameTicket(a, b ticket.Ticket) bool {
	return a.Subject == b.Subject &&
		a.ClientIP == b.ClientIP &&
		a.IssuedAt.Equal(b.IssuedAt) &&
		a.ExpiresAt.Equal(b.ExpiresAt) &&
		slices.Equal(a.Scope, b.Scope) &&
		maps.Equal(a.Metadata, b.Metadata)
}

func TestTicketAllows(t *testing.T) {
	tests := []struct {
		scope []string
		ask   string
		want  bool
	}{
		{nil, "", true},
		{nil, "general", false},
		{[]string{}, "general", false},
		{[]string{"general"}, "", true},
		{[]string{"general"}, "general", true},
		{[]string{"general"}, "secret", false},
		{[]string{"general"}, "General", false},
		{[]string{"a", "b"}, "b", true},
	}
	for _, tt := range tests {
		if got := (ticket.Ticket{Scope: tt.scope}).Allows(tt.ask); got != tt.want {
			t.Errorf("Scope %q Allows(%q) = %v, want %v", tt.scope, tt.ask, got, tt.want)
		}
	}
}

func TestTicketBinaryRoundTrip(t *testing.T) {
	iat := time.Date(2025, 11, 24, 12, 0, 0, 123_000_000, time.UTC)
	tests := map[string]ticket.Ticket{
		"v4": {Subject: "alice", ClientIP: netip.MustParseAddr("127.0.0.1"),
			IssuedAt: iat, ExpiresAt: iat.Add(30 * time.Second),
			Scope: []string{"general"}, Metadata: map[string]string{"k": "v"}},
		"v6": {Subject: "bob", ClientIP: netip.MustParseAddr("2001:db8::1"),
			IssuedAt: iat, ExpiresAt: iat.Add(time.Minute)},
		"v6 zone":    {Subject: "z", ClientIP: netip.MustParseAddr("fe80::1%eth0"), IssuedAt: iat, ExpiresAt: iat},
		"zero ip":    {Subject: "carol", IssuedAt: iat, ExpiresAt: iat.Add(time.Second)},
		"empty":      {Scope: []string{}, Metadata: map[string]string{}},
		"all zero":   {},
		"unicode":    {Subject: "ünï\"code\\", Scope: []string{"room:ü", ""}, Metadata: map[string]string{"": "", "x\ny": "<>&"}},
		"local tz":   {Subject: "d", IssuedAt: iat.In(time.FixedZone("X", 3600)), ExpiresAt: iat.In(time.FixedZone("Y", -7200))},
		"pre-1970":   {Subject: "e", IssuedAt: time.Date(1900, 1, 1, 0, 0, 0, 5_000_000, time.UTC)},
		"far future": {Subject: "f", ExpiresAt: time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := in.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var out ticket.Ticket
			if err := out.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary(%s): %v", b, err)
			}
			if !sameTicket(in, out) {
				t.Fatalf("round trip:\n in  %+v\n out %+v\n via %s", in, out, b)
			}
			if in.IssuedAt.IsZero() != out.IssuedAt.IsZero() || in.ExpiresAt.IsZero() != out.ExpiresAt.IsZero() {
				t.Fatalf("zero times not preserved: %+v", out)
			}
		})
	}
}

func TestTicketBinaryMillisecondPrecision(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	in := ticket.Ticket{IssuedAt: at, ExpiresAt: at}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out ticket.Ticket
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Millisecond)
	if !out.IssuedAt.Equal(want) || !out.ExpiresAt.Equal(want) {
		t.Fatalf("times = %v, %v; want %v", out.IssuedAt, out.ExpiresAt, want)
	}
}

func TestTicketBinaryFormat(t *testing.T) {
	in := ticket.Ticket{
		Subject:   "alice",
		ClientIP:  netip.MustParseAddr("127.0.0.1"),
		IssuedAt:  time.UnixMilli(1764000000000),
		ExpiresAt: time.UnixMilli(1764000030000),
		Scope:     []string{"room:general"},
		Metadata:  map[string]string{"k": "v"},
	}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"sub":"alice","ip":"127.0.0.1","iat":1764000000000,"exp":1764000030000,"scope":["room:general"],"md":{"k":"v"}}`
	if string(b) != want {
		t.Fatalf("MarshalBinary =\n %s\nwant\n %s", b, want)
	}
	b, _ = ticket.Ticket{Subject: "x"}.MarshalBinary()
	for _, k := range []string{`"ip"`, `"scope"`, `"md"`} {
		if strings.Contains(string(b), k) {
			t.Errorf("empty field %s not omitted: %s", k, b)
		}
	}
}

func TestTicketUnmarshalGarbage(t *testing.T) {
	for _, in := range []string{
		"",
		"{",
		"[]",
		`"alice"`,
		"42",
		`{"sub":1}`,
		`{"ip":"not an ip"}`,
		`{"ip":"1.2.3.4:80"}`,
		`{"ip":7}`,
		`{"iat":"yesterday"}`,
		`{"exp":1.5}`,
		`{"exp":1e400}`,
		`{"scope":"general"}`,
		`{"md":{"k":1}}`,
		`{"sub":"a"} trailing`,
		"\xff\xfe",
	} {
		orig := ticket.Ticket{Subject: "keep"}
		got := orig
		if err := got.UnmarshalBinary([]byte(in)); err == nil {
			t.Errorf("UnmarshalBinary(%q) = nil error, ticket %+v", in, got)
		} else if !strings.HasPrefix(err.Error(), "ticket: ") {
			t.Errorf("UnmarshalBinary(%q) error %q lacks package prefix", in, err)
		} else if got.Subject != "keep" {
			t.Errorf("UnmarshalBinary(%q) changed the ticket on error: %+v", in, got)
		}
	}
}
