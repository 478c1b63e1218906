package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	// The scanner allows members 10000-1 levels deep, as encoding/json does.
	const maxValueDepth = 10000 - 1
	deep := strings.Repeat("[", maxValueDepth) + strings.Repeat("]", maxValueDepth)
	tooDeep := "[" + deep + "]"
	tests := []struct {
		name  string
		in    string
		token string
		data  string
		err   error
	}{
		{"simple", `{"token":"` + secret + `","data":{"a":1}}`, secret, `{"a":1}`, nil},
		{"data first", `{"data":[1,2],"token":"` + secret + `"}`, secret, `[1,2]`, nil},
		{"whitespace", " \t\r\n{ \"token\" : \"" + secret + "\" ,\n\"data\" :\t\"x\" } \n", secret, `"x"`, nil},
		{"data null", `{"token":"` + secret + `","data":null}`, secret, `null`, nil},
		{"data number", `{"token":"` + secret + `","data":-1.5e3}`, secret, `-1.5e3`, nil},
		{"data false", `{"token":"` + secret + `","data":false}`, secret, `false`, nil},
		{"data nested", `{"token":"` + secret + `","data":{"a":[{"b":"}]\"{"},[[]],{}]}}`, secret, `{"a":[{"b":"}]\"{"},[[]],{}]}`, nil},
		{"data deep", `{"token":"` + secret + `","data":` + deep + `}`, secret, deep, nil},
		{"unknown members", `{"v":1,"token":"` + secret + `","x":{"y":[true]},"data":1,"z":"q"}`, secret, `1`, nil},
		{"escaped key", `{"\u0074oken":"` + secret + `","d\u0061ta":2}`, secret, `2`, nil},
		{"key case matters", `{"Token":"` + secret + `","data":2}`, "", "", ErrNoCredential},
		{"jwt", `{"token":"` + jwt + `","data":{}}`, jwt, `{}`, nil},
		{"invalid utf8 in data", "{\"token\":\"" + secret + "\",\"data\":\"\xff\"}", secret, "\"\xff\"", nil},

		{"empty input", ``, "", "", ErrMalformed},
		{"whitespace only", `  `, "", "", ErrMalformed},
		{"not object", `["` + secret + `"]`, "", "", ErrMalformed},
		{"empty object", `{}`, "", "", ErrNoCredential},
		{"token missing", `{"data":1}`, "", "", ErrNoCredential},
		{"token empty", `{"token":"","data":1}`, "", "", ErrNoCredential},
		{"token number", `{"token":12,"data":1}`, "", "", ErrMalformed},
		{"token null", `{"token":null,"data":1}`, "", "", ErrMalformed},
		{"token object", `{"token":{"t":"` + secret + `"},"data":1}`, "", "", ErrMalformed},
		{"token escaped", `{"token":"` + secret + `\u0041","data":1}`, "", "", ErrMalformed},
		{"token escaped quote", `{"token":"` + secret + `\"","data":1}`, "", "", ErrMalformed},
		{"token space", `{"token":"` + secret + ` x","data":1}`, "", "", ErrMalformed},
		{"token invalid utf8", "{\"token\":\"" + secret + "\xff\",\"data\":1}", "", "", ErrMalformed},
		{"token control byte", "{\"token\":\"" + secret + "\x01\",\"data\":1}", "", "", ErrMalformed},
		{"token too long", `{"token":"` + secret + strings.Repeat("a", MaxCredentialLen) + `","data":1}`, "", "", ErrMalformed},
		{"token 10KB", `{"token":"` + strings.Repeat("a", 10<<10) + secret + `","data":1}`, "", "", ErrMalformed},
		{"data missing", `{"token":"` + secret + `"}`, "", "", ErrMalformed},
		{"data invalid", `{"token":"` + secret + `","data":tru}`, "", "", ErrMalformed},
		{"data bad number", `{"token":"` + secret + `","data":01}`, "", "", ErrMalformed},
		{"data unclosed", `{"token":"` + secret + `","data":[1,2}`, "", "", ErrMalformed},
		{"data too deep", `{"token":"` + secret + `","data":` + tooDeep + `}`, "", "", ErrMalformed},
		{"duplicate token", `{"token":"` + secret + `","token":"b","data":1}`, "", "", ErrMalformed},
		{"duplicate escaped token", `{"token":"` + secret + `","\u0074oken":"b","data":1}`, "", "", ErrMalformed},
		{"duplicate data", `{"token":"` + secret + `","data":1,"data":2}`, "", "", ErrMalformed},
		{"trailing garbage", `{"token":"` + secret + `","data":1}x`, "", "", ErrMalformed},
		{"two objects", `{"token":"` + secret + `","data":1}{}`, "", "", ErrMalformed},
		{"trailing comma", `{"token":"` + secret + `","data":1,}`, "", "", ErrMalformed},
		{"leading comma", `{,"token":"` + secret + `","data":1}`, "", "", ErrMalformed},
		{"missing colon", `{"token" "` + secret + `","data":1}`, "", "", ErrMalformed},
		{"missing comma", `{"token":"` + secret + `" "data":1}`, "", "", ErrMalformed},
		{"unquoted key", `{token:"` + secret + `","data":1}`, "", "", ErrMalformed},
		{"single quotes", `{'token':'` + secret + `','data':1}`, "", "", ErrMalformed},
		{"truncated", `{"token":"` + secret + `","data":1`, "", "", ErrMalformed},
		{"truncated string", `{"token":"` + secret, "", "", ErrMalformed},
		{"bad escape in other key", `{"token":"` + secret + `","\x":1,"data":1}`, "", "", ErrMalformed},
		{"bad unicode escape", `{"token":"` + secret + `","data":"\u12G4"}`, "", "", ErrMalformed},
		{"control byte in data", "{\"token\":\"" + secret + "\",\"data\":\"a\nb\"}", "", "", ErrMalformed},
		{"bom", "\xef\xbb\xbf{\"token\":\"" + secret + "\",\"data\":1}", "", "", ErrMalformed},
		{"invalid unknown value", `{"token":"` + secret + `","x":nul,"data":1}`, "", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			tok, data, err := ParseEnvelope(b)
			wantErr(t, err, tt.err)
			if tok != tt.token || string(data) != tt.data {
				t.Errorf("got (%.40q, %.40q), want (%.40q, %.40q)", tok, data, tt.token, tt.data)
			}
			// Success must mean encoding/json agrees the frame is valid,
			// and invalid JSON must always be rejected.
			if err == nil && !json.Valid(b) {
				t.Errorf("accepted input json.Valid rejects")
			}
			if !json.Valid(b) && !errors.Is(err, ErrMalformed) {
				t.Errorf("invalid JSON gave %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseEnvelopeAliasing(t *testing.T) {
	b := []byte(`{"token":"t","data":[1] }`)
	_, data, err := ParseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if cap(data) != len(data) {
		t.Errorf("cap(data) = %d, want clipped to %d", cap(data), len(data))
	}
	b[21] = '7'
	if string(data) != "[7]" {
		t.Errorf("data = %s, want it to alias the input", data)
	}
	_ = append(data, 'x')
	if b[23] != ' ' {
		t.Errorf("appending to data wrote into the input")
	}
}

func TestAppendEnvelope(t *testing.T) {
	tests := []struct {
		name  string
		token string
		data  string
		want  string
		err   error
	}{
		{"object", "t0k", `{"a":1}`, `{"token":"t0k","data":{"a":1}}`, nil},
		{"trimmed", "t", " \n[1, 2]\t", `{"token":"t","data":[1, 2]}`, nil},
		{"string", "t", `"hi"`, `{"token":"t","data":"hi"}`, nil},
		{"empty token", "", `1`, ``, ErrNoCredential},
		{"token with quote", secret + `"`, `1`, ``, ErrMalformed},
		{"token with space", secret + " ", `1`, ``, ErrMalformed},
		{"token too long", strings.Repeat("a", MaxCredentialLen+1), `1`, ``, ErrMalformed},
		{"data empty", "t", ``, ``, ErrMalformed},
		{"data blank", "t", `  `, ``, ErrMalformed},
		{"data invalid", "t", `{"a":}`, ``, ErrMalformed},
		{"data two values", "t", `1 2`, ``, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := AppendEnvelope(dst, tt.token, json.RawMessage(tt.data))
			wantErr(t, err, tt.err)
			if err != nil {
				if string(got) != "prefix" {
					t.Errorf("on error dst changed to %q", got)
				}
				return
			}
			if string(got) != "prefix"+tt.want {
				t.Fatalf("got %s, want prefix%s", got, tt.want)
			}
			tok, data, err := ParseEnvelope(got[len("prefix"):])
			if err != nil || tok != tt.token || !bytes.Equal(data, bytes.TrimSpace([]byte(tt.data))) {
				t.Errorf("round trip = (%q, %s, %v)", tok, data, err)
			}
		})
	}
}

func TestBinaryEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		token   string
		payload string
		err     error
	}{
		{"simple", append([]byte{0, 9}, secret+"payload"...), secret, "payload", nil},
		{"empty payload", append([]byte{0, 9}, secret...), secret, "", nil},
		{"binary payload", append([]byte{0, 1, 'a'}, 0, 0xff, 0x80), "a", "\x00\xff\x80", nil},
		{"empty", nil, "", "", ErrMalformed},
		{"one byte", []byte{0}, "", "", ErrMalformed},
		{"zero length", []byte{0, 0, 'x'}, "", "", ErrNoCredential},
		{"length past end", append([]byte{0, 10}, secret...), "", "", ErrMalformed},
		{"length 65535", append([]byte{0xff, 0xff}, secret...), "", "", ErrMalformed},
		{"token too long", append([]byte{0x20, 0x01}, strings.Repeat(secret, 1000)...), "", "", ErrMalformed},
		{"token bad byte", append([]byte{0, 10}, secret+"\x00"...), "", "", ErrMalformed},
		{"token space", append([]byte{0, 10}, secret+" "...), "", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, payload, err := ParseBinaryEnvelope(tt.in)
			wantErr(t, err, tt.err)
			if tok != tt.token || string(payload) != tt.payload {
				t.Errorf("got (%q, %q), want (%q, %q)", tok, payload, tt.token, tt.payload)
			}
			if err == nil && cap(payload) != len(payload) {
				t.Errorf("payload capacity not clipped")
			}
		})
	}
}

func TestAppendBinaryEnvelope(t *testing.T) {
	got, err := AppendBinaryEnvelope([]byte{9}, "tok", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "\x09\x00\x03tokdata"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	tok, payload, err := ParseBinaryEnvelope(got[1:])
	if err != nil || tok != "tok" || string(payload) != "data" {
		t.Errorf("round trip = (%q, %q, %v)", tok, payload, err)
	}
	for _, bad := range []struct {
		tok string
		err error
	}{
		{"", ErrNoCredential},
		{strings.Repeat("a", MaxCredentialLen+1), ErrMalformed},
		{strings.Repeat("a", 70000), ErrMalformed},
		{secret + "\n", ErrMalformed},
	} {
		got, err := AppendBinaryEnvelope(nil, bad.tok, nil)
		wantErr(t, err, bad.err)
		if got != nil {
			t.Errorf("AppendBinaryEnvelope(%.10q) wrote %q on error", bad.tok, got)
		}
	}
	max := strings.Repeat("a", MaxCredentialLen)
	got, err = AppendBinaryEnvelope(nil, max, nil)
	if err != nil || len(got) != 2+MaxCredentialLen {
		t.Fatalf("MaxCredentialLen token: len %d, %v", len(got), err)
	}
}

func BenchmarkParseEnvelope(b *testing.B) {
	frame, err := AppendEnvelope(nil, jwt, json.RawMessage(`{"room":"lobby","text":"hello, world","n":42}`))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseEnvelope(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEnvelopeUnmarshal is the baseline ParseEnvelope replaces.
func BenchmarkParseEnvelopeUnmarshal(b *testing.B) {
	frame, _ := AppendEnvelope(nil, jwt, json.RawMessage(`{"room":"lobby","text":"hello, world","n":42}`))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Token string          `json:"token"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(frame, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBinaryEnvelope(b *testing.B) {
	frame, err := AppendBinaryEnvelope(nil, jwt, make([]byte, 256))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseBinaryEnvelope(frame); err != nil {
			b.Fatal(err)
		}
	}
}
