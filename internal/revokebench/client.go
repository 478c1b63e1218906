package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsauth/wsauth/internal/loadnet"
	"github.com/wsauth/wsauth/transport"
)

type clientConfig struct {
	id, first, alice, bob int
	sources, conc         int
	nodes, run            string
}

// sock is one held socket.
type sock struct {
	c      *websocket.Conn
	node   int
	bob    bool
	closed atomic.Int64 // Unix ns when its Read ended; 0 while open
	code   atomic.Int32 // the close code received, -1 for none
}

// clientReady is a client's first line: its sockets are open.
type clientReady struct {
	Opened  int            `json:"opened"`
	Failed  int            `json:"failed"`
	Retries int            `json:"retries"`
	Reasons map[string]int `json:"reasons,omitempty"`
	DialNS  int64          `json:"dial_ns"`
}

// command is what the orchestrator writes to a client, one per line.
type command struct {
	Cmd   string `json:"cmd"`   // "profile" or "revoked"
	Path  string `json:"path"`  // profile: where
	T0    int64  `json:"t0"`    // revoked: the call's start, Unix ns
	Bound int64  `json:"bound"` // revoked: how long to wait, ns
}

// summary is the close latency of a set of sockets, ns after t0.
type summary struct {
	Closed4401 int            `json:"closed_4401"`
	Other      map[string]int `json:"other,omitempty"` // ended otherwise: close code or "error"
	Early      int            `json:"early"`           // ended before t0
	Open       int            `json:"open"`            // still open at t0 + bound
	P50        int64          `json:"p50"`
	P99        int64          `json:"p99"`
	Max        int64          `json:"max"`
}

// nodeResult is what a client saw of the sockets it held on one node.
type nodeResult struct {
	Alice     int     `json:"alice"` // opened
	Summary   summary `json:"summary"`
	Lat       []int64 `json:"lat"` // every 4401 close, ns after t0, for the orchestrator to merge
	BobOpen   int     `json:"bob_open"`
	BobClosed int     `json:"bob_closed"`
}

// clientResult is a client's second line.
type clientResult struct {
	Nodes []nodeResult `json:"nodes"`
	All   summary      `json:"all"`
}

func runClient(cfg clientConfig) error {
	key, err := keyFromEnv()
	if err != nil {
		return err
	}
	nodes := strings.Split(cfg.nodes, ",")
	hcs := make([]*http.Client, max(cfg.sources, 1))
	for i := range hcs {
		hcs[i] = loadnet.ClientFrom(fmt.Sprintf("127.0.0.%d", 2+i), 0)
	}
	// Alice's sockets first, socket j the global socket first+j; then
	// bob's, the same number on every node.
	socks := make([]*sock, 0, cfg.alice+cfg.bob*len(nodes))
	for j := range cfg.alice {
		socks = append(socks, &sock{node: (cfg.first + j) % len(nodes)})
	}
	for k := range cfg.bob * len(nodes) {
		socks = append(socks, &sock{node: k % len(nodes), bob: true})
	}

	var left atomic.Int64 // alice sockets not yet ended
	allEnded := make(chan struct{})
	var ready clientReady
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if ready.Reasons == nil {
			ready.Reasons = map[string]int{}
		}
		r := loadnet.Reason(err)
		if ready.Reasons[r] == 0 {
			log.Printf("first dial failure of its kind: %v", err)
		}
		ready.Reasons[r]++
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.conc {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(socks) {
					return
				}
				s := socks[j]
				g := cfg.first + j // global index: source address and jti
				sub := "alice"
				if s.bob {
					sub, g = "bob", j-cfg.alice
				}
				url := "ws://" + nodes[s.node] + "/ws"
				hc := hcs[g%len(hcs)]
				for attempt := 1; ; attempt++ {
					c, err := dialOne(url, hc, key, sub, fmt.Sprintf("%s-r%s-%d", sub, cfg.run, g))
					if err == nil {
						s.c = c
						break
					}
					fail(err)
					if attempt == 3 {
						break
					}
					mu.Lock()
					ready.Retries++
					mu.Unlock()
					time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	ready.DialNS = time.Since(start).Nanoseconds()
	for _, s := range socks {
		if s.c == nil {
			ready.Failed++
			continue
		}
		ready.Opened++
		if !s.bob {
			left.Add(1)
		}
	}
	if left.Load() == 0 {
		close(allEnded)
	}
	for _, s := range socks {
		if s.c != nil {
			go s.read(func() {
				if !s.bob && left.Add(-1) == 0 {
					close(allEnded)
				}
			})
		}
	}
	if err := writeLine(ready); err != nil {
		return err
	}

	in := bufio.NewScanner(os.Stdin)
	var prof *os.File
	for in.Scan() {
		var cmd command
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			return fmt.Errorf("command %q: %v", in.Text(), err)
		}
		switch cmd.Cmd {
		case "profile":
			f, err := os.Create(cmd.Path)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			prof = f
		case "revoked":
			deadline := time.Unix(0, cmd.T0+cmd.Bound)
			select {
			case <-allEnded:
			case <-time.After(time.Until(deadline)):
			}
			res := collect(socks, len(nodes), cmd.T0)
			if prof != nil {
				pprof.StopCPUProfile()
				prof.Close()
				prof = nil
			}
			if err := writeLine(res); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q", cmd.Cmd)
		}
	}
	// Stdin closed: the run is over.
	for _, s := range socks {
		if s.c != nil {
			s.c.CloseNow()
		}
	}
	return in.Err()
}

// dialOne opens one socket as sub with a token of its own.
func dialOne(url string, hc *http.Client, key []byte, sub, jti string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub,
		"jti": jti,
		"iat": float64(now.UnixMilli()) / 1000,
		"exp": now.Add(time.Hour).Unix(),
	}).SignedString(key)
	if err != nil {
		return nil, err
	}
	c, _, err := transport.DialFirstMessage(ctx, url, tok, &websocket.DialOptions{HTTPClient: hc})
	return c, err
}

// read reads until the socket ends, and notes when and how.
func (s *sock) read(ended func()) {
	for {
		_, _, err := s.c.Read(context.Background())
		if err == nil {
			continue
		}
		t := nowNS()
		s.code.Store(int32(websocket.CloseStatus(err)))
		s.closed.Store(t)
		ended()
		return
	}
}

// collect sums up the sockets at the bound, and pings bob's.
func collect(socks []*sock, nodes int, t0 int64) clientResult {
	res := clientResult{Nodes: make([]nodeResult, nodes)}
	var all []int64
	var bobs sync.WaitGroup
	var bobMu sync.Mutex
	for _, s := range socks {
		if s.c == nil {
			continue
		}
		nr := &res.Nodes[s.node]
		if s.bob {
			bobs.Go(func() {
				ok := s.closed.Load() == 0
				if ok {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					ok = s.c.Ping(ctx) == nil
					cancel()
				}
				bobMu.Lock()
				defer bobMu.Unlock()
				if ok {
					nr.BobOpen++
				} else {
					nr.BobClosed++
				}
			})
			continue
		}
		nr.Alice++
		t, code := s.closed.Load(), s.code.Load()
		for _, sum := range []*summary{&nr.Summary, &res.All} {
			switch {
			case t == 0:
				sum.Open++
			case t < t0:
				sum.Early++
			case code != int32(transport.CloseUnauthenticated):
				if sum.Other == nil {
					sum.Other = map[string]int{}
				}
				sum.Other[codeName(code)]++
			default:
				sum.Closed4401++
			}
		}
		if t >= t0 && code == int32(transport.CloseUnauthenticated) {
			nr.Lat = append(nr.Lat, t-t0)
			all = append(all, t-t0)
		}
	}
	bobs.Wait()
	for i := range res.Nodes {
		res.Nodes[i].Summary.fill(res.Nodes[i].Lat)
	}
	res.All.fill(all)
	return res
}

func codeName(code int32) string {
	if code == -1 {
		return "error"
	}
	return strconv.Itoa(int(code))
}

func writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}
