package transport

import (
	"net/http"
	"strings"
	"testing"
)

func TestFromAuthorization(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		cred  string
		err   error
	}{
		{"bearer", []string{"Bearer " + secret}, secret, nil},
		{"scheme case", []string{"bEARER " + jwt}, jwt, nil},
		{"none", nil, "", ErrNoCredential},
		{"empty credential", []string{"Bearer "}, "", ErrNoCredential},
		{"basic", []string{"Basic " + secret}, "", ErrMalformed},
		{"no scheme", []string{secret}, "", ErrMalformed},
		{"two spaces", []string{"Bearer  " + secret}, "", ErrMalformed},
		{"two headers", []string{"Bearer " + secret, "Bearer x"}, "", ErrMalformed},
		{"too long", []string{"Bearer " + secret + strings.Repeat("k", MaxCredentialLen)}, "", ErrMalformed},
		{"bad byte", []string{"Bearer " + secret + "\""}, "", ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := FromAuthorization(http.Header{"Authorization": tt.lines})
			wantErr(t, err, tt.err)
			if cred != tt.cred {
				t.Errorf("credential %.20q, want %.20q", cred, tt.cred)
			}
		})
	}
}

func TestFromCookie(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cookie string
		cred   string
		err    error
	}{
		{"one", "theme=dark; session=" + secret, secret, nil},
		{"none", "theme=dark", "", ErrNoCredential},
		{"empty", "session=", "", ErrNoCredential},
		{"twice", "session=" + secret + "; session=x", "", ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Cookie", tt.cookie)
			cred, err := FromCookie(r, "session")
			wantErr(t, err, tt.err)
			if cred != tt.cred {
				t.Errorf("credential %.20q, want %.20q", cred, tt.cred)
			}
		})
	}
}
