package transport

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseControl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Control
		err  error
	}{
		{"auth", `{"type":"auth","token":"` + secret + `"}`, Control{TypeAuth, secret}, nil},
		{"refresh", `{"token":"` + secret + `","type":"refresh"}`, Control{TypeRefresh, secret}, nil},
		{"unknown members", `{"id":7,"type":"auth","meta":{"a":[1]},"token":"` + secret + `"}`, Control{TypeAuth, secret}, nil},
		{"escaped type", `{"type":"a\u0075th","token":"` + secret + `"}`, Control{TypeAuth, secret}, nil},
		{"escaped key", `{"\u0074ype":"auth","token":"` + secret + `"}`, Control{TypeAuth, secret}, nil},
		{"whitespace", "\n{ \"type\" : \"auth\" ,\t\"token\" : \"" + secret + "\" }\r\n", Control{TypeAuth, secret}, nil},
		{"jwt", `{"type":"auth","token":"` + jwt + `"}`, Control{TypeAuth, jwt}, nil},

		{"token missing", `{"type":"expiring"}`, Control{Type: TypeExpiring}, ErrNoCredential},
		{"token empty", `{"type":"auth","token":""}`, Control{Type: TypeAuth}, ErrNoCredential},
		{"empty", ``, Control{}, ErrMalformed},
		{"null", `null`, Control{}, ErrMalformed},
		{"array", `[{"type":"auth","token":"` + secret + `"}]`, Control{}, ErrMalformed},
		{"string", `"` + secret + `"`, Control{}, ErrMalformed},
		{"type missing", `{"token":"` + secret + `"}`, Control{}, ErrMalformed},
		{"type empty", `{"type":"","token":"` + secret + `"}`, Control{}, ErrMalformed},
		{"type number", `{"type":1,"token":"` + secret + `"}`, Control{}, ErrMalformed},
		{"type null", `{"type":null,"token":"` + secret + `"}`, Control{}, ErrMalformed},
		{"token number", `{"type":"auth","token":1}`, Control{}, ErrMalformed},
		{"token array", `{"type":"auth","token":["` + secret + `"]}`, Control{}, ErrMalformed},
		{"token escaped", `{"type":"auth","token":"\u0053` + secret + `"}`, Control{}, ErrMalformed},
		{"token invalid utf8", "{\"type\":\"auth\",\"token\":\"" + secret + "\xc3\x28\"}", Control{}, ErrMalformed},
		{"duplicate token", `{"type":"auth","token":"` + secret + `","token":"x"}`, Control{}, ErrMalformed},
		{"duplicate type", `{"type":"auth","type":"refresh","token":"` + secret + `"}`, Control{}, ErrMalformed},
		{"trailing garbage", `{"type":"auth","token":"` + secret + `"}]`, Control{}, ErrMalformed},
		{"unterminated", `{"type":"auth","token":"` + secret + `"`, Control{}, ErrMalformed},
		{"large frame", `{"type":"auth","token":"` + secret + `","pad":"` + strings.Repeat("p", 16<<10) + `"}`, Control{TypeAuth, secret}, nil},
		{"10KB token", `{"type":"auth","token":"` + secret + strings.Repeat("p", 10<<10) + `"}`, Control{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseControl([]byte(tt.in))
			wantErr(t, err, tt.err)
			if got != tt.want {
				t.Errorf("got %+.20v, want %+.20v", got, tt.want)
			}
			if err == nil && !json.Valid([]byte(tt.in)) {
				t.Errorf("accepted input json.Valid rejects")
			}
		})
	}
}

func TestAppendControl(t *testing.T) {
	got, err := AppendControl([]byte("x"), TypeAuth, secret)
	if err != nil {
		t.Fatal(err)
	}
	if want := `x{"type":"auth","token":"` + secret + `"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	c, err := ParseControl(got[1:])
	if err != nil || c != (Control{TypeAuth, secret}) {
		t.Fatalf("round trip = %+v, %v", c, err)
	}
	for _, bad := range []struct {
		typ, tok string
		err      error
	}{
		{"", secret, ErrMalformed},
		{`a"b`, secret, ErrMalformed},
		{"a b", secret, ErrMalformed},
		{TypeAuth, "", ErrNoCredential},
		{TypeAuth, secret + "\\", ErrMalformed},
		{TypeAuth, strings.Repeat("a", MaxCredentialLen+1), ErrMalformed},
	} {
		got, err := AppendControl(nil, bad.typ, bad.tok)
		wantErr(t, err, bad.err)
		if got != nil {
			t.Errorf("AppendControl(%q, %.10q) wrote %q on error", bad.typ, bad.tok, got)
		}
	}
}

func TestAuthOK(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		in   AuthOK
		want string
	}{
		{"with expiry", AuthOK{"alice", exp}, `{"type":"auth_ok","subject":"alice","expires_at":"2030-01-02T02:04:05Z"}`},
		{"sub-second", AuthOK{"bob", exp.Add(500 * time.Millisecond)}, `{"type":"auth_ok","subject":"bob","expires_at":"2030-01-02T02:04:05.5Z"}`},
		{"no expiry", AuthOK{Subject: "carol"}, `{"type":"auth_ok","subject":"carol"}`},
		{"escaping", AuthOK{Subject: `"<x>"`}, `{"type":"auth_ok","subject":"\"\u003cx\u003e\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("got %s, want %s", b, tt.want)
			}
			var back AuthOK
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Subject != tt.in.Subject || !back.ExpiresAt.Equal(tt.in.ExpiresAt) {
				t.Errorf("round trip = %+v, want %+v", back, tt.in)
			}
		})
	}
}

func TestAuthOKUnmarshalErrors(t *testing.T) {
	tests := []struct {
		in  string
		err error
	}{
		{`{"type":"error","subject":"a"}`, ErrUnexpectedReply},
		{`{"subject":"a"}`, ErrUnexpectedReply},
		{`{"type":"auth_ok","subject":"a","expires_at":"tomorrow"}`, ErrMalformed},
		{`{"type":"auth_ok","subject":"a","expires_at":12}`, ErrMalformed},
		{`{"type":"auth_ok"`, ErrMalformed},
		{`[]`, ErrMalformed},
	}
	for _, tt := range tests {
		var a AuthOK
		if err := a.UnmarshalJSON([]byte(tt.in)); !errors.Is(err, tt.err) {
			t.Errorf("UnmarshalJSON(%s) = %v, want %v", tt.in, err, tt.err)
		}
	}
}
