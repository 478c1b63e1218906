package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/redisstore"
	"github.com/wsauth/wsauth/transport"
	"github.com/wsauth/wsauth/wsauth"
	"github.com/wsauth/wsauth/wsauth/jwtverify"
)

type nodeConfig struct {
	name, redis string
	bare        bool
}

// timedStore is the node's redisstore.Store, timing RevokeSubject.
type timedStore struct {
	ticket.Revocations
	mu         sync.Mutex
	start, end int64
}

func (s *timedStore) RevokeSubject(ctx context.Context, subject string, at time.Time) error {
	defer trace.StartRegion(ctx, "store write").End()
	t0 := nowNS()
	err := s.Revocations.RevokeSubject(ctx, subject, at)
	t1 := nowNS()
	s.mu.Lock()
	s.start, s.end = t0, t1
	s.mu.Unlock()
	return err
}

// heard is one revocation delivered by the bus: when deliver (the
// Registry's apply) was called and when it returned.
type heard struct {
	Subject string `json:"subject"`
	At      int64  `json:"at"`
	Done    int64  `json:"done"`
}

// timedBus is the node's redisstore.Bus, timing Publish and every
// delivery.
type timedBus struct {
	ticket.Bus
	mu               sync.Mutex
	pubStart, pubEnd int64
	heard            []heard
	catchUps         int
}

func (b *timedBus) Publish(ctx context.Context, r ticket.Revocation) error {
	defer trace.StartRegion(ctx, "publish").End()
	t0 := nowNS()
	err := b.Bus.Publish(ctx, r)
	t1 := nowNS()
	b.mu.Lock()
	b.pubStart, b.pubEnd = t0, t1
	b.mu.Unlock()
	return err
}

func (b *timedBus) Subscribe(ctx context.Context, deliver func(ticket.Revocation), catchUp func()) error {
	d := func(r ticket.Revocation) {
		region := trace.StartRegion(ctx, "bus delivery (apply)")
		at := nowNS()
		deliver(r)
		done := nowNS()
		region.End()
		b.mu.Lock()
		b.heard = append(b.heard, heard{Subject: r.Subject, At: at, Done: done})
		b.mu.Unlock()
	}
	var c func()
	if catchUp != nil {
		c = func() {
			b.mu.Lock()
			b.catchUps++
			b.mu.Unlock()
			catchUp()
		}
	}
	return b.Bus.Subscribe(ctx, d, c)
}

// revokeResult is POST /revoke's answer: Unix ns.
type revokeResult struct {
	Start      int64  `json:"start"`
	End        int64  `json:"end"`
	StoreStart int64  `json:"store_start"`
	StoreEnd   int64  `json:"store_end"`
	PubStart   int64  `json:"pub_start"`
	PubEnd     int64  `json:"pub_end"`
	Err        string `json:"err,omitempty"`
}

// nodeStats is GET /stats's answer.
type nodeStats struct {
	Name       string  `json:"name"`
	AliceLive  int64   `json:"alice_live"`
	BobLive    int64   `json:"bob_live"`
	Goroutines int     `json:"goroutines"`
	GCs        uint64  `json:"gcs"`
	Heard      []heard `json:"heard"`
	CatchUps   int     `json:"catch_ups"`
	// With ?times=1: for every revoked connection, when its close
	// goroutine reported it ended (EventClosed, right before the close
	// frame is written), and when its handler returned (the close
	// handshake done).
	Ended []int64 `json:"ended,omitempty"`
	Exits []int64 `json:"exits,omitempty"`
}

type node struct {
	name  string
	store *timedStore
	bus   *timedBus
	reg   *wsauth.Registry

	alice, bob atomic.Int64

	mu    sync.Mutex
	ended []int64
	exits []int64

	profMu sync.Mutex
	prof   *os.File
	trace  *os.File
}

func runNode(cfg nodeConfig) error {
	key, err := keyFromEnv()
	if err != nil {
		return err
	}
	client := redis.NewClient(&redis.Options{Addr: cfg.redis})
	n := &node{
		name:  cfg.name,
		store: &timedStore{Revocations: redisstore.New(client, nil)},
		bus:   &timedBus{Bus: redisstore.NewBus(client, nil)},
	}
	n.reg = wsauth.NewRegistry(n.store, n.bus)
	if err := n.reg.Listen(context.Background()); err != nil {
		return err
	}
	keys, err := jwtverify.Keys(map[string]any{"": jwtverify.HMACKey(key)})
	if err != nil {
		return err
	}
	jv, err := jwtverify.New([]string{"HS256"}, keys, nil)
	if err != nil {
		return err
	}
	auth := wsauth.New(jv, wsauth.FirstMessage{}, &wsauth.Options{
		Registry: n.reg,
		Limiter:  wsauth.NewLimiter(0, 0),
		Events:   n.event,
	})
	mux := http.NewServeMux()
	if cfg.bare {
		b := &bareNode{node: n, client: client, conns: map[string]map[*websocket.Conn]struct{}{}}
		if err := b.init(key); err != nil {
			return err
		}
		mux.HandleFunc("GET /ws", b.serve)
		mux.HandleFunc("POST /revoke", b.revoke)
	} else {
		mux.Handle("GET /ws", wsauth.Handler(auth, n.idle))
		mux.HandleFunc("POST /revoke", n.revoke)
	}
	mux.HandleFunc("GET /stats", n.stats)
	mux.HandleFunc("POST /profile/start", n.profileStart)
	mux.HandleFunc("POST /profile/stop", n.profileStop)
	mux.HandleFunc("POST /trace/start", n.traceStart)
	mux.HandleFunc("POST /trace/stop", n.traceStop)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		n.stopProfile()
		n.stopTrace()
		os.Exit(0)
	}()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// idle is every connection's handler: it reads until the connection ends.
func (n *node) idle(ctx context.Context, c *wsauth.Conn) {
	count := &n.alice
	if c.Principal().Subject == "bob" {
		count = &n.bob
	}
	count.Add(1)
	for {
		if _, err := c.Read(ctx); err != nil {
			break
		}
	}
	count.Add(-1)
	if count == &n.alice {
		t := nowNS()
		n.mu.Lock()
		n.exits = append(n.exits, t)
		n.mu.Unlock()
	}
}

// event notes when each revoked connection's close goroutine ran.
func (n *node) event(_ context.Context, e wsauth.Event) {
	if e.Kind == wsauth.EventClosed && e.Reason == "revoked" {
		t := nowNS()
		n.mu.Lock()
		n.ended = append(n.ended, t)
		n.mu.Unlock()
	}
}

func (n *node) revoke(w http.ResponseWriter, r *http.Request) {
	subject := r.FormValue("subject")
	if subject == "" {
		subject = "alice"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	region := trace.StartRegion(ctx, "Registry.Revoke")
	start := nowNS()
	err := n.reg.Revoke(ctx, subject, "logged out")
	end := nowNS()
	region.End()
	res := revokeResult{Start: start, End: end}
	if err != nil {
		res.Err = err.Error()
	}
	n.store.mu.Lock()
	res.StoreStart, res.StoreEnd = n.store.start, n.store.end
	n.store.mu.Unlock()
	n.bus.mu.Lock()
	res.PubStart, res.PubEnd = n.bus.pubStart, n.bus.pubEnd
	n.bus.mu.Unlock()
	json.NewEncoder(w).Encode(res)
}

var gcSample = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}

func (n *node) stats(w http.ResponseWriter, r *http.Request) {
	s := nodeStats{
		Name:       n.name,
		AliceLive:  n.alice.Load(),
		BobLive:    n.bob.Load(),
		Goroutines: runtime.NumGoroutine(),
	}
	sample := make([]metrics.Sample, len(gcSample))
	copy(sample, gcSample)
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		s.GCs = sample[0].Value.Uint64()
	}
	n.bus.mu.Lock()
	s.Heard = append(s.Heard, n.bus.heard...)
	s.CatchUps = n.bus.catchUps
	n.bus.mu.Unlock()
	if r.FormValue("times") == "1" {
		n.mu.Lock()
		s.Ended = append([]int64(nil), n.ended...)
		s.Exits = append([]int64(nil), n.exits...)
		n.mu.Unlock()
	}
	json.NewEncoder(w).Encode(s)
}

func (n *node) profileStart(w http.ResponseWriter, r *http.Request) {
	n.profMu.Lock()
	defer n.profMu.Unlock()
	if n.prof != nil {
		http.Error(w, "profiling already", http.StatusConflict)
		return
	}
	f, err := os.Create(r.FormValue("path"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n.prof = f
}

func (n *node) profileStop(w http.ResponseWriter, r *http.Request) {
	if err := n.stopProfile(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (n *node) stopProfile() error {
	n.profMu.Lock()
	defer n.profMu.Unlock()
	if n.prof == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := n.prof.Close()
	n.prof = nil
	if err != nil {
		log.Printf("profile: %v", err)
	}
	return err
}

// bareNode is the baseline (-bare): the same endpoints on coder/websocket
// and go-redis alone, without wsauth. It verifies the token with jwt/v5,
// answers auth_ok, keeps its connections in a map by subject, and
// revokes by publishing the subject on a channel of its own first, then
// closing its connections, each with a goroutine of its own (Close with
// 4401), as every node does when it hears the message. No store is
// written: what is measured is how fast the library and the machine can
// close the sockets.
type bareNode struct {
	*node
	client *redis.Client
	parser *jwt.Parser
	key    []byte

	mu    sync.Mutex
	conns map[string]map[*websocket.Conn]struct{}
}

const bareChannel = "revokebench:bare"

func (b *bareNode) init(key []byte) error {
	b.key = key
	b.parser = jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	ps := b.client.Subscribe(context.Background(), bareChannel)
	if _, err := ps.Receive(context.Background()); err != nil {
		return err
	}
	go func() {
		for m := range ps.Channel() {
			at := nowNS()
			b.closeAll(m.Payload)
			done := nowNS()
			b.bus.mu.Lock()
			b.bus.heard = append(b.bus.heard, heard{Subject: m.Payload, At: at, Done: done})
			b.bus.mu.Unlock()
		}
	}()
	return nil
}

func (b *bareNode) serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, frame, err := c.Read(rctx)
	cancel()
	if err != nil {
		return
	}
	var auth struct {
		Token string `json:"token"`
	}
	json.Unmarshal(frame, &auth)
	tok, err := b.parser.Parse(auth.Token, func(*jwt.Token) (any, error) { return b.key, nil })
	if err != nil {
		c.Close(transport.CloseUnauthenticated, "invalid")
		return
	}
	sub, _ := tok.Claims.GetSubject()
	ok, _ := transport.AuthOK{Subject: sub}.MarshalJSON()
	b.mu.Lock()
	set := b.conns[sub]
	if set == nil {
		set = map[*websocket.Conn]struct{}{}
		b.conns[sub] = set
	}
	set[c] = struct{}{}
	b.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = c.Write(wctx, websocket.MessageText, ok)
	cancel()
	count := &b.alice
	if sub == "bob" {
		count = &b.bob
	}
	count.Add(1)
	for err == nil {
		_, _, err = c.Read(ctx)
	}
	count.Add(-1)
	b.mu.Lock()
	delete(b.conns[sub], c)
	b.mu.Unlock()
	if count == &b.alice {
		t := nowNS()
		b.node.mu.Lock()
		b.exits = append(b.exits, t)
		b.node.mu.Unlock()
	}
}

// closeAll closes every connection of subject, each on its own goroutine.
func (b *bareNode) closeAll(subject string) {
	b.mu.Lock()
	var cs []*websocket.Conn
	for c := range b.conns[subject] {
		cs = append(cs, c)
	}
	delete(b.conns, subject)
	b.mu.Unlock()
	for _, c := range cs {
		go func() {
			t := nowNS()
			b.node.mu.Lock()
			b.ended = append(b.ended, t)
			b.node.mu.Unlock()
			c.Close(transport.CloseUnauthenticated, "logged out")
		}()
	}
}

func (b *bareNode) revoke(w http.ResponseWriter, r *http.Request) {
	subject := r.FormValue("subject")
	if subject == "" {
		subject = "alice"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := nowNS()
	err := b.client.Publish(ctx, bareChannel, subject).Err()
	pubEnd := nowNS()
	b.closeAll(subject)
	end := nowNS()
	res := revokeResult{Start: start, End: end, StoreStart: start, StoreEnd: start, PubStart: start, PubEnd: pubEnd}
	if err != nil {
		res.Err = err.Error()
	}
	json.NewEncoder(w).Encode(res)
}

func (n *node) traceStart(w http.ResponseWriter, r *http.Request) {
	n.profMu.Lock()
	defer n.profMu.Unlock()
	if n.trace != nil {
		http.Error(w, "tracing already", http.StatusConflict)
		return
	}
	f, err := os.Create(r.FormValue("path"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n.trace = f
}

func (n *node) traceStop(w http.ResponseWriter, r *http.Request) {
	if err := n.stopTrace(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (n *node) stopTrace() error {
	n.profMu.Lock()
	defer n.profMu.Unlock()
	if n.trace == nil {
		return nil
	}
	trace.Stop()
	err := n.trace.Close()
	n.trace = nil
	return err
}
