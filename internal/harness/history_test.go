package harness

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/wsauth"
)

// history is everything recorded while a history ran, each with the time
// it happened. It never holds a credential: credentials are named by their
// id in the world's credential table.
type history struct {
	mu sync.Mutex

	verifies   []verifyCall
	deliveries []delivery
	writes     []sockWrite
	served     []servedConn
	events     []nodeEvent
	revs       []revocation
	cuts       []cutSpan
	catchUps   []catchUpRun
	busRevs    []busRev
	faults     []fault
	sent       map[string]sentFrame // frame id -> what carried it
	receipts   []receipt
	clientEnds []clientEnd
	opsRun     []string
	notes      []string
}

type verifyCall struct {
	node       int
	addr       netip.Addr
	key        string
	cred       int // -1: not one the harness minted
	start, end time.Time
	done       bool
	ok         bool
	spent      bool // refused for the client's fault: the budget is charged
}

// delivery is a frame Conn.Read returned to the handler.
type delivery struct {
	node  int
	key   string
	frame string
	jti   string // of the Principal wsauth delivered it with
	t     time.Time
}

// sockWrite is an application frame handed to the socket after
// Conn.Write let it through.
type sockWrite struct {
	node    int
	key     string
	payload string
	jti     string // of the connection's principal at that moment
	start   time.Time
	done    bool
	ok      bool
}

// servedConn is a connection whose handler ran.
type servedConn struct {
	node       int
	key        string
	route      string
	perMessage bool
	jti        string
	t          time.Time
}

type nodeEvent struct {
	node int
	key  string
	e    wsauth.Event
	t    time.Time
}

type revKind uint8

const (
	revSubject revKind = iota + 1
	revID
)

// revocation is one Registry.Revoke or RevokeToken call.
type revocation struct {
	node       int
	kind       revKind
	value      string // subject, or jti / sid
	start, end time.Time
	err        string
}

// cutSpan is a time a node's bus was not listening: from the cut to the
// end of the catch-up that followed (end zero: never caught up).
type cutSpan struct {
	node       int
	start, end time.Time
	cause      string
}

// busRev is a revocation a node's Registry was handed by the bus.
type busRev struct {
	node int
	rev  ticket.Revocation
	t    time.Time
}

type catchUpRun struct {
	node       int
	start, end time.Time
}

// fault is a redis fault; repaired is when it was over (zero: never).
type fault struct {
	kind     opKind
	t        time.Time
	repaired time.Time
}

type sentFrame struct {
	cred int
	t    time.Time
}

// receipt is an application frame a client received.
type receipt struct {
	key     string
	payload string
	t       time.Time
}

type clientEnd struct {
	key    string
	code   int
	reason string
	t      time.Time
}

func newHistory() *history { return &history{sent: map[string]sentFrame{}} }

func (h *history) verifyStart(node int, addr netip.Addr, key string, cred int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.verifies = append(h.verifies, verifyCall{node: node, addr: addr, key: key, cred: cred, start: time.Now()})
	return len(h.verifies) - 1
}

func (h *history) verifyEnd(i int, ok, spent bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := &h.verifies[i]
	v.end, v.done, v.ok, v.spent = time.Now(), true, ok, spent
}

func (h *history) delivered(node int, key, frame, jti string) {
	t := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deliveries = append(h.deliveries, delivery{node: node, key: key, frame: frame, jti: jti, t: t})
}

func (h *history) writeStart(node int, key, payload, jti string) int {
	t := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes = append(h.writes, sockWrite{node: node, key: key, payload: payload, jti: jti, start: t})
	return len(h.writes) - 1
}

func (h *history) writeEnd(i int, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes[i].done, h.writes[i].ok = true, ok
}

func (h *history) servedNow(node int, key string, rt routeSpec, jti string) {
	t := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.served = append(h.served, servedConn{node: node, key: key, route: rt.name(), perMessage: rt.strategy().perMessage, jti: jti, t: t})
}

func (h *history) event(node int, key string, e wsauth.Event) {
	t := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, nodeEvent{node: node, key: key, e: e, t: t})
}

func (h *history) eventCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// refusedSince reports whether a refusal on connection key is among the
// events from index i on.
func (h *history) refusedSince(key string, i int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events[i:] {
		if e.key == key && e.e.Kind == wsauth.EventRefused {
			return true
		}
	}
	return false
}

func (h *history) revoked(r revocation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revs = append(h.revs, r)
}

func (h *history) cutStart(node int, cause string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cuts = append(h.cuts, cutSpan{node: node, start: time.Now(), cause: cause})
}

// cutEnd ends node's open cut spans of cause.
func (h *history) cutEnd(node int, cause string) {
	t := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.cuts {
		if c := &h.cuts[i]; c.node == node && c.cause == cause && c.end.IsZero() {
			c.end = t
		}
	}
}

func (h *history) catchUp(node int, start, end time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.catchUps = append(h.catchUps, catchUpRun{node: node, start: start, end: end})
}

func (h *history) busDelivered(node int, r ticket.Revocation) {
	t := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busRevs = append(h.busRevs, busRev{node: node, rev: r, t: t})
}

func (h *history) faulted(k opKind) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, fault{kind: k, t: time.Now()})
	return len(h.faults) - 1
}

func (h *history) repaired(i int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults[i].repaired = time.Now()
}

func (h *history) sentBy(frame string, cred int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent[frame] = sentFrame{cred: cred, t: time.Now()}
}

func (h *history) received(key, payload string) {
	t := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.receipts = append(h.receipts, receipt{key: key, payload: payload, t: t})
}

func (h *history) clientEnded(key string, code int, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clientEnds = append(h.clientEnds, clientEnd{key: key, code: code, reason: reason, t: time.Now()})
}

func (h *history) ran(o op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opsRun = append(h.opsRun, opNames[o.Kind])
}

func (h *history) note(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notes = append(h.notes, fmt.Sprintf(format, args...))
}

// signal wakes every goroutine waiting for the history to change: the
// harness waits on it, with a bound, instead of sleeping.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// waitFor waits until cond holds, for at most d, re-checking whenever the
// history changes. It reports whether cond held.
func (s *signal) waitFor(d time.Duration, cond func() bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		ch := s.wait()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-t.C:
			return cond()
		}
	}
}

// capture is every text the library and its users could log or send
// while a history ran: log and slog output, http.Server error logs, the
// go-redis log, events, errors, close reasons, response headers and
// bodies, requests as handlers see them. The checker searches it for
// credentials.
type capture struct {
	mu sync.Mutex
	b  strings.Builder
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.Write(p)
	c.b.WriteByte('\n')
	return len(p), nil
}

func (c *capture) add(what, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.WriteString(time.Now().Format("04:05.000000 "))
	c.b.WriteString(what)
	c.b.WriteString(": ")
	c.b.WriteString(s)
	c.b.WriteByte('\n')
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// logSink is where the process's log, slog and go-redis output goes:
// the running history's capture, or stderr between histories.
var logSink atomic.Pointer[capture]

type sinkWriter struct{}

func (sinkWriter) Write(p []byte) (int, error) {
	if c := logSink.Load(); c != nil {
		return c.Write(p)
	}
	return os.Stderr.Write(p)
}

type redisLogger struct{}

func (redisLogger) Printf(_ context.Context, format string, v ...any) {
	fmt.Fprintf(sinkWriter{}, "redis: "+format, v...)
}

// installLogSinks sends log, slog (at debug level) and go-redis output to
// logSink, for the whole test binary.
func installLogSinks() {
	slog.SetDefault(slog.New(slog.NewTextHandler(sinkWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.SetOutput(sinkWriter{})
	redis.SetLogger(redisLogger{})
}

var _ io.Writer = sinkWriter{}
