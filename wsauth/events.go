package wsauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"sync/atomic"

	"github.com/coder/websocket"
)

// EventKind says what happened to a connection or an attempt.
type EventKind int

// Kinds of Event.
const (
	// EventAuthenticated: a connection (or a Middleware request) was
	// authenticated and authorized.
	EventAuthenticated EventKind = iota + 1
	// EventRefused: an attempt was refused; Err says why.
	EventRefused
	// EventRateLimited: an attempt was refused without being looked at,
	// because its address had failed too often.
	EventRateLimited
	// EventRefreshed: a connection replaced its credential with a refresh
	// frame. (PerMessage tokens are not reported one by one.)
	EventRefreshed
	// EventExpired: a connection's credential expired and it was closed.
	EventExpired
	// EventRevoked: a connection was closed by Registry.Revoke.
	EventRevoked

	numEventKinds = iota + 1
)

var eventNames = [numEventKinds]string{"", "authenticated", "refused", "rate_limited", "refreshed", "expired", "revoked"}

// String returns the kind in lower case, such as "rate_limited".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something worth logging or counting. It never holds a
// credential: Err is one of this package's errors, whose text is fixed.
type Event struct {
	Kind EventKind
	// Strategy is "query", "subprotocol", "first_message" or
	// "per_message"; empty for events outside any strategy.
	Strategy string
	// Subject is who the connection is authenticated as; empty when an
	// attempt was refused before that was known.
	Subject string
	// Addr is the client address (after trusted proxies), if known.
	Addr netip.Addr
	// Status is the HTTP status answered before the upgrade, or 0.
	Status int
	// Code is the close code sent after the upgrade, or 0.
	Code websocket.StatusCode
	// Err is why an attempt was refused or a connection closed; nil for
	// EventAuthenticated and EventRefreshed. It wraps a sentinel error
	// of this package (ErrInvalid, ErrRevoked, ErrRateLimited, …).
	Err error
}

// emit hands e to the Events hook, if any. A panicking hook is contained:
// logging must never take a connection down.
func (o *Options) emit(ctx context.Context, e Event) {
	if o.Events == nil {
		return
	}
	if e.Strategy == "" {
		e.Strategy = o.strategy
	}
	defer func() { recover() }()
	o.Events(ctx, e)
}

// emitRefusal reports a refused attempt from addr; subject is empty
// unless the connection was authenticated before.
func (o *Options) emitRefusal(ctx context.Context, addr netip.Addr, subject string, e *Error) {
	kind := EventRefused
	if errors.Is(e.Err, ErrRateLimited) {
		kind = EventRateLimited
	}
	code := e.Code
	if e.Status != 0 {
		code = 0 // not sent: the refusal was an HTTP status
	}
	o.emit(ctx, Event{Kind: kind, Subject: subject, Addr: addr, Status: e.Status, Code: code, Err: e.Err})
}

// SlogEvents returns an Options.Events hook that logs each event to l:
// refusals and rate limits at Warn, the rest at Info, with the attributes
// strategy, subject, addr, status, code and err when set. A nil l means
// slog.Default().
func SlogEvents(l *slog.Logger) func(ctx context.Context, e Event) {
	return func(ctx context.Context, e Event) {
		lg := l
		if lg == nil {
			lg = slog.Default()
		}
		level := slog.LevelInfo
		if e.Kind == EventRefused || e.Kind == EventRateLimited {
			level = slog.LevelWarn
		}
		if !lg.Enabled(ctx, level) {
			return
		}
		attrs := make([]slog.Attr, 0, 6)
		if e.Strategy != "" {
			attrs = append(attrs, slog.String("strategy", e.Strategy))
		}
		if e.Subject != "" {
			attrs = append(attrs, slog.String("subject", e.Subject))
		}
		if e.Addr.IsValid() {
			attrs = append(attrs, slog.String("addr", e.Addr.String()))
		}
		if e.Status != 0 {
			attrs = append(attrs, slog.Int("status", e.Status))
		}
		if e.Code != 0 {
			attrs = append(attrs, slog.Int("code", int(e.Code)))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
		lg.LogAttrs(ctx, level, "wsauth: "+e.Kind.String(), attrs...)
	}
}

// Counters counts events by kind. Its Observe method is an Options.Events
// hook, and it is an expvar.Var:
//
//	var counts wsauth.Counters
//	expvar.Publish("wsauth", &counts)
//	opts := &wsauth.Options{Verifier: v, Events: counts.Observe}
//
// The zero value is ready to use and safe for concurrent use.
type Counters struct {
	n [numEventKinds]atomic.Int64
}

// Observe counts e.
func (c *Counters) Observe(_ context.Context, e Event) {
	if e.Kind > 0 && int(e.Kind) < len(c.n) {
		c.n[e.Kind].Add(1)
	}
}

// Count returns how many events of kind k were observed.
func (c *Counters) Count(k EventKind) int64 {
	if k > 0 && int(k) < len(c.n) {
		return c.n[k].Load()
	}
	return 0
}

// String returns the counts as a JSON object keyed by kind, such as
// {"authenticated":3,"refused":1,…}, as expvar.Var asks.
func (c *Counters) String() string {
	m := make(map[string]int64, numEventKinds-1)
	for k := EventKind(1); k < numEventKinds; k++ {
		m[k.String()] = c.Count(k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}
