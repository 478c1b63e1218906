package ticket

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Ticket is what a store holds for one issued ticket. It never contains the
// ticket ID.
type Ticket struct {
	// Subject identifies who the ticket was issued to (a user ID).
	Subject string
	// ClientIP is the address of the client the ticket was issued to.
	// The zero Addr means the ticket is not bound to an address.
	ClientIP netip.Addr
	// IssuedAt and ExpiresAt bound the ticket's life.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Scope lists the routes or rooms the ticket is valid for. An empty
	// scope is valid only where the redeemer asks for none.
	Scope []string
	// Metadata is free-form application data carried to the connection.
	Metadata map[string]string
}

// Allows reports whether the ticket's scope allows scope. The empty scope
// is always allowed.
func (t Ticket) Allows(scope string) bool {
	return scope == "" || slices.Contains(t.Scope, scope)
}

// wireTicket is the documented encoding of a Ticket used by stores that hold
// bytes: a JSON object with short keys and times in Unix milliseconds.
//
//	{"sub":"alice","ip":"127.0.0.1","iat":1764000000000,"exp":1764000030000,"scope":["room:general"],"md":{"k":"v"}}
type wireTicket struct {
	Subject   string            `json:"sub"`
	ClientIP  string            `json:"ip,omitempty"`
	IssuedAt  int64             `json:"iat"`
	ExpiresAt int64             `json:"exp"`
	Scope     []string          `json:"scope,omitempty"`
	Metadata  map[string]string `json:"md,omitempty"`
}

// MarshalBinary encodes t as a compact JSON object:
//
//	{"sub":"alice","ip":"127.0.0.1","iat":<unix ms>,"exp":<unix ms>,"scope":["general"],"md":{"k":"v"}}
//
// Times keep millisecond precision; "ip", "scope" and "md" are omitted when
// empty. Stores that keep bytes (such as redisstore) use this encoding.
func (t Ticket) MarshalBinary() ([]byte, error) {
	w := wireTicket{
		Subject:   t.Subject,
		IssuedAt:  t.IssuedAt.UnixMilli(),
		ExpiresAt: t.ExpiresAt.UnixMilli(),
		Scope:     t.Scope,
		Metadata:  t.Metadata,
	}
	if t.ClientIP.IsValid() {
		w.ClientIP = t.ClientIP.String()
	}
	return json.Marshal(w)
}

// UnmarshalBinary decodes the encoding written by MarshalBinary.
func (t *Ticket) UnmarshalBinary(b []byte) error {
	var w wireTicket
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("ticket: decode: %w", err)
	}
	var ip netip.Addr
	if w.ClientIP != "" {
		var err error
		if ip, err = netip.ParseAddr(w.ClientIP); err != nil {
			return fmt.Errorf("ticket: decode client ip: %w", err)
		}
	}
	*t = Ticket{
		Subject:   w.Subject,
		ClientIP:  ip,
		IssuedAt:  time.UnixMilli(w.IssuedAt),
		ExpiresAt: time.UnixMilli(w.ExpiresAt),
		Scope:     w.Scope,
		Metadata:  w.Metadata,
	}
	return nil
}
