package wsauth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/wsauth/wsauth/ticket"
)

// defaultReadLimit is the read limit of an authenticated connection when
// Options.ReadLimit is zero: coder/websocket's own default.
const defaultReadLimit = 32 << 10

// Options configures an Authenticator. A nil *Options, and the zero value
// of every field, work; New copies what it needs, so later changes to the
// caller's value have no effect.
type Options struct {
	// Authorizer, if set, runs after authentication, at connect and for
	// every later credential a connection presents: room membership and
	// other per-route permissions belong here. A credential whose checks
	// (the revocation store's and the Authorizer's) take more than 30 s is
	// refused as unavailable: the Registry remembers a revocation that
	// came meanwhile only for a minute.
	Authorizer Authorizer

	// ClientIP finds the client address that tickets are bound to and
	// failures are counted against. Nil uses RemoteAddr and trusts no
	// forwarding header.
	ClientIP *ticket.ClientIP

	// OriginPatterns lists the foreign origins allowed to open a
	// WebSocket, as host patterns for path.Match ("*.example.com", or
	// "https://app.example.com" to match the scheme too; "*" allows every
	// origin). A request whose Origin header names another host than its
	// own and matches no pattern is refused with 403 before any credential
	// is read. Default: same host only.
	OriginPatterns []string

	// ReadLimit is the read limit of an authenticated connection, in
	// bytes. Default 32 KiB. Before authentication the strategy's own,
	// smaller limit applies.
	ReadLimit int64

	// Registry, if set, registers every accepted connection so that
	// Registry.Revoke can close it, and checks every credential against
	// the Registry's revocations. Share one Registry between the
	// Authenticators of a node.
	Registry *Registry

	// Limiter limits failed authentications per client address. Nil
	// means a Limiter of this Authenticator's own: NewLimiter(20,
	// time.Second). Share one to pool the budgets of several routes;
	// NewLimiter(0, 0) turns the limit off.
	Limiter *Limiter

	// Events, if set, is called for every authentication, refusal,
	// refresh and closed connection (see Event), synchronously on the
	// connection's goroutine: keep it fast. Its context carries the
	// upgrade request's values, never its cancellation, and for an event
	// of an authenticated connection PrincipalFrom gives the connection's
	// principal. SlogEvents logs them.
	Events func(ctx context.Context, e Event)

	// Upgrade, if set, upgrades an authenticated request with another
	// WebSocket library, such as gorilla/websocket, echoing subprotocol
	// when it is not empty; every strategy then works over that library
	// (see Socket). It must bound its write of the 101 answer (gorilla:
	// Upgrader.HandshakeTimeout). The origin has been checked already.
	// Nil uses coder/websocket: websocket.Accept.
	Upgrade func(w http.ResponseWriter, r *http.Request, subprotocol string) (Socket, error)
}

// Authenticator puts one strategy in front of a route: it accepts upgrade
// requests as authenticated connections (Accept, Handler), or passes
// authenticated requests on to a handler of another WebSocket library
// (Middleware). Make one with New. It is safe for concurrent use.
type Authenticator struct {
	verifier  Verifier
	stable    StableVerifier // the Verifier, when it is one
	strategy  strategy
	authorize Authorizer
	clientIP  *ticket.ClientIP
	origins   []string
	readLimit int64
	registry  *Registry
	limiter   *Limiter
	events    func(context.Context, Event)
	upgrade   func(http.ResponseWriter, *http.Request, string) (Socket, error)
	// sameOrigin: an upgrade without an Origin header is refused too.
	sameOrigin bool

	hookPanic sync.Once // the Events hook's first panic is logged
}

// New returns an Authenticator that checks credentials with v, carried as
// strategy s says (Query, Subprotocol, Header, Cookie, FirstMessage or
// PerMessage),
// configured by opts, which may be nil. It panics if v or s is nil, which
// can only be a programming error.
func New(v Verifier, s Strategy, opts *Options) *Authenticator {
	if v == nil || s == nil {
		panic("wsauth: New: the Verifier and the Strategy are required")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	a := &Authenticator{
		verifier:  v,
		strategy:  s.compile(),
		authorize: o.Authorizer,
		clientIP:  o.ClientIP,
		origins:   slices.Clone(o.OriginPatterns),
		readLimit: o.ReadLimit,
		registry:  o.Registry,
		limiter:   o.Limiter,
		events:    o.Events,
		upgrade:   o.Upgrade,
	}
	a.stable, _ = v.(StableVerifier)
	if so, ok := a.strategy.(interface{ sameOrigin() bool }); ok && so.sameOrigin() {
		for _, p := range a.origins {
			if !namesASite(p) {
				panic(fmt.Sprintf("wsauth: New: Cookie: OriginPatterns %q names no site: a cookie credential cannot be allowed from every origin", p))
			}
		}
		a.sameOrigin = true
	}
	if a.readLimit <= 0 {
		a.readLimit = defaultReadLimit
	}
	if a.registry == nil {
		a.registry = NewRegistry(nil, nil)
	}
	if a.limiter == nil {
		a.limiter = NewLimiter(defaultLimitBurst, defaultLimitEvery)
	}
	if a.upgrade == nil {
		a.upgrade = acceptCoder
	}
	return a
}
