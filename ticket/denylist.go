package ticket

import (
	"context"
	"crypto/sha256"
	"time"
)

// Denylist is an optional capability of a Store: IDs refused until a
// time, such as the IDs ("jti") of revoked JWTs, refused until they
// expire anyway. Find it by type assertion: store.(ticket.Denylist).
// memstore and redisstore implement it.
//
// Entries are keyed by DenyKey, a hash, so the list holds no usable ID.
// Implementations must be safe for concurrent use.
type Denylist interface {
	// Deny refuses key until until. Denying a denied key again replaces
	// its time; an until that has passed changes nothing.
	Deny(ctx context.Context, key Key, until time.Time) error

	// Denied reports whether key is refused now. An unknown or lapsed key
	// is (false, nil). An error means the list could not be consulted
	// (a system failure); callers treat it as refusal.
	Denied(ctx context.Context, key Key) (bool, error)
}

// DenyKey returns the key under which id is denied: its SHA-256.
func DenyKey(id string) Key { return sha256.Sum256([]byte(id)) }
