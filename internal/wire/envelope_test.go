package wire

import (
	"strings"
	"testing"
)

// BenchmarkParseEnvelope parses the frame of the per-frame benchmark: a
// JWT-sized token and a small object, with the token unknown (first
// sight) and known (every later frame of a per-message connection).
func BenchmarkParseEnvelope(b *testing.B) {
	tok := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + strings.Repeat("eyJzdWIiOiJ1c2VyLTEyMzQ1Njc4OTAi", 6) + ".c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2ln"
	frame := []byte(`{"token":"` + tok + `","data":{"text":"hello, world"}}`)
	known, err := NewCredential(tok)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		known Credential
	}{{"unknown", Credential{}}, {"known", known}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, _, _, err := ParseEnvelope(frame, c.known); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestKnownEnvelopeTakesTheClientShape: the frames the Go and JavaScript
// clients write take the short path; other spellings of the same envelope
// are left to the general parser, which accepts them.
func TestKnownEnvelopeTakesTheClientShape(t *testing.T) {
	known, err := NewCredential("a.b.c")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		frame string
		short bool
	}{
		{`{"token":"a.b.c","data":{"text":"hi"}}`, true},
		{`{"token":"a.b.c","data":[1, 2] }` + "\n", true},
		{`{"data":1,"token":"a.b.c"}`, false},
		{`{ "token":"a.b.c","data":1}`, false},
		{`{"token":"a.b.c", "data":1}`, false},
	} {
		_, data, ok := knownEnvelope([]byte(c.frame), known.s)
		if ok != c.short {
			t.Errorf("%s: short path %v, want %v", c.frame, ok, c.short)
		}
		tok, data2, same, err := ParseEnvelope([]byte(c.frame), known)
		if err != nil || string(tok) != "a.b.c" || !same || ok && string(data) != string(data2) {
			t.Errorf("%s: ParseEnvelope = %q, %q, %v, %v", c.frame, tok, data2, same, err)
		}
	}
}
