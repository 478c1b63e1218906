package ticket

import (
	"context"
	"time"
)

// Revocation is a revocation announced to every node over a Bus, so that
// each closes the live connections it concerns.
type Revocation struct {
	// Subject is the subject whose connections end, or "".
	Subject string
	// ID is the DenyKey of the revoked credential ID, or the zero Key.
	ID Key
	// Reason is a short close reason.
	Reason string
	// At is when the revocation was made, to the millisecond: a
	// subject's credentials issued after it are not revoked. Zero means
	// when it is received.
	At time.Time
}

// Bus carries revocations between nodes. redisstore.Bus is one, over Redis
// Pub/Sub. A Bus must be safe for concurrent use.
//
// Delivery is at most once: a node cut off from the bus misses what is
// published meanwhile. So record a revocation in the store first
// (Revocations) and publish it second: a node that missed the message
// finds the revocation there when its catchUp re-checks.
type Bus interface {
	// Publish announces r to every node, this one included. An error
	// means the nodes may not have heard it.
	Publish(ctx context.Context, r Revocation) error

	// Subscribe calls deliver for each revocation published on any node
	// (this one included) until ctx is done, and calls catchUp each time
	// the subscription is re-established after an interruption:
	// revocations may have been missed meanwhile, so the subscriber
	// re-checks its live connections against the store. It returns once
	// subscribed, so that every revocation published afterwards is
	// delivered or followed by a catchUp, or with an error. deliver and
	// catchUp are called from one goroutine at a time.
	Subscribe(ctx context.Context, deliver func(Revocation), catchUp func()) error
}
