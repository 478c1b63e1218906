package wsauth

import (
	"context"
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
)

// BenchmarkPerFrame measures the server's cost of reading one frame over
// loopback: a plain coder/websocket read loop, and Conn.ReadMessage of the
// per-message strategy with each algorithm, with the JWTVerifier's token
// cache (the default) and without it (CacheSize -1).
//
// The client does not use coder/websocket to write: it sends pre-built
// masked frames over the raw connection, so the writer costs almost
// nothing. The plain loop reads the very frames the strategy reads, one
// plain run per algorithm's frame size ("plain/HS256-frame", …).
//
// ns/op is wall time. "cpu-ns/frame" is the reading thread's CPU time per
// frame (Linux; the goroutine is locked to its thread), and with the cache
// "x-plain" is its ratio to the median plain run of the same frame in this
// process: on a loaded machine, wall time mostly measures the scheduler.
// Without the cache, verification runs on a goroutine of its own, so the
// thread is not locked and "x-plain" is the ratio of wall times.
func BenchmarkPerFrame(b *testing.B) {
	k := keys()
	data := []byte(`{"text":"hello, world"}`)
	algs := []struct {
		name         string
		method       jwt.SigningMethod
		sign, verify any
	}{
		{"HS256", jwt.SigningMethodHS256, k.hmac, k.hmac},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed, k.edPub},
		{"RS256", jwt.SigningMethodRS256, k.rsa, &k.rsa.PublicKey},
	}
	tokens := make(map[string]string, len(algs))
	for _, alg := range algs {
		tokens[alg.name] = mint(b, alg.method, alg.sign, jwt.MapClaims{
			"sub":   "user-1234567890",
			"iss":   "https://id.example",
			"aud":   "chat",
			"exp":   t0.Add(time.Hour).Unix(),
			"iat":   t0.Unix(),
			"scope": "room:general room:random",
		}, nil)
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
				name string
				size int
			}{{"cache", 0}, {"nocache", -1}} {
				b.Run(mode.name, func(b *testing.B) {
					v, err := NewJWT(&JWTOptions{
						Algorithms: []string{alg.name},
						Keys:       map[string]any{"": alg.verify},
						Issuer:     "https://id.example",
						Audience:   "chat",
						Now:        func() time.Time { return t0 },
						CacheSize:  mode.size,
					})
					if err != nil {
						b.Fatal(err)
					}
					frame := envelope(b, tokens[alg.name])
					c := perMessageFrames(b, &Options{Verifier: v, Now: func() time.Time { return t0 }}, frame)
					ctx := context.Background()
					b.SetBytes(int64(len(frame)))
					b.ReportAllocs()
					// Without the cache, the verifier parses on a
					// goroutine of its own: the reading thread's CPU
					// time would miss it, so the ratio is of wall time.
					cached := mode.size >= 0
					cpu, wall := measure(b, cached, func() {
						if _, err := c.ReadMessage(ctx); err != nil {
							b.Fatal(err)
						}
					})
					if base := median(plainCPU[alg.name]); cached && base > 0 && cpu > 0 {
						b.ReportMetric(cpu/base, "x-plain")
					}
					if base := median(plainWall[alg.name]); !cached && base > 0 {
						b.ReportMetric(wall/base, "x-plain")
					}
				})
			}
		})
	}
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
			return
		}
		conns <- ws
	}), frame)
	ws := <-conns
	b.Cleanup(func() { ws.CloseNow() })
	return ws
}

// perMessageFrames returns the server side of a per-message connection
// whose client sends frame over and over until the benchmark ends. The
// first frame, read during authentication, has been consumed.
func perMessageFrames(b *testing.B, o *Options, frame []byte) *Conn {
	a := PerMessage(o)
	conns := make(chan *Conn, 1)
	serveFrames(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Accept(w, r)
		if err != nil {
			b.Error(err)
			return
		}
		conns <- c
	}), frame)
	c := <-conns
	b.Cleanup(func() { c.CloseNow() })
	if _, err := c.ReadMessage(context.Background()); err != nil {
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
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			raw = c
			return c, err
		},
	}}}
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), opts)
	if err != nil {
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
