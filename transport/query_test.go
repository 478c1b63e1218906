package transport

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestFromQuery(t *testing.T) {
	tests := []struct {
		name  string
		query string
		param string
		want  string
		err   error
	}{
		{"ticket", "ticket=" + secret, "", secret, nil},
		{"among others", "room=a&ticket=" + secret + "&x=1", "", secret, nil},
		{"escaped", "ticket=" + url.QueryEscape(secret+"+/=") + "&a", "", secret + "+/=", nil},
		{"escaped name", "%74icket=" + secret, "", secret, nil},
		{"custom name", "t=" + secret, "t", secret, nil},
		{"custom name ignores ticket", "ticket=" + secret, "t", "", ErrNoCredential},
		{"no query", "", "", "", ErrNoCredential},
		{"missing", "room=" + secret, "", "", ErrNoCredential},
		{"empty", "ticket=", "", "", ErrNoCredential},
		{"bare", "ticket", "", "", ErrNoCredential},
		{"case matters", "Ticket=" + secret, "", "", ErrNoCredential},
		{"twice", "ticket=" + secret + "&ticket=" + secret, "", "", ErrMalformed},
		{"twice one empty", "ticket=&ticket=" + secret, "", "", ErrMalformed},
		{"bad escape", "ticket=" + secret + "%zz", "", "", ErrMalformed},
		{"bad escape elsewhere", "a=%g0&ticket=" + secret, "", "", ErrMalformed},
		{"semicolon", "a=1;ticket=" + secret, "", "", ErrMalformed},
		{"space in value", "ticket=" + secret + "+x", "", "", ErrMalformed},
		{"nul in value", "ticket=" + secret + "%00", "", "", ErrMalformed},
		{"too long value", "ticket=" + secret + strings.Repeat("a", MaxCredentialLen), "", "", ErrMalformed},
		{"10KB query", "ticket=" + secret + "&pad=" + strings.Repeat("a", 10<<10), "", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws", nil)
			r.URL.RawQuery = tt.query
			got, err := FromQuery(r, tt.param)
			wantErr(t, err, tt.err)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFromQueryNilURL(t *testing.T) {
	r := httptest.NewRequest("GET", "/ws", nil)
	r.URL = nil
	wantErr(t, func() error { _, err := FromQuery(r, ""); return err }(), ErrNoCredential)
}

func TestWithQuery(t *testing.T) {
	tests := []struct {
		name, url, param, cred, want string
	}{
		{"plain", "wss://h/ws", "", "T", "wss://h/ws?ticket=T"},
		{"keeps order", "wss://h/ws?z=1&a=2", "", "T", "wss://h/ws?z=1&a=2&ticket=T"},
		{"replaces", "wss://h/ws?ticket=old&a=%20b&ticket=older", "", "T", "wss://h/ws?a=%20b&ticket=T"},
		{"replaces escaped name", "wss://h/ws?%74icket=old", "", "T", "wss://h/ws?ticket=T"},
		{"escapes", "ws://h:8/p", "", "a+b/c=", "ws://h:8/p?ticket=a%2Bb%2Fc%3D"},
		{"custom name", "ws://h/?ticket=x", "tk", "T", "ws://h/?ticket=x&tk=T"},
		{"fragment", "ws://h/p?a=1#frag", "", "T", "ws://h/p?a=1&ticket=T#frag"},
		{"empty query", "ws://h/p?", "", "T", "ws://h/p?ticket=T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithQuery(tt.url, tt.param, tt.cred)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			// Round trip through the server side.
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.URL = u
			back, err := FromQuery(r, tt.param)
			if err != nil || back != tt.cred {
				t.Errorf("FromQuery = %q, %v", back, err)
			}
		})
	}
}

func TestWithQueryErrors(t *testing.T) {
	for _, tt := range []struct {
		url, cred string
		err       error
	}{
		{"ws://h/", "", ErrNoCredential},
		{"ws://h/", secret + " ", ErrMalformed},
		{"ws://h/", strings.Repeat("a", MaxCredentialLen+1), ErrMalformed},
		// Valid, but tripled by escaping past what FromQuery reads.
		{"ws://h/", strings.Repeat("[", MaxCredentialLen), ErrMalformed},
		{"ws://h/?pad=" + strings.Repeat("p", MaxQueryLen), secret, ErrMalformed},
	} {
		_, err := WithQuery(tt.url, "", tt.cred)
		wantErr(t, err, tt.err)
	}
	if _, err := WithQuery("ws://h/%zz", "", secret); err == nil {
		t.Error("WithQuery accepted an unparsable URL")
	} else {
		leakFree(t, err)
	}
}
