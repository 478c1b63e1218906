package ticket_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsauth/wsauth/ticket"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestNewID(t *testing.T) {
	id, key := ticket.NewID()
	if len(id) != ticket.IDLen || ticket.IDLen != 43 {
		t.Fatalf("len(id) = %d, IDLen = %d; want 43", len(id), ticket.IDLen)
	}
	for i, c := range id {
		if !strings.ContainsRune(b64url, c) {
			t.Fatalf("id[%d] = %q is not base64url", i, c)
		}
	}
	got, err := ticket.KeyOf(id)
	if err != nil {
		t.Fatalf("KeyOf(NewID()): %v", err)
	}
	if got != key {
		t.Fatalf("KeyOf(id) = %v, NewID key = %v", got, key)
	}
	if key == (ticket.Key{}) {
		t.Fatal("zero key")
	}
	if s := key.String(); len(s) != 64 || strings.Contains(s, id) {
		t.Fatalf("Key.String() = %q", s)
	}
}

func TestNewIDUnique(t *testing.T) {
	const n = 10000
	ids := make(map[string]bool, n)
	keys := make(map[ticket.Key]bool, n)
	for range n {
		id, key := ticket.NewID()
		if ids[id] || keys[key] {
			t.Fatalf("duplicate id or key after %d", len(ids))
		}
		ids[id], keys[key] = true, true
	}
}

// nonCanonical returns id with its last character changed so that the unused
// low bits are set: same bytes under lax decoding, refused under strict.
func nonCanonical(id string) string {
	i := strings.IndexByte(b64url, id[len(id)-1])
	return id[:len(id)-1] + string(b64url[i|1])
}

func malformedIDs() map[string]string {
	id, _ := ticket.NewID()
	return map[string]string{
		"empty":         "",
		"len 42":        id[:42],
		"len 44":        id + "A",
		"plus":          "+" + id[1:],
		"slash":         id[:10] + "/" + id[11:],
		"padding":       id[:42] + "=",
		"padded 44":     id + "=",
		"space":         id[:20] + " " + id[21:],
		"trailing nl":   id[:42] + "\n",
		"inner cr":      id[:5] + "\r" + id[6:],
		"nul":           id[:42] + "\x00",
		"non-ascii":     id[:41] + "é",
		"10 KB":         strings.Repeat("A", 10<<10),
		"non-canonical": nonCanonical(id),
		"std alphabet":  strings.Repeat("+", 42) + "A",
	}
}

func TestKeyOfMalformed(t *testing.T) {
	for name, id := range malformedIDs() {
		t.Run(name, func(t *testing.T) {
			key, err := ticket.KeyOf(id)
			if !errors.Is(err, ticket.ErrMalformed) {
				t.Fatalf("KeyOf: err = %v, want ErrMalformed", err)
			}
			if key != (ticket.Key{}) {
				t.Fatal("non-zero key with error")
			}
		})
	}
}

func TestKeyOfValidEdges(t *testing.T) {
	for _, id := range []string{
		strings.Repeat("A", 43),
		strings.Repeat("_", 42) + "w", // 'w' = 48: low bits clear
		strings.Repeat("-", 42) + "E",
	} {
		if _, err := ticket.KeyOf(id); err != nil {
			t.Errorf("KeyOf(%q) = %v, want success", id, err)
		}
	}
	if _, err := ticket.KeyOf(strings.Repeat("_", 43)); err == nil {
		t.Error("KeyOf accepted '_' as last char (low bits set)")
	}
}

// A malformed ID is refused before any store lookup.
func TestRedeemMalformedSkipsStore(t *testing.T) {
	st := newMapStore()
	rd := &ticket.Redeemer{Store: st}
	for name, id := range malformedIDs() {
		_, err := rd.Redeem(context.Background(), id, netip.MustParseAddr("127.0.0.1"), "")
		if !errors.Is(err, ticket.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if n := st.take.Load(); n != 0 {
		t.Fatalf("Take called %d times for malformed IDs", n)
	}
	// Control: a well-formed ID does reach the store.
	id, _ := ticket.NewID()
	if _, err := rd.Redeem(context.Background(), id, netip.Addr{}, ""); !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("unknown id: err = %v, want ErrNotFound", err)
	}
	if n := st.take.Load(); n != 1 {
		t.Fatalf("Take called %d times, want 1", n)
	}
}
