// Command testserver is the wsauth server the JavaScript client's tests
// (transport/js/test) run against: one endpoint per carrier, all in band,
// credentials issued over HTTP with the lifetime, the number of uses and the
// refusal a test asks for, and control hooks to close a subject's
// connections with a code, revoke a subject, and stop and restart the
// server on the same port.
//
//	go run ./transport/js/testserver [-addr 127.0.0.1:0] [-control 127.0.0.1:0]
//
// Once both listen it prints one JSON line on stdout,
// {"url":"http://…","control":"http://…"}, and it exits when its standard
// input ends (the test that started it is gone) or on SIGINT.
//
// The server (url):
//
//	POST /credential {"sub":S,"ttl_ms":N,"uses":N,"refuse":R}
//	                 → {"token":T,"expires_at_ms":N}: a credential for S
//	                 that expires after ttl_ms (0: never), admits uses
//	                 connections or frames (0: any number), and, if refuse
//	                 is set, is refused with that error: malformed (4400),
//	                 invalid (4401), expired (4401), forbidden (4403),
//	                 timeout (4408), rate_limited (4429), unavailable (1011)
//	GET /ws/query           Query{InBand: true}, ?ticket=
//	GET /ws/query-plain     Query{} (refusals are HTTP statuses; no auth_ok)
//	GET /ws/subprotocol     Subprotocol{Protocols: test.v1, wsauth; InBand: true}
//	GET /ws/first-message   FirstMessage{}
//	GET /ws/per-message     PerMessage{}
//	GET /ws/silent          a WebSocket without wsauth that never says anything
//
// Every authenticated connection echoes what it is delivered: a text
// message as {"from":subject,"text":message}, a binary one as it is.
//
// The control hooks (control):
//
//	POST /close  {"sub":S,"code":N,"reason":R}  close S's connections (1006: drop them without a close frame)
//	POST /revoke {"sub":S,"reason":R}           Registry.Revoke(S, R): 4401 with reason R
//	POST /stop   {"code":N}                     stop listening, end every connection (default: drop, 1006)
//	POST /start                                 listen again on the same address
//	GET  /stats?sub=S                           {"conns":N,"remote":[addr…],"delivered":[{"type","data","exp_ms"}…]}
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/wsauth/wsauth/wsauth"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen `address` of the server")
	control := flag.String("control", "127.0.0.1:0", "listen `address` of the control hooks")
	flag.Parse()
	if err := run(*addr, *control); err != nil {
		log.Fatalf("testserver: %v", err)
	}
}

func run(addr, control string) error {
	s := newState()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	cln, err := net.Listen("tcp", control)
	if err != nil {
		return err
	}
	go http.Serve(cln, s.controlHandler())
	line, _ := json.Marshal(map[string]string{"url": "http://" + s.addr, "control": "http://" + cln.Addr().String()})
	fmt.Printf("%s\n", line)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
	s.stop(websocket.StatusGoingAway)
	return nil
}

// state is the server's: credentials, live connections, what they were
// delivered.
type state struct {
	addr    string
	reg     *wsauth.Registry
	handler http.Handler

	mu        sync.Mutex
	creds     map[string]*cred
	conns     map[string]map[*wsauth.Conn]string // subject → conn → remote address
	remotes   map[string][]string
	delivered map[string][]delivery
	srv       *http.Server // nil while stopped
	// stopped is the code stop ended connections with, until the next
	// start: a connection accepted just before stop whose handler
	// registers it after stop is ended with it too.
	stopped websocket.StatusCode
	// added is closed, and replaced, whenever a handler registers a
	// connection.
	added chan struct{}
}

// connsOf returns sub's connections, waiting up to a few seconds for a
// first one: a client hears auth_ok (or the 101) before the handler
// that registers its connection runs.
func (s *state) connsOf(sub string) []*wsauth.Conn {
	deadline := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		var all []*wsauth.Conn
		for c := range s.conns[sub] {
			all = append(all, c)
		}
		added := s.added
		s.mu.Unlock()
		if len(all) > 0 {
			return all
		}
		select {
		case <-added:
		case <-deadline:
			return nil
		}
	}
}

type cred struct {
	sub    string
	iat    time.Time
	exp    time.Time
	uses   int // 0: unlimited
	refuse error
}

type delivery struct {
	Type  string `json:"type"` // "text" or "binary"
	Data  string `json:"data"` // text, or base64 of binary
	ExpMS int64  `json:"exp_ms"`
}

func newState() *state {
	s := &state{
		reg:       wsauth.NewRegistry(nil, nil),
		creds:     make(map[string]*cred),
		conns:     make(map[string]map[*wsauth.Conn]string),
		remotes:   make(map[string][]string),
		delivered: make(map[string][]delivery),
		added:     make(chan struct{}),
	}
	opts := &wsauth.Options{Registry: s.reg, Limiter: wsauth.NewLimiter(0, 0)}
	v := wsauth.VerifierFunc(s.verify)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /credential", s.issue)
	for path, strategy := range map[string]wsauth.Strategy{
		"/ws/query":         wsauth.Query{InBand: true},
		"/ws/query-plain":   wsauth.Query{},
		"/ws/subprotocol":   wsauth.Subprotocol{Protocols: []string{"test.v1", "wsauth"}, InBand: true},
		"/ws/first-message": wsauth.FirstMessage{},
		"/ws/per-message":   wsauth.PerMessage{},
	} {
		mux.Handle("GET "+path, wsauth.Handler(wsauth.New(v, strategy, opts), s.echo))
	}
	mux.HandleFunc("GET /ws/silent", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	})
	s.handler = mux
	return s
}

// serve serves the server on ln.
func (s *state) serve(ln net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv, s.stopped = srv, 0
	s.mu.Unlock()
	go srv.Serve(ln)
}

// stop stops listening and ends every connection with code (1006: drops
// it).
func (s *state) stop(code websocket.StatusCode) {
	s.mu.Lock()
	srv := s.srv
	s.srv, s.stopped = nil, code
	var all []*wsauth.Conn
	for _, set := range s.conns {
		for c := range set {
			all = append(all, c)
		}
	}
	s.mu.Unlock()
	if srv != nil {
		srv.Close() // the listener and idle connections; not the hijacked ones
	}
	for _, c := range all {
		end(c, code, "server stopping")
	}
}

// end closes c with code, or drops it for 1006.
func end(c *wsauth.Conn, code websocket.StatusCode, reason string) {
	if code == websocket.StatusAbnormalClosure {
		c.CloseNow()
		return
	}
	go c.Close(code, reason)
}

var refusals = map[string]error{
	"malformed":    wsauth.ErrMalformed,
	"invalid":      wsauth.ErrInvalid,
	"expired":      wsauth.ErrExpired,
	"forbidden":    wsauth.ErrForbidden,
	"timeout":      wsauth.ErrTimeout,
	"rate_limited": wsauth.ErrRateLimited,
	"unavailable":  wsauth.ErrUnavailable,
}

// issue makes a credential.
func (s *state) issue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Sub    string `json:"sub"`
		TTLMS  int64  `json:"ttl_ms"`
		Uses   int    `json:"uses"`
		Refuse string `json:"refuse"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Sub == "" {
		http.Error(w, `expected {"sub":…}`, http.StatusBadRequest)
		return
	}
	c := &cred{sub: req.Sub, iat: time.Now(), uses: req.Uses}
	if req.TTLMS > 0 {
		c.exp = c.iat.Add(time.Duration(req.TTLMS) * time.Millisecond).Truncate(time.Millisecond)
	}
	if req.Refuse != "" {
		if c.refuse = refusals[req.Refuse]; c.refuse == nil {
			http.Error(w, "unknown refusal", http.StatusBadRequest)
			return
		}
	}
	b := make([]byte, 18)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.creds[tok] = c
	s.mu.Unlock()
	var expMS int64
	if !c.exp.IsZero() {
		expMS = c.exp.UnixMilli()
	}
	writeJSON(w, map[string]any{"token": tok, "expires_at_ms": expMS})
}

// verify is the Verifier of every endpoint.
func (s *state) verify(ctx context.Context, tok string, peer wsauth.Peer) (wsauth.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[tok]
	if !ok {
		return wsauth.Principal{}, wsauth.ErrInvalid
	}
	if c.refuse != nil {
		return wsauth.Principal{}, fmt.Errorf("refused as asked: %w", c.refuse)
	}
	if c.uses > 0 {
		if c.uses--; c.uses == 0 {
			delete(s.creds, tok)
		}
	}
	return wsauth.Principal{Subject: c.sub, IssuedAt: c.iat, ExpiresAt: c.exp}, nil
}

// echo is every endpoint's handler: it echoes what it is delivered, and
// records it.
func (s *state) echo(ctx context.Context, c *wsauth.Conn) {
	sub := c.Principal().Subject
	s.mu.Lock()
	if s.conns[sub] == nil {
		s.conns[sub] = make(map[*wsauth.Conn]string)
	}
	s.conns[sub][c] = c.Request().RemoteAddr
	s.remotes[sub] = append(s.remotes[sub], c.Request().RemoteAddr)
	stopped := s.stopped
	close(s.added)
	s.added = make(chan struct{})
	s.mu.Unlock()
	if stopped != 0 {
		end(c, stopped, "server stopping")
	}
	defer func() {
		s.mu.Lock()
		delete(s.conns[sub], c)
		s.mu.Unlock()
	}()
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return
		}
		d := delivery{Type: "text", Data: string(m.Data)}
		if !m.Principal.ExpiresAt.IsZero() {
			d.ExpMS = m.Principal.ExpiresAt.UnixMilli()
		}
		out := m.Data
		if m.Type == websocket.MessageBinary {
			d.Type, d.Data = "binary", base64.StdEncoding.EncodeToString(m.Data)
		} else {
			out, _ = json.Marshal(map[string]string{"from": m.Principal.Subject, "text": string(m.Data)})
		}
		s.mu.Lock()
		s.delivered[sub] = append(s.delivered[sub], d)
		s.mu.Unlock()
		if err := c.Write(ctx, m.Type, out); err != nil {
			return
		}
	}
}

func (s *state) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /close", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Sub    string `json:"sub"`
			Code   int    `json:"code"`
			Reason string `json:"reason"`
		}
		if !decode(w, r, &req) {
			return
		}
		all := s.connsOf(req.Sub)
		for _, c := range all {
			end(c, websocket.StatusCode(req.Code), req.Reason)
		}
		writeJSON(w, map[string]int{"closed": len(all)})
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Sub    string `json:"sub"`
			Reason string `json:"reason"`
		}
		if !decode(w, r, &req) {
			return
		}
		if err := s.reg.Revoke(r.Context(), req.Sub, req.Reason); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Code int `json:"code"`
		}
		if !decode(w, r, &req) {
			return
		}
		if req.Code == 0 {
			req.Code = int(websocket.StatusAbnormalClosure)
		}
		s.stop(websocket.StatusCode(req.Code))
		writeJSON(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /start", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		running := s.srv != nil
		s.mu.Unlock()
		if running {
			http.Error(w, "already running", http.StatusConflict)
			return
		}
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.serve(ln)
		writeJSON(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		sub := r.URL.Query().Get("sub")
		s.mu.Lock()
		out := map[string]any{
			"conns":     len(s.conns[sub]),
			"remote":    append([]string{}, s.remotes[sub]...),
			"delivered": append([]delivery{}, s.delivered[sub]...),
		}
		s.mu.Unlock()
		writeJSON(w, out)
	})
	return mux
}

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
