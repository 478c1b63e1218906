package wire

import (
	"encoding/json"
	"testing"
)

// BenchmarkParseControl parses a first-message auth frame, whose type
// is read without a copy: the token is its one allocation.
func BenchmarkParseControl(b *testing.B) {
	frame := []byte(`{"type":"auth","token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseControl(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// TestControlTypeReadsAsEncodingJSON: the type's short path and
// encoding/json agree on every kind of JSON value.
func TestControlTypeReadsAsEncodingJSON(t *testing.T) {
	for _, val := range []string{
		`"auth"`, `"refresh"`, `"other"`, `""`, `"au\u0074h"`, `"a\"b"`,
		"\"a\xffb\"", `"é"`, `1`, `null`, `{"a":1}`, `["auth"]`, `true`,
	} {
		var want string
		wantOK := json.Unmarshal([]byte(val), &want) == nil && val[0] == '"'
		got, ok := controlType([]byte(val))
		if ok != wantOK || got != want {
			t.Errorf("controlType(%s) = %q, %v; encoding/json reads %q, %v", val, got, ok, want, wantOK)
		}
	}
}
