package ticket

import "errors"

// Errors returned by this package and by stores. Compare with errors.Is.
// None of them, nor any error wrapping them here, contains a ticket ID.
var (
	// ErrMalformed means the presented ID is not 43 characters of
	// base64url; no store was consulted.
	ErrMalformed = errors.New("ticket: malformed ticket")
	// ErrNotFound means the ticket does not exist: never issued, already
	// redeemed, or expired from the store.
	ErrNotFound = errors.New("ticket: unknown or already used ticket")
	// ErrExpired means the ticket was found but its expiry has passed.
	ErrExpired = errors.New("ticket: expired ticket")
	// ErrClientIP means the ticket was issued to another client address.
	ErrClientIP = errors.New("ticket: client address does not match")
	// ErrScope means the ticket does not cover the requested scope.
	ErrScope = errors.New("ticket: ticket not valid for this scope")
	// ErrKeyExists is returned by Store.Put when the key holds a live
	// ticket.
	ErrKeyExists = errors.New("ticket: key already exists")
	// ErrStoreUnavailable is what stores wrap when their backend cannot
	// be reached or answers in error. Redemption fails closed on it.
	ErrStoreUnavailable = errors.New("ticket: store unavailable")
)
