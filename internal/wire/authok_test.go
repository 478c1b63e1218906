package wire

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

// authOKWire is the frame as encoding/json sees it.
type authOKWire struct {
	Type      string `json:"type"`
	Subject   string `json:"subject"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// FuzzAppendAuthOK holds AppendAuthOK to json.Marshal, byte for byte, and
// ParseAuthOK to reading back what it wrote.
func FuzzAppendAuthOK(f *testing.F) {
	for _, s := range []string{"alice", "", `"<a&b>"\`, "tab\tnl\ncr\r\b\f\x00\x1f", "caf\xc3\xa9", "bad\xff\xc3", "\u2028\u2029", "日本"} {
		f.Add(s, int64(1893456000_500000000))
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, subject string, nanos int64) {
		var exp time.Time
		if nanos != 0 {
			exp = time.Unix(0, nanos).In(time.FixedZone("x", 3600))
		}
		got := AppendAuthOK([]byte("prefix"), subject, exp)
		if string(got[:6]) != "prefix" {
			t.Fatalf("prefix lost: %q", got)
		}
		got = got[6:]
		w := authOKWire{Type: "auth_ok", Subject: subject}
		if !exp.IsZero() {
			w.ExpiresAt = exp.UTC().Format(time.RFC3339Nano)
		}
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("AppendAuthOK = %s, json.Marshal = %s", got, want)
		}
		typ, sub, e, err := ParseAuthOK(got)
		if err != nil || typ != "auth_ok" || sub != w.Subject && utf8.ValidString(subject) || e != w.ExpiresAt {
			t.Fatalf("ParseAuthOK(%s) = %q, %q, %q, %v", got, typ, sub, e, err)
		}
		var back authOKWire
		if err := json.Unmarshal(got, &back); err != nil || back.Subject != sub {
			t.Fatalf("json.Unmarshal subject %q, ParseAuthOK %q (%v)", back.Subject, sub, err)
		}
	})
}

// FuzzParseAuthOK holds ParseAuthOK to encoding/json: what it accepts is
// valid JSON, and each of its members decodes as encoding/json decodes it.
func FuzzParseAuthOK(f *testing.F) {
	for _, s := range []string{
		`{"type":"auth_ok","subject":"alice","expires_at":"2030-01-02T02:04:05Z"}`,
		`{"type":"auth_ok","subject":"\"\u003cx\u003e\""}`,
		` { "subject" : "a\ud83d\ude00" , "x" : [1, {"y": null}] } `,
		`{"type":"auth_ok","type":"auth_ok"}`,
		`{"type":1}`, `{"type":"a"`, `{}`, `[]`, `{"Type":"auth_ok"}`, "{\"subject\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, sub, exp, err := ParseAuthOK(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("json: %v", err)
		}
		for key, got := range map[string]string{"type": typ, "subject": sub, "expires_at": exp} {
			raw, ok := m[key]
			if !ok {
				if got != "" {
					t.Fatalf("%s = %q, absent for json", key, got)
				}
				continue
			}
			var want string
			if err := json.Unmarshal(raw, &want); err != nil || got != want {
				t.Fatalf("%s = %q, json %q (%v)", key, got, want, err)
			}
		}
	})
}
