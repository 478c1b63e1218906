package transport

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// mutations returns in truncated at every offset and with each byte
// replaced by, and preceded by, bytes that break each carrier in a
// different place.
func mutations(in string) []string {
	out := []string{in, in + in, strings.Repeat(in, 300)}
	for i := 0; i <= len(in); i++ {
		out = append(out, in[:i])
		for _, b := range []string{" ", "\"", "\\", "\x00", "\xff", "{", ",", "=", "&", "%", "}"} {
			out = append(out, in[:i]+b+in[i:])
			if i < len(in) {
				out = append(out, in[:i]+b+in[i+1:])
			}
		}
	}
	return out
}

// TestErrorsNeverContainCredential feeds every parser broken variants of
// inputs that carry a recognisable secret, and checks no error repeats it.
func TestErrorsNeverContainCredential(t *testing.T) {
	mark := secret[:7] // survives mutations that break the secret's tail
	check := func(t *testing.T, input string, err error) {
		t.Helper()
		if err != nil && strings.Contains(err.Error(), mark) {
			t.Fatalf("error for input %q leaks the secret: %v", input, err)
		}
	}
	t.Run("FromQuery", func(t *testing.T) {
		for _, in := range mutations("room=a&ticket=" + secret) {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.RawQuery = in
			_, err := FromQuery(r, "")
			check(t, in, err)
		}
	})
	t.Run("FromSubprotocol", func(t *testing.T) {
		// Plain and encoded secret, so a leak of either form is caught.
		for _, line := range []string{
			"chat, " + SubprotocolPrefix + secret + "x",
			"chat, " + SubprotocolPrefix + base64.RawURLEncoding.EncodeToString([]byte(secret+secret)),
		} {
			for _, in := range mutations(line) {
				_, _, err := FromSubprotocol(http.Header{"Sec-Websocket-Protocol": {in, SubprotocolPrefix + "eA"}})
				check(t, in, err)
				_, _, err = FromSubprotocol(http.Header{"Sec-Websocket-Protocol": {in}})
				check(t, in, err)
			}
		}
	})
	t.Run("FromAuthorization", func(t *testing.T) {
		for _, in := range mutations("Bearer " + secret) {
			_, err := FromAuthorization(http.Header{"Authorization": {in}})
			check(t, in, err)
		}
	})
	t.Run("FromCookie", func(t *testing.T) {
		for _, in := range mutations("theme=dark; session=" + secret) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", in)
			_, err := FromCookie(r, "session")
			check(t, in, err)
		}
	})
	t.Run("ParseControl", func(t *testing.T) {
		for _, in := range mutations(`{"type":"auth","token":"` + secret + `"}`) {
			_, err := ParseControl([]byte(in))
			check(t, in, err)
		}
	})
	t.Run("ParseEnvelope", func(t *testing.T) {
		for _, in := range mutations(`{"token":"` + secret + `","data":{"s":"` + secret + `"}}`) {
			_, _, err := ParseEnvelope([]byte(in))
			check(t, in, err)
		}
	})
	t.Run("ParseBinaryEnvelope", func(t *testing.T) {
		for _, in := range mutations("\x00\x09" + secret + secret) {
			_, _, err := ParseBinaryEnvelope([]byte(in))
			check(t, in, err)
		}
	})
	t.Run("AuthOK", func(t *testing.T) {
		for _, in := range mutations(`{"type":"auth_ok","subject":"` + secret + `","expires_at":"` + secret + `"}`) {
			var a AuthOK
			check(t, in, a.UnmarshalJSON([]byte(in)))
		}
	})
	t.Run("builders", func(t *testing.T) {
		for _, tok := range mutations(secret) {
			_, err := AppendEnvelope(nil, tok, []byte(`{"x":"`+secret))
			check(t, tok, err)
			_, err = AppendBinaryEnvelope(nil, tok, nil)
			check(t, tok, err)
			_, err = AppendControl(nil, tok, tok)
			check(t, tok, err)
			_, err = WithQuery("ws://h/"+tok, "", tok)
			check(t, tok, err)
		}
	})
}
