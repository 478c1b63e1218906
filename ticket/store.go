package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Key is the SHA-256 of a ticket ID: what stores index by. A store never
// sees the ID itself.
type Key [sha256.Size]byte

// String returns the key in lower-case hex. It is safe to log: a key cannot
// be turned back into a ticket ID.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Store holds issued tickets until they are redeemed or expire. It is the
// swappable part: memstore keeps tickets in process, redisstore shares them
// between nodes.
//
// Implementations must be safe for concurrent use. An error from either
// method means the store could not be consulted (a system failure); callers
// treat it as refusal. Package tickettest checks all of this in one line.
type Store interface {
	// Put stores t under key for ttl. It must not replace a live ticket
	// with the same key; it returns ErrKeyExists instead.
	Put(ctx context.Context, key Key, t Ticket, ttl time.Duration) error

	// Take atomically removes and returns the ticket under key. Among
	// concurrent callers for one key, on any number of nodes, at most one
	// gets ok == true. A missing or expired key is not an error:
	// Take returns ok == false and a nil error.
	Take(ctx context.Context, key Key) (t Ticket, ok bool, err error)
}
