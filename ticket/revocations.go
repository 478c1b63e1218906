package ticket

import (
	"context"
	"crypto/sha256"
	"time"
)

// DefaultRevocationLifetime is how long stores keep a subject revocation
// when their options name no lifetime: it must be at least the longest
// lifetime of any credential checked against them.
const DefaultRevocationLifetime = 24 * time.Hour

// Revocations is an optional capability of a Store: the revoked
// credentials, by ID and by subject, and how far back the store's memory of
// them goes. Find it by type assertion: store.(ticket.Revocations).
// memstore and redisstore implement it.
//
// It fails closed. A store that may have lost revocations (a restart
// without persistence, a FLUSHALL, a failover to an empty replica) says so
// through Status.Since, and Status.Refuses then refuses every credential
// issued before: everyone logs in again, and no revoked credential slips
// through.
//
// IDs are keyed by DenyKey, a hash, so the store holds no usable ID.
// Implementations must be safe for concurrent use. An error from any
// method means the store could not be consulted or written (a system
// failure); callers treat it as refusal.
type Revocations interface {
	// RevokeID refuses the credential whose ID (a JWT's "jti") has key
	// DenyKey(id) until until, its expiry, after which it is refused
	// anyway. Revoking a revoked key again keeps the later time; an until
	// that has passed changes nothing.
	RevokeID(ctx context.Context, key Key, until time.Time) error

	// RevokeSubject refuses every credential of subject issued at or
	// before at ("log alice out everywhere"). Revoking a subject again
	// keeps the later time. The record is kept for the store's revocation
	// lifetime after at (an option of each store, DefaultRevocationLifetime
	// by default), by when every credential it refuses has expired. The
	// empty subject names no one and is an error.
	RevokeSubject(ctx context.Context, subject string, at time.Time) error

	// Check reports what the store knows about the credential with IDs
	// keys (its token ID and its session ID, say, under DenyKey; zero
	// Keys for none) and subject ("" for none), in one round trip for a
	// networked store, so that the answer is one consistent reading.
	// Decide with Status.Refuses.
	Check(ctx context.Context, keys [2]Key, subject string) (Status, error)
}

// Status is what Revocations.Check knows about one credential. Stores keep
// times to the millisecond at least, rounded towards refusal.
type Status struct {
	// Denied says one of the credential's IDs is revoked.
	Denied bool

	// SubjectRevoked is the latest RevokeSubject time of the credential's
	// subject, or the zero Time if there is none.
	SubjectRevoked time.Time

	// Since is how far back the store's memory goes: it holds every
	// revocation made since Since. A credential issued before Since may
	// have been revoked and lost.
	Since time.Time
}

// Refuses reports whether a credential issued at issuedAt is refused: its
// ID is denied, or issuedAt is the zero Time (unknown), or issuedAt is
// before Since, or issuedAt is not after SubjectRevoked.
//
// A JWT's "iat" has whole seconds, rounded down, so a token issued in the
// same second as its subject's revocation, even just after it, is refused:
// a user who logs in again within that second needs another token a second
// later. Failing that way is the safe side.
func (s Status) Refuses(issuedAt time.Time) bool {
	switch {
	case s.Denied, issuedAt.IsZero(), issuedAt.Before(s.Since):
		return true
	case !s.SubjectRevoked.IsZero() && !issuedAt.After(s.SubjectRevoked):
		return true
	}
	return false
}

// DenyKey returns the key under which the credential ID id is revoked: its
// SHA-256.
func DenyKey(id string) Key { return sha256.Sum256([]byte(id)) }
