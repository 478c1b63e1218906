package transport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/wsauth/wsauth/internal/wire"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The fuzz targets check invariants every parser shares: no panic, exactly
// one sentinel on failure, no credential-looking input in the error text,
// and a successful parse survives a trip through the matching builder.

// checkFuzzErr fails if err wraps neither or both sentinels, or if its text
// contains a run of 16 or more credential bytes from any of inputs. Error
// texts in this package are short words and numbers, so such a run could
// only have come from the input.
func checkFuzzErr(t *testing.T, err error, inputs ...[]byte) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ErrMalformed) == errors.Is(err, ErrNoCredential) {
		t.Fatalf("error wraps neither or both sentinels: %v", err)
	}
	msg := err.Error()
	for _, in := range inputs {
		for len(in) > 0 {
			n := wire.Span(in)
			if n >= 16 && strings.Contains(msg, string(in[:n])) {
				t.Fatalf("error text repeats input %q: %v", in[:n], err)
			}
			in = in[n:]
			if len(in) > 0 {
				in = in[1:]
			}
		}
	}
}

func FuzzFromQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest("GET", "/ws", nil)
		r.URL.RawQuery = rawQuery
		cred, err := FromQuery(r, "")
		unescaped, _ := url.QueryUnescape(rawQuery)
		checkFuzzErr(t, err, []byte(rawQuery), []byte(unescaped))
		if err != nil {
			return
		}
		if wire.CheckCredential("query", cred) != nil {
			t.Fatalf("accepted invalid credential %q", cred)
		}
		// Replace the ticket within the same query where it forms a URL.
		base := "wss://h/ws?" + rawQuery
		if _, err := url.Parse(base); err != nil {
			base = "wss://h/ws"
		}
		u, err := WithQuery(base, "", cred)
		if err != nil {
			// Re-escaping may lengthen the query past what FromQuery
			// takes; WithQuery must then refuse rather than build it.
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("WithQuery: %v", err)
			}
			return
		}
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		r.URL = pu
		back, err := FromQuery(r, "")
		if err != nil || back != cred {
			t.Fatalf("round trip = %q, %v; want %q", back, err, cred)
		}
	})
}

func FuzzFromSubprotocol(f *testing.F) {
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		h := http.Header{}
		h.Add("Sec-WebSocket-Protocol", line1)
		h.Add("Sec-WebSocket-Protocol", line2)
		cred, offered, err := FromSubprotocol(h)
		inputs := [][]byte{[]byte(line1), []byte(line2)}
		for _, l := range []string{line1, line2} {
			for e := range strings.SplitSeq(l, ",") {
				e = strings.Trim(e, " \t")
				if isCredentialEntry(e) {
					d, _ := base64.RawURLEncoding.DecodeString(e[len(SubprotocolPrefix):])
					inputs = append(inputs, d)
				}
			}
		}
		checkFuzzErr(t, err, inputs...)
		// Also on errors: a server echoes from offered while it refuses.
		if slices.ContainsFunc(offered, isCredentialEntry) {
			t.Fatalf("offered includes a credential entry: %q", offered)
		}
		if err != nil {
			return
		}
		want := offered
		if len(want) == 0 {
			want = []string{DefaultSubprotocol}
		}
		h2 := http.Header{"Sec-Websocket-Protocol": {strings.Join(SubprotocolOffer(cred, offered...), ", ")}}
		cred2, offered2, err := FromSubprotocol(h2)
		if err != nil || cred2 != cred || !slices.Equal(offered2, want) {
			t.Fatalf("round trip = %q, %q, %v; want %q, %q", cred2, offered2, err, cred, want)
		}
	})
}

func FuzzParseControl(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseControl(b)
		checkFuzzErr(t, err, b)
		if err == nil && !json.Valid(b) {
			t.Fatalf("accepted invalid JSON")
		}
		if !json.Valid(b) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("invalid JSON gave %v", err)
		}
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			t.Fatalf("encoding/json cannot read an accepted frame")
		}
		var typ, tok string
		if json.Unmarshal(m["type"], &typ) != nil || typ != c.Type ||
			json.Unmarshal(m["token"], &tok) != nil || tok != c.Token {
			t.Fatalf("encoding/json reads %s, we read %+v", b, c)
		}
		if strings.ContainsAny(c.Type, "\"\\") || strings.ContainsFunc(c.Type, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return // valid, but AppendControl only writes plain types
		}
		out, err := AppendControl(nil, c.Type, c.Token)
		if err != nil {
			t.Fatalf("AppendControl: %v", err)
		}
		if c2, err := ParseControl(out); err != nil || c2 != c {
			t.Fatalf("round trip = %+v, %v; want %+v", c2, err, c)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, data, err := ParseEnvelope(b)
		checkFuzzErr(t, err, b)
		valid := json.Valid(b)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON")
		}
		if !valid && !errors.Is(err, ErrMalformed) {
			t.Fatalf("invalid JSON gave %v", err)
		}
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			t.Fatalf("encoding/json cannot read an accepted frame")
		}
		var tok2 string
		if json.Unmarshal(m["token"], &tok2) != nil || tok2 != tok || !bytes.Equal(m["data"], data) {
			t.Fatalf("encoding/json reads (%q, %s), we read (%q, %s)", tok2, m["data"], tok, data)
		}
		out, err := AppendEnvelope(nil, tok, data)
		if err != nil {
			t.Fatalf("AppendEnvelope: %v", err)
		}
		tok3, data3, err := ParseEnvelope(out)
		if err != nil || tok3 != tok || !bytes.Equal(data3, data) {
			t.Fatalf("round trip = (%q, %s, %v)", tok3, data3, err)
		}
	})
}

func FuzzParseBinaryEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, payload, err := ParseBinaryEnvelope(b)
		checkFuzzErr(t, err, b)
		if err != nil {
			return
		}
		// The format has one encoding per frame, so the builder must
		// reproduce the input exactly.
		out, err := AppendBinaryEnvelope(nil, tok, payload)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("round trip = %q, %v; want %q", out, err, b)
		}
	})
}

func FuzzFromAuthorization(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		cred, err := FromAuthorization(http.Header{"Authorization": {line}})
		checkFuzzErr(t, err, []byte(line))
		if err != nil {
			return
		}
		// The scheme is case-insensitive; the credential is the rest of
		// the line, as it is.
		if !strings.EqualFold(line[:7], "Bearer ") || line[7:] != cred {
			t.Fatalf("accepted %q as %q", line, cred)
		}
		if wire.CheckCredential("header", cred) != nil {
			t.Fatalf("accepted an invalid credential %q", cred)
		}
	})
}

func FuzzFromCookie(f *testing.F) {
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/ws", nil)
		r.Header.Set("Cookie", header)
		cred, err := FromCookie(r, "session")
		checkFuzzErr(t, err, []byte(header))
		if err == nil && wire.CheckCredential("cookie", cred) != nil {
			t.Fatalf("accepted an invalid credential %q", cred)
		}
	})
}
