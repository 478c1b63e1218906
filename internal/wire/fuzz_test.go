package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
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

func checkKnown(t *testing.T, b []byte, parse func([]byte, Credential) ([]byte, []byte, bool, error)) {
	t.Helper()
	tok1, data1, same1, err1 := parse(b, Credential{})
	if same1 {
		t.Fatalf("the zero Credential reported as the token")
	}
	cands := []string{"a", "abc", "a.b.c"}
	if tok := string(tok1); tok != "" {
		cands = append(cands, tok, tok[:len(tok)/2], tok+"x")
	}
	for _, c := range cands {
		k, err := NewCredential(c)
		if err != nil {
			continue
		}
		tok2, data2, same2, err2 := parse(b, k)
		if !bytes.Equal(tok1, tok2) || !bytes.Equal(data1, data2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("known %q: (%q, %q, %v), without: (%q, %q, %v)", c, tok2, data2, err2, tok1, data1, err1)
		}
		if want := err2 == nil && string(tok2) == c; same2 != want {
			t.Fatalf("known %q, token %q: same %v, want %v", c, tok2, same2, want)
		}
	}
}

// FuzzScanValue holds scanValue to json.Valid: a value, with only
// whitespace around it, is valid for one exactly when it is for the other.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{`0`, `-1.5e+3`, `"a\u00e9"`, `{"a":[1,{"b":null}],"c":true}`, `[]`, `{}`, ` [ 1 , 2 ] `, `01`, `1.`, `[1,]`, `{"a"}`, `tru`, `nul`, `"\x"`, `[[[[[[[[[[]]]]]]]]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := skipWS(b, 0)
		end, ok := scanValue(b, i)
		got := ok && skipWS(b, end) == len(b)
		if want := json.Valid(b); got != want {
			t.Fatalf("scanValue %v (end %d), json.Valid %v", got, end, want)
		}
		v, vok := Value(b)
		if vok != got || vok && !bytes.Equal(v, bytes.Trim(b, " \t\r\n")) {
			t.Fatalf("Value = %q, %v; scanValue %v", v, vok, got)
		}
	})
}

func TestScanValueDepth(t *testing.T) {
	for _, n := range []int{maxValueDepth, maxValueDepth + 1} {
		b := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		end, ok := scanValue(b, 0)
		if want := n <= maxValueDepth; ok != want || ok && end != len(b) {
			t.Errorf("depth %d: ok %v end %d, want ok %v", n, ok, end, want)
		}
	}
}
