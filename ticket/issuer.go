package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DefaultTTL is how long a ticket lives when no TTL is configured.
const DefaultTTL = 30 * time.Second

// maxIssueBody bounds the request body an Identify function can read.
const maxIssueBody = 64 << 10

// ErrForbidden is what an Identify function wraps to make the Issuer answer
// 403 (the caller is known but may not have a ticket) instead of 401.
var ErrForbidden = errors.New("ticket: forbidden")

// Issuer mints tickets. As an http.Handler it answers POST requests from
// already authenticated callers (a session cookie, a bearer header: whatever
// Identify understands) with
//
//	{"ticket":"<43 characters>","expires_at":"<RFC 3339>"}
//
// and Cache-Control: no-store. Other methods get 405. Cross-origin browser
// requests are refused with 403 (net/http's CrossOriginProtection), so a
// foreign page cannot mint a ticket with the user's cookies.
type Issuer struct {
	// Store receives the tickets. It is required.
	Store Store

	// Identify tells who the caller of ServeHTTP is and fills the ticket's
	// Subject, and optionally Scope and Metadata; the Issuer sets ClientIP
	// and the times. It may read the request body (at most 64 KiB). An
	// error means 401, or 403 if it wraps ErrForbidden. Required for
	// ServeHTTP.
	Identify func(r *http.Request) (Ticket, error)

	// TTL is how long tickets live; zero means DefaultTTL.
	TTL time.Duration

	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	// ClientIP finds the caller's address, which the ticket is bound to.
	// Nil means RemoteAddr alone, never forwarding headers.
	ClientIP *ClientIP

	// CrossOrigin checks requests for cross-site forgery. Nil means a
	// zero http.CrossOriginProtection: no trusted cross origins.
	CrossOrigin *http.CrossOriginProtection
}

// Issue stores t as a new ticket and returns its ID and the ticket as
// stored. Zero IssuedAt and ExpiresAt are set from Now and TTL. A store
// error is returned wrapped in ErrStoreUnavailable.
func (iss *Issuer) Issue(ctx context.Context, t Ticket) (string, Ticket, error) {
	now := time.Now
	if iss.Now != nil {
		now = iss.Now
	}
	n := now() // one reading, so a defaulted ticket's TTL is exactly TTL
	if t.IssuedAt.IsZero() {
		t.IssuedAt = n
	}
	if t.ExpiresAt.IsZero() {
		ttl := iss.TTL
		if ttl <= 0 {
			ttl = DefaultTTL
		}
		t.ExpiresAt = t.IssuedAt.Add(ttl)
	}
	ttl := t.ExpiresAt.Sub(n)
	if ttl <= 0 {
		return "", Ticket{}, fmt.Errorf("ticket: issue: %w", ErrExpired)
	}
	id, key := NewID()
	if err := iss.Store.Put(ctx, key, t, ttl); err != nil {
		if !errors.Is(err, ErrStoreUnavailable) {
			err = fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
		}
		return "", Ticket{}, fmt.Errorf("ticket: issue: %w", err)
	}
	return id, t, nil
}

// defaultCrossOrigin is the protection of an Issuer without one: the
// zero value, which Check only reads.
var defaultCrossOrigin http.CrossOriginProtection

// issueResponse is the JSON body of a successful ServeHTTP.
type issueResponse struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ServeHTTP implements http.Handler; see Issuer.
func (iss *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		h.Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	cop := iss.CrossOrigin
	if cop == nil {
		cop = &defaultCrossOrigin
	}
	if err := cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	ip, err := iss.ClientIP.Of(r)
	if err != nil {
		http.Error(w, "cannot determine client address", http.StatusBadRequest)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxIssueBody)
	t, err := iss.Identify(r)
	if err != nil {
		if errors.Is(err, ErrForbidden) {
			http.Error(w, "forbidden", http.StatusForbidden)
		} else {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}
		return
	}
	if t.Subject == "" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	t.ClientIP = ip
	t.IssuedAt, t.ExpiresAt = time.Time{}, time.Time{}
	id, t, err := iss.Issue(r.Context(), t)
	if err != nil {
		http.Error(w, "ticket store unavailable", http.StatusServiceUnavailable)
		return
	}
	h.Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(issueResponse{Ticket: id, ExpiresAt: t.ExpiresAt.UTC()})
}
