package wire

import (
	"bytes"
	"fmt"
	"testing"
)

// The known-credential parsers must give exactly what parsing without a
// known credential gives, for the token the frame carries, a prefix of it,
// a longer one and unrelated ones: the fast path may never accept a frame
// the full check refuses, nor the other way round.

func FuzzParseEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		checkKnown(t, b, ParseEnvelope)
	})
}

func FuzzParseBinaryEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		checkKnown(t, b, ParseBinaryEnvelope)
	})
}

func checkKnown(t *testing.T, b []byte, parse func([]byte, Credential) ([]byte, []byte, error)) {
	t.Helper()
	tok1, data1, err1 := parse(b, Credential{})
	cands := []string{"a", "abc", "a.b.c"}
	if tok := string(tok1); tok != "" {
		cands = append(cands, tok, tok[:len(tok)/2], tok+"x")
	}
	for _, c := range cands {
		k, err := NewCredential(c)
		if err != nil {
			continue
		}
		tok2, data2, err2 := parse(b, k)
		if !bytes.Equal(tok1, tok2) || !bytes.Equal(data1, data2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("known %q: (%q, %q, %v), without: (%q, %q, %v)", c, tok2, data2, err2, tok1, data1, err1)
		}
	}
}
