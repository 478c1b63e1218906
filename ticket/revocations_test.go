package ticket_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/wsauth/wsauth/ticket"
)

func TestRefuses(t *testing.T) {
	since := time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)
	revoked := since.Add(time.Hour)
	for _, c := range []struct {
		name     string
		st       ticket.Status
		issuedAt time.Time
		want     bool
	}{
		{"nothing known", ticket.Status{Since: since}, since.Add(time.Minute), false},
		{"issued at Since", ticket.Status{Since: since}, since, false},
		{"issued before Since", ticket.Status{Since: since}, since.Add(-time.Nanosecond), true},
		{"zero Since", ticket.Status{}, since, false},
		{"unknown issue time", ticket.Status{Since: since}, time.Time{}, true},
		{"unknown issue time, zero Since", ticket.Status{}, time.Time{}, true},
		{"denied", ticket.Status{Denied: true, Since: since}, since.Add(time.Minute), true},
		{"denied, issued after a subject revocation", ticket.Status{Denied: true, SubjectRevoked: revoked, Since: since}, revoked.Add(time.Hour), true},
		{"issued before the subject revocation", ticket.Status{SubjectRevoked: revoked, Since: since}, revoked.Add(-time.Minute), true},
		{"issued at the subject revocation", ticket.Status{SubjectRevoked: revoked, Since: since}, revoked, true},
		{"issued after the subject revocation", ticket.Status{SubjectRevoked: revoked, Since: since}, revoked.Add(time.Nanosecond), false},
		// A JWT's iat of whole seconds, in the second of the revocation.
		{"iat in the second of the revocation", ticket.Status{SubjectRevoked: revoked.Add(300 * time.Millisecond), Since: since}, revoked, true},
		{"iat in the next second", ticket.Status{SubjectRevoked: revoked.Add(300 * time.Millisecond), Since: since}, revoked.Add(time.Second), false},
		// Times compare as instants, whatever their location.
		{"another location", ticket.Status{SubjectRevoked: revoked, Since: since}, revoked.In(time.FixedZone("UTC+1", 3600)), true},
	} {
		if got := c.st.Refuses(c.issuedAt); got != c.want {
			t.Errorf("%s: %+v.Refuses(%v) = %v, want %v", c.name, c.st, c.issuedAt, got, c.want)
		}
	}
}

func TestDenyKey(t *testing.T) {
	if got, want := ticket.DenyKey("jti-1"), ticket.Key(sha256.Sum256([]byte("jti-1"))); got != want {
		t.Fatalf("DenyKey = %v, want the SHA-256 %v", got, want)
	}
	if ticket.DenyKey("jti-1") == ticket.DenyKey("jti-2") {
		t.Fatal("two IDs share a key")
	}
}
