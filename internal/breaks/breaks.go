// Package breaks switches deliberate bugs on in package wsauth, so that
// the randomized harness (internal/harness) can prove it catches each of
// them, the way tickettest proves its suite against broken stores. Only
// tests set them; each is one atomic load where wsauth would otherwise do
// the right thing.
package breaks

import "sync/atomic"

var (
	// RegisterLate registers a connection after its success answer, and
	// without the Registry's memory of recent revocations: the design
	// before the pipeline, which let a revocation slip between the two.
	RegisterLate atomic.Bool
	// SkipRevocationsOnRefresh checks later credentials (refresh frames,
	// new per-message tokens) without the store's revocations.
	SkipRevocationsOnRefresh atomic.Bool
	// SpendAfterVerify checks the budget before verifying and spends it
	// after, instead of reserving a unit first: concurrent attempts all
	// pass the check.
	SpendAfterVerify atomic.Bool
)
