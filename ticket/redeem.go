package ticket

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Redeemer redeems presented ticket IDs against a Store.
type Redeemer struct {
	// Store holds the tickets. It is required.
	Store Store
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// IgnoreClientIP turns off the check that the redeeming client has the
	// address the ticket was issued to. The default (false) requires an
	// exact match whenever the ticket carries an address.
	IgnoreClientIP bool
}

// Redeem validates id, takes its ticket from the store exactly once, and
// checks expiry, client address and scope. An empty scope asks for none.
//
// The ticket is consumed even when a check fails, so a ticket stolen and
// presented from elsewhere is burnt. Errors are one of ErrMalformed,
// ErrNotFound, ErrExpired, ErrClientIP, ErrScope or (wrapping the store's
// error) ErrStoreUnavailable; none contains the ID.
func (r *Redeemer) Redeem(ctx context.Context, id string, clientIP netip.Addr, scope string) (Ticket, error) {
	key, err := KeyOf(id)
	if err != nil {
		return Ticket{}, err
	}
	t, ok, err := r.Store.Take(ctx, key)
	if err != nil {
		if !errors.Is(err, ErrStoreUnavailable) {
			err = fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
		}
		return Ticket{}, err
	}
	if !ok {
		return Ticket{}, ErrNotFound
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if !now().Before(t.ExpiresAt) {
		return Ticket{}, ErrExpired
	}
	// Both sides normalised: a ticket may carry a mapped or zoned address
	// (netip.AddrFromSlice of a 16-byte net.IP), as ClientIP.Of never returns.
	if !r.IgnoreClientIP && t.ClientIP.IsValid() && norm(t.ClientIP) != norm(clientIP) {
		return Ticket{}, ErrClientIP
	}
	if !t.Allows(scope) {
		return Ticket{}, ErrScope
	}
	return t, nil
}
