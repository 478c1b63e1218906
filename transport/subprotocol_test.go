package transport

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestFromSubprotocol(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	entry := SubprotocolPrefix + enc([]byte(secret))
	tests := []struct {
		name    string
		lines   []string
		cred    string
		offered []string
		err     error
	}{
		{"app and credential", []string{"chat.v1, " + entry}, secret, []string{"chat.v1"}, nil},
		{"credential first", []string{entry + ",chat.v1,chat.v2"}, secret, []string{"chat.v1", "chat.v2"}, nil},
		{"only credential", []string{entry}, secret, nil, nil},
		{"multiple lines", []string{"a", entry, "b, c"}, secret, []string{"a", "b", "c"}, nil},
		{"spaces and tabs", []string{" \ta ,\t" + entry + " \t, b\t"}, secret, []string{"a", "b"}, nil},
		{"empty entries", []string{",a,, " + entry + ",", ""}, secret, []string{"a"}, nil},
		{"prefix any case", []string{"a, WSAuth.Bearer." + enc([]byte(secret))}, secret, []string{"a"}, nil},
		{"jwt", []string{"wsauth, " + SubprotocolPrefix + enc([]byte(jwt))}, jwt, []string{"wsauth"}, nil},
		{"max length", []string{SubprotocolPrefix + enc([]byte(strings.Repeat("k", MaxCredentialLen)))}, strings.Repeat("k", MaxCredentialLen), nil, nil},

		{"no header", nil, "", nil, ErrNoCredential},
		{"only apps", []string{"a, b"}, "", []string{"a", "b"}, ErrNoCredential},
		{"empty credential", []string{"a, " + SubprotocolPrefix}, "", []string{"a"}, ErrNoCredential},
		{"prefix without dot", []string{"a, wsauth.bearer" + enc([]byte(secret))}, "", []string{"a", "wsauth.bearer" + enc([]byte(secret))}, ErrNoCredential},
		{"two credentials", []string{entry + ", " + entry}, "", nil, ErrMalformed},
		{"two credentials two lines", []string{entry, SubprotocolPrefix + "eA"}, "", nil, ErrMalformed},
		{"padding", []string{SubprotocolPrefix + base64.URLEncoding.EncodeToString([]byte(secret+"x"))}, "", nil, ErrMalformed},
		{"std alphabet", []string{SubprotocolPrefix + base64.RawStdEncoding.EncodeToString([]byte(secret+"\xfb\xff"))}, "", nil, ErrMalformed},
		{"non-canonical bits", []string{SubprotocolPrefix + "eB"}, "", nil, ErrMalformed},
		{"bad length", []string{SubprotocolPrefix + enc([]byte(secret)) + "A"}, "", nil, ErrMalformed},
		{"decodes to space", []string{SubprotocolPrefix + enc([]byte(secret+" x"))}, "", nil, ErrMalformed},
		{"decodes to binary", []string{SubprotocolPrefix + enc([]byte(secret+"\x00\xff"))}, "", nil, ErrMalformed},
		{"too long", []string{SubprotocolPrefix + enc([]byte(secret+strings.Repeat("k", MaxCredentialLen)))}, "", nil, ErrMalformed},
		{"non-token app", []string{"a/b, " + entry}, "", nil, ErrMalformed},
		{"non-token credential", []string{entry + "(x)"}, "", nil, ErrMalformed},
		{"quoted", []string{`"a", ` + entry}, "", nil, ErrMalformed},
		{"invalid utf8", []string{"\xff, " + entry}, "", nil, ErrMalformed},
		{"space inside entry", []string{"a b, " + entry}, "", nil, ErrMalformed},
		{"20KB", []string{entry + ", " + strings.Repeat("a", 20<<10)}, "", nil, ErrMalformed},
		{"20KB over lines", append([]string{entry}, slices.Repeat([]string{strings.Repeat("a", 1<<10)}, 20)...), "", nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, l := range tt.lines {
				h.Add("Sec-WebSocket-Protocol", l)
			}
			cred, offered, err := FromSubprotocol(h)
			wantErr(t, err, tt.err)
			if cred != tt.cred || !slices.Equal(offered, tt.offered) {
				t.Errorf("got (%.20q, %q), want (%.20q, %q)", cred, offered, tt.cred, tt.offered)
			}
		})
	}
}

func TestSubprotocolOffer(t *testing.T) {
	enc := SubprotocolPrefix + base64.RawURLEncoding.EncodeToString([]byte(secret))
	tests := []struct {
		app  []string
		want []string
	}{
		{nil, []string{DefaultSubprotocol, enc}},
		{[]string{"chat.v2", "chat.v1"}, []string{"chat.v2", "chat.v1", enc}},
	}
	for _, tt := range tests {
		got := SubprotocolOffer(secret, tt.app...)
		if !slices.Equal(got, tt.want) {
			t.Fatalf("SubprotocolOffer(%q) = %q, want %q", tt.app, got, tt.want)
		}
		// Round trip, the way coder/websocket and browsers join the list.
		h := http.Header{"Sec-Websocket-Protocol": {strings.Join(got, ", ")}}
		cred, offered, err := FromSubprotocol(h)
		if err != nil || cred != secret || !slices.Equal(offered, tt.want[:len(tt.want)-1]) {
			t.Errorf("FromSubprotocol = %q, %q, %v", cred, offered, err)
		}
	}
	app := []string{"a"}
	_ = SubprotocolOffer(secret, app...)
	if len(app) != 1 || cap(app) != 1 || app[0] != "a" {
		t.Errorf("SubprotocolOffer changed its argument: %q", app)
	}
}

func BenchmarkFromSubprotocol(b *testing.B) {
	h := http.Header{}
	for _, p := range SubprotocolOffer(jwt, "chat.v1") {
		h.Add("Sec-WebSocket-Protocol", p)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := FromSubprotocol(h); err != nil {
			b.Fatal(err)
		}
	}
}
