package wsauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// EventKind says what happened to an attempt or a connection. Its values
// are stable strings, fit for a metrics label.
type EventKind string

// Kinds of Event.
const (
	// EventAuthenticated: a connection (or a request passed on by
	// Middleware) was authenticated, authorized and registered; it goes
	// out before the client is told (the 101, auth_ok). Every one is
	// followed by exactly one EventClosed for the same connection, even
	// when the client is gone before it hears of its success.
	EventAuthenticated EventKind = "authenticated"
	// EventRefused: an attempt, or a later credential on a connection,
	// was refused; Reason says why.
	EventRefused EventKind = "refused"
	// EventRefreshed: a connection's principal was replaced by a later
	// credential (a refresh frame, a per-message token with a later exp).
	EventRefreshed EventKind = "refreshed"
	// EventClosed: an authenticated connection ended; Reason says why,
	// Code with what close code, Duration after how long.
	EventClosed EventKind = "closed"
)

// Event is something worth logging or counting. It never holds a
// credential.
//
// Reason is a stable string, fit for a metrics label. For EventRefused it
// is one of malformed, too_large, subprotocol, no_credential, invalid,
// expired, revoked, forbidden, subject_changed, origin, timeout,
// rate_limited, unavailable, internal, upgrade. For EventClosed it is closed (the
// handler closed it), gone (the peer left or a read or write failed),
// expired, revoked, or the refusal reason of a later credential that ended
// it.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Reason is the stable label of why, as listed above; empty for
	// EventAuthenticated and EventRefreshed.
	Reason string
	// Subject is who the connection is authenticated as; empty when an
	// attempt was refused before that was known.
	Subject string
	// Addr is the client address (after trusted proxies), if known.
	Addr netip.Addr
	// Code is what the client was sent: an HTTP status for an attempt
	// refused before the upgrade, otherwise a close code; for a connection
	// the peer closed, the code it sent (1006 if none); 1006 for a
	// Middleware connection wsauth ended (it cuts the TCP connection).
	// Zero when nothing was sent yet (EventAuthenticated, EventRefreshed, a
	// per-message frame dropped), or when the WebSocket library answered
	// a failed upgrade itself.
	Code int
	// Duration is how long a closed connection lived.
	Duration time.Duration
	// Err is why an attempt was refused: it wraps one of this package's
	// errors and never holds a credential. Nil otherwise.
	Err error
}

// emitAuthenticated reports that l was accepted and registered. Not
// inlined: its Event would sit in Accept's frame, under the 101.
//
//go:noinline
func (a *Authenticator) emitAuthenticated(l *life) {
	a.emit(l.values(), Event{Kind: EventAuthenticated, Subject: l.principal.Load().Subject, Addr: l.addr})
}

// emit hands e to the Events hook. A panicking hook must not take a
// connection down; it is reported once through log/slog, not swallowed.
func (a *Authenticator) emit(ctx context.Context, e Event) {
	if a.events == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			a.hookPanic.Do(func() {
				slog.Default().ErrorContext(ctx, "wsauth: Options.Events panicked; later panics are not logged",
					slog.String("kind", string(e.Kind)), slog.String("panic", fmt.Sprint(v)))
			})
		}
	}()
	a.events(ctx, e)
}

// SlogEvents returns an Options.Events hook that logs each event to l
// (nil means slog.Default()): refusals at Warn, the rest at Info, with the
// attributes reason, subject, addr, code, duration and err when set.
func SlogEvents(l *slog.Logger) func(ctx context.Context, e Event) {
	return func(ctx context.Context, e Event) {
		lg := l
		if lg == nil {
			lg = slog.Default()
		}
		level := slog.LevelInfo
		if e.Kind == EventRefused {
			level = slog.LevelWarn
		}
		if !lg.Enabled(ctx, level) {
			return
		}
		attrs := make([]slog.Attr, 0, 6)
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		if e.Subject != "" {
			attrs = append(attrs, slog.String("subject", e.Subject))
		}
		if e.Addr.IsValid() {
			attrs = append(attrs, slog.String("addr", e.Addr.String()))
		}
		if e.Code != 0 {
			attrs = append(attrs, slog.Int("code", e.Code))
		}
		if e.Duration != 0 {
			attrs = append(attrs, slog.Duration("duration", e.Duration))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
		lg.LogAttrs(ctx, level, "wsauth: "+string(e.Kind), attrs...)
	}
}
