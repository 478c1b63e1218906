package wsauth

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
)

// Defaults of Options.
const (
	DefaultAuthTimeout   = 10 * time.Second
	DefaultAuthReadLimit = 4 << 10
	// DefaultPerMessageAuthReadLimit bounds the first frame in per-message
	// mode, which carries data as well as the token.
	DefaultPerMessageAuthReadLimit = 16 << 10
	DefaultReadLimit               = 32 << 10
	DefaultExpiryNotice            = 30 * time.Second
)

// Options configures a strategy. The zero value of every field but Verifier
// works; the struct is copied, so changing it after a strategy is made has
// no effect. Fields marked with a strategy apply to it alone.
type Options struct {
	// Verifier checks credentials. Required.
	Verifier Verifier

	// Authorizer, if set, runs after authentication: room membership and
	// other per-route permissions belong here.
	Authorizer Authorizer

	// Scope returns the scope a request asks for, such as the room in its
	// path (func(r *http.Request) string { return r.PathValue("room") }).
	// It is handed to the Verifier as Peer.Scope; tickets must cover it.
	// Nil asks for no scope.
	Scope func(r *http.Request) string

	// ClientIP finds the client address checked against tickets. Nil uses
	// RemoteAddr and trusts no forwarding header.
	ClientIP *ticket.ClientIP

	// Accept is passed to websocket.Accept. Its OriginPatterns also govern
	// this package's own origin check, made before any credential is
	// looked at: cross-origin upgrades are refused with 403 unless the
	// origin matches. Its Subprotocols list the application protocols the
	// Subprotocol strategy accepts (default: transport.DefaultSubprotocol).
	// Nil means websocket's defaults.
	Accept *websocket.AcceptOptions

	// RejectAfterUpgrade makes refusals upgrade the connection and close
	// it with a 44xx code and a short reason, which browsers can read,
	// instead of answering an HTTP status, which they cannot. Cross-origin
	// and malformed upgrade requests are always refused over HTTP.
	RejectAfterUpgrade bool

	// ReadLimit is the read limit of an authenticated connection, in
	// bytes. Zero means DefaultReadLimit.
	ReadLimit int64

	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	// QueryParam is the query parameter holding the ticket. Query only;
	// default transport.QueryParam ("ticket").
	QueryParam string

	// AuthTimeout is how long an unauthenticated socket may wait for its
	// first frame before it is closed with 4408. FirstMessage and
	// PerMessage; default DefaultAuthTimeout (10 s).
	AuthTimeout time.Duration

	// AuthReadLimit is the largest first frame read before
	// authentication. FirstMessage (default DefaultAuthReadLimit, 4 KiB)
	// and PerMessage (default DefaultPerMessageAuthReadLimit, 16 KiB).
	AuthReadLimit int64

	// DropInvalidFrames makes a frame without a valid token return an
	// error from Conn.Read and be dropped, instead of closing the
	// connection with 4401. PerMessage only.
	DropInvalidFrames bool

	// Refresh lets a Query or Subprotocol connection replace its
	// credential in band with a text frame {"type":"refresh","token":T},
	// which Conn.Read then consumes instead of returning; it also turns on
	// ExpiryNotice. It is off by default because those strategies leave
	// frames to the application. FirstMessage connections always refresh
	// this way, PerMessage ones with every frame.
	Refresh bool

	// ExpiryNotice is how long before its credential expires a connection
	// that can refresh is sent {"type":"expiring","in":N} (N in seconds,
	// rounded up), but at most half the credential's remaining lifetime.
	// Default DefaultExpiryNotice (30 s); negative turns notices off.
	ExpiryNotice time.Duration

	// Registry, if set, registers every accepted connection by subject,
	// so that Registry.Revoke can close them, and checks principals
	// against its deny list at connect and refresh. Requests passed on by
	// Handshake.Middleware are checked but not registered: no Conn is
	// made for them.
	Registry *Registry

	// Limiter limits failed authentications per client address: past
	// its budget an address is refused with 429 before the upgrade (the
	// handshake strategies) or 4429 after (FirstMessage, PerMessage, and
	// RejectAfterUpgrade), and its Verifier is not even called. Nil gives
	// each strategy its own NewLimiter(nil): 20 failures in a row, then
	// one more per second, for up to 10000 addresses. Share one Limiter
	// between strategies to pool their budgets.
	Limiter *Limiter

	// DisableLimiter turns the limit on failed authentications off, for
	// servers that limit upstream.
	DisableLimiter bool

	// Events, if set, is called for every authentication, refusal,
	// refresh, expiry and revocation (see Event), synchronously on the
	// connection's goroutine: keep it fast. SlogEvents logs them;
	// Counters counts them. A panic in Events is recovered.
	Events func(ctx context.Context, e Event)

	// strategy names the strategy these options were copied for.
	strategy string
	// refreshFrames: Conn.Read consumes refresh frames. notices: the
	// connection is sent expiry notices.
	refreshFrames, notices bool
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) readLimit() int64 {
	if o.ReadLimit > 0 {
		return o.ReadLimit
	}
	return DefaultReadLimit
}

func (o *Options) authTimeout() time.Duration {
	if o.AuthTimeout > 0 {
		return o.AuthTimeout
	}
	return DefaultAuthTimeout
}

// copyOptions copies opts so a strategy never sees later changes, and
// panics on misuse that can only be a programming error.
func copyOptions(opts *Options, strategy, name string) *Options {
	if opts == nil || opts.Verifier == nil {
		panic("wsauth: " + strategy + ": Options.Verifier is required")
	}
	o := *opts
	o.strategy = name
	switch {
	case o.DisableLimiter:
		o.Limiter = nil
	case o.Limiter == nil:
		o.Limiter = NewLimiter(nil)
	}
	if opts.Accept != nil {
		a := *opts.Accept
		o.Accept = &a
	} else {
		o.Accept = &websocket.AcceptOptions{}
	}
	return &o
}
