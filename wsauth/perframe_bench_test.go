package wsauth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

// BenchmarkPerFrame measures the server's cost of reading one frame over
// loopback: a plain coder/websocket read loop, and Conn.Read of the
// per-message strategy with each algorithm's token.
//
// Modes of the per-message reads:
//
//	cache             jwtverify.Verifier, token cache on (the default)
//	nocache           jwtverify.Verifier, CacheSize -1
//	unstable-cache    the same Verifier behind a wsauth.VerifierFunc, which
//	unstable-nocache  hides that it is a StableVerifier: every frame goes
//	                  through the failure budget and Verify (a cache hit,
//	                  or a full signature check), as with any other Verifier
//
// jwtverify.Verifier is a wsauth.StableVerifier with or without its cache,
// so cache and nocache both take the per-connection fast path for a frame
// repeating the last token; unstable-nocache is what the old "nocache"
// measured.
//
// The client does not use coder/websocket to write: it sends pre-built
// masked frames over the raw connection, so the writer costs almost
// nothing. The plain loop reads the very frames the strategy reads, one
// plain run per algorithm's frame size ("plain/HS256-frame", …).
//
// ns/op is wall time. "cpu-ns/frame" is the reading thread's CPU time per
// frame (Linux; the goroutine is locked to its thread), and "x-plain" is
// its ratio to the median plain run of the same frame in this process: on
// a loaded machine, wall time mostly measures the scheduler. In
// unstable-nocache, verification runs on a goroutine of its own, which the
// thread clock would miss, so the thread is not locked and "x-plain" is
// the ratio of wall times.
func BenchmarkPerFrame(b *testing.B) {
	k := benchKeys(b)
	data := []byte(`{"text":"hello, world"}`)
	now := time.Now()
	algs := []struct {
		name         string
		method       jwt.SigningMethod
		sign, verify any
	}{
		{"HS256", jwt.SigningMethodHS256, k.hmac, jwtverify.HMACKey(k.hmac)},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed, k.edPub},
		{"RS256", jwt.SigningMethodRS256, k.rsa, &k.rsa.PublicKey},
	}
	tokens := make(map[string]string, len(algs))
	for _, alg := range algs {
		tok, err := jwt.NewWithClaims(alg.method, jwt.MapClaims{
			"sub":   "user-1234567890",
			"iss":   "https://id.example",
			"aud":   "chat",
			"exp":   now.Add(time.Hour).Unix(),
			"iat":   now.Unix(),
			"scope": "room:general room:random",
		}).SignedString(alg.sign)
		if err != nil {
			b.Fatal(err)
		}
		tokens[alg.name] = tok
	}
	envelope := func(b *testing.B, tok string) []byte {
		env, err := transport.AppendEnvelope(nil, tok, data)
		if err != nil {
			b.Fatal(err)
		}
		return env
	}

	// plainCPU and plainWall hold the CPU and wall time per frame of each
	// plain run, by frame.
	plainCPU, plainWall := map[string][]float64{}, map[string][]float64{}
	for _, alg := range algs {
		b.Run("plain/"+alg.name+"-frame", func(b *testing.B) {
			frame := envelope(b, tokens[alg.name])
			ws := plainFrames(b, frame)
			ctx := context.Background()
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			cpu, wall := measure(b, true, func() {
				if _, _, err := ws.Read(ctx); err != nil {
					b.Fatal(err)
				}
			})
			plainCPU[alg.name] = append(plainCPU[alg.name], cpu)
			plainWall[alg.name] = append(plainWall[alg.name], wall)
		})
	}
	for _, alg := range algs {
		b.Run(alg.name, func(b *testing.B) {
			for _, mode := range []struct {
				name     string
				size     int
				unstable bool
			}{{"cache", 0, false}, {"nocache", -1, false}, {"unstable-cache", 0, true}, {"unstable-nocache", -1, true}} {
				b.Run(mode.name, func(b *testing.B) {
					keys, err := jwtverify.Keys(map[string]any{"": alg.verify})
					if err != nil {
						b.Fatal(err)
					}
					jv, err := jwtverify.New([]string{alg.name}, keys, &jwtverify.Options{
						Issuer:    "https://id.example",
						Audience:  "chat",
						CacheSize: mode.size,
					})
					if err != nil {
						b.Fatal(err)
					}
					var v wsauth.Verifier = jv
					if mode.unstable {
						v = wsauth.VerifierFunc(jv.Verify)
					}
					frame := envelope(b, tokens[alg.name])
					c := perMessageFrames(b, wsauth.New(v, wsauth.PerMessage{}, nil), frame)
					ctx := context.Background()
					b.SetBytes(int64(len(frame)))
					b.ReportAllocs()
					// A full verification parses on a goroutine of its
					// own: the reading thread's CPU time would miss it,
					// so the ratio is of wall time.
					onThread := !(mode.unstable && mode.size < 0)
					cpu, wall := measure(b, onThread, func() {
						if _, err := c.Read(ctx); err != nil {
							b.Fatal(err)
						}
					})
					if base := median(plainCPU[alg.name]); onThread && base > 0 && cpu > 0 {
						b.ReportMetric(cpu/base, "x-plain")
					}
					if base := median(plainWall[alg.name]); !onThread && base > 0 {
						b.ReportMetric(wall/base, "x-plain")
					}
				})
			}
		})
	}
}

// benchKeySet holds the signing keys of the per-frame benchmark.
type benchKeySet struct {
	hmac  []byte
	ed    ed25519.PrivateKey
	edPub ed25519.PublicKey
	rsa   *rsa.PrivateKey
}

var (
	benchKeysOnce sync.Once
	benchKeysVal  benchKeySet
	benchKeysErr  error
)

// benchKeys returns keys made once per process: an RSA key takes a while.
func benchKeys(b *testing.B) benchKeySet {
	benchKeysOnce.Do(func() {
		k := &benchKeysVal
		k.hmac = make([]byte, 32)
		rand.Read(k.hmac)
		if k.edPub, k.ed, benchKeysErr = ed25519.GenerateKey(rand.Reader); benchKeysErr != nil {
			return
		}
		k.rsa, benchKeysErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	if benchKeysErr != nil {
		b.Fatal(benchKeysErr)
	}
	return benchKeysVal
}

// measure runs read in b.Loop and returns the wall time per call and,
// with thread set, the goroutine locked to its thread, that thread's CPU
// time per call, which it also reports.
func measure(b *testing.B, thread bool, read func()) (cpu, wall float64) {
	if thread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	n := 0
	start, cpuStart := time.Now(), threadCPU()
	for b.Loop() {
		read()
		n++
	}
	wall = float64(time.Since(start)) / float64(n)
	if thread {
		cpu = float64(threadCPU()-cpuStart) / float64(n)
		if cpu > 0 {
			b.ReportMetric(cpu, "cpu-ns/frame")
		}
	}
	return cpu, wall
}

// median returns the median of xs, or 0 if there are none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

// plainFrames returns the server side of a bare coder/websocket connection
// whose client sends frame over and over until the benchmark ends.
func plainFrames(b *testing.B, frame []byte) *websocket.Conn {
	conns := make(chan *websocket.Conn, 1)
	serveFrames(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			b.Error(err)
			conns <- nil
			return
		}
		conns <- ws
	}), frame)
	ws := <-conns
	if ws == nil {
		b.FailNow()
	}
	b.Cleanup(func() { ws.CloseNow() })
	return ws
}

// perMessageFrames returns the server side of a per-message connection
// accepted by a whose client sends frame over and over until the benchmark
// ends. The first frame, read during authentication, has been consumed;
// the auth_ok the server answers it with is left unread.
func perMessageFrames(b *testing.B, a *wsauth.Authenticator, frame []byte) *wsauth.Conn {
	conns := make(chan *wsauth.Conn, 1)
	serveFrames(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Accept(w, r)
		if err != nil {
			b.Error(err)
			conns <- nil
			return
		}
		conns <- c
	}), frame)
	c := <-conns
	if c == nil {
		b.FailNow()
	}
	b.Cleanup(func() { c.CloseNow() })
	if _, err := c.Read(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// serveFrames serves h on loopback, dials it and writes frame, as a
// masked text frame, until the benchmark ends.
func serveFrames(b *testing.B, h http.Handler, frame []byte) {
	srv := httptest.NewServer(h)
	var raw net.Conn
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			raw = c
			return c, err
		},
	}
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), opts)
	if err != nil {
		srv.Close()
		b.Fatal(err)
	}
	// From here on the client writes on the raw connection: coder/websocket
	// only reads from it when asked to, and nothing asks.
	block := masked(frame, 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, err := raw.Write(block); err != nil {
				return
			}
		}
	})
	b.Cleanup(func() {
		ws.CloseNow()
		wg.Wait()
		srv.Close()
		tr.CloseIdleConnections()
	})
}

// masked returns n copies of p framed as client text frames. The masking
// key is zero, which leaves the payload as it is; a server cannot tell.
func masked(p []byte, n int) []byte {
	var hdr []byte
	switch {
	case len(p) < 126:
		hdr = []byte{0x81, 0x80 | byte(len(p))}
	case len(p) <= 0xffff:
		hdr = binary.BigEndian.AppendUint16([]byte{0x81, 0x80 | 126}, uint16(len(p)))
	default:
		hdr = binary.BigEndian.AppendUint64([]byte{0x81, 0x80 | 127}, uint64(len(p)))
	}
	hdr = append(hdr, 0, 0, 0, 0)
	var out []byte
	for range n {
		out = append(out, hdr...)
		out = append(out, p...)
	}
	return out
}
