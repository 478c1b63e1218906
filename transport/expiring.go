package transport

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Expiring is the server's notice {"type":"expiring","in":N} that the
// connection's credential runs out in N seconds (rounded up), sent so the
// client can refresh in time (Refresh, or a fresher token on its next
// frame in per-message mode).
type Expiring struct {
	In time.Duration // time left; encoded in whole seconds, rounded up
}

// MarshalJSON encodes e as an expiring frame.
func (e Expiring) MarshalJSON() ([]byte, error) {
	secs := max(int64((e.In+time.Second-1)/time.Second), 0)
	b := strconv.AppendInt([]byte(`{"type":"`+TypeExpiring+`","in":`), secs, 10)
	return append(b, '}'), nil
}

// UnmarshalJSON decodes an expiring frame. A frame whose type is not
// TypeExpiring is ErrUnexpectedReply; a missing or negative "in" is
// ErrMalformed.
func (e *Expiring) UnmarshalJSON(b []byte) error {
	var w struct {
		Type string `json:"type"`
		In   *int64 `json:"in"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("transport: expiring: invalid JSON: %w", ErrMalformed)
	}
	if w.Type != TypeExpiring {
		return fmt.Errorf("transport: expiring: frame type is not %s: %w", TypeExpiring, ErrUnexpectedReply)
	}
	if w.In == nil || *w.In < 0 || *w.In > int64(time.Duration(1<<63-1)/time.Second) {
		return fmt.Errorf("transport: expiring: missing or out-of-range in: %w", ErrMalformed)
	}
	e.In = time.Duration(*w.In) * time.Second
	return nil
}
