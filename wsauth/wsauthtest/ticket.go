package wsauthtest

import (
	"context"
	"net/netip"
	"testing"

	"github.com/wsauth/wsauth/ticket"
)

// Ticket stores t in store as a new ticket and returns its ID. A zero
// ClientIP binds the ticket to 127.0.0.1, where test clients dial from.
func Ticket(tb testing.TB, store ticket.Store, t ticket.Ticket) string {
	tb.Helper()
	if !t.ClientIP.IsValid() {
		t.ClientIP = netip.MustParseAddr("127.0.0.1")
	}
	iss := &ticket.Issuer{Store: store}
	id, _, err := iss.Issue(context.Background(), t)
	if err != nil {
		tb.Fatalf("wsauthtest: issue ticket: %v", err)
	}
	return id
}
