package wsauth

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
)

// recorder is an endpoint that records what the life asks of it.
type recorder struct {
	mu      sync.Mutex
	notices []time.Duration // time before the expiry at each notice
	closed  []websocket.StatusCode
}

func (r *recorder) closeWith(code websocket.StatusCode, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = append(r.closed, code)
}

func (r *recorder) takesNotices() bool { return true }

func (r *recorder) sendNotice(exp time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, time.Until(exp))
}

func (r *recorder) seen() (int, []websocket.StatusCode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.notices), append([]websocket.StatusCode(nil), r.closed...)
}

// TestTimerRunUnderWayWhenReArmed: a run of the timer can already be
// under way, waiting for the lock, when a refresh re-arms it for a later
// expiry; it then runs late, at the old notice time or the old expiry.
// Such a run must do nothing: the notice comes at the new lead, the end at
// the new expiry, once each.
func TestTimerRunUnderWayWhenReArmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(VerifierFunc(func(context.Context, string, Peer) (Principal, error) { return Principal{}, nil }), FirstMessage{}, nil)
		start := time.Now()
		var l life
		l.init(a, context.Background(), netip.IPv6Loopback(), start, Principal{Subject: "alice", ExpiresAt: start.Add(time.Minute)})
		if err := l.begin([2]ticket.Key{}, 0); err != nil {
			t.Fatal(err)
		}
		var ep recorder
		if !l.attach(&ep) {
			t.Fatal("attach refused")
		}
		// Refreshed: the principal now expires in two minutes.
		if !l.set(&Principal{Subject: "alice", ExpiresAt: start.Add(2 * time.Minute)}, [2]ticket.Key{}, 0) {
			t.Fatal("set refused")
		}
		for _, at := range []time.Duration{0, 30 * time.Second, time.Minute} {
			time.Sleep(at - time.Since(start))
			l.fire() // the run armed before the refresh, late
			synctest.Wait()
			if n, closed := ep.seen(); n != 0 || len(closed) != 0 {
				t.Fatalf("a stale run at %v acted: %d notices, closed %v", at, n, closed)
			}
		}
		time.Sleep(start.Add(90*time.Second - time.Nanosecond).Sub(time.Now()))
		synctest.Wait()
		if n, _ := ep.seen(); n != 0 {
			t.Fatalf("notice before its lead: %d", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n, closed := ep.seen(); n != 1 || len(closed) != 0 || ep.notices[0] != 30*time.Second {
			t.Fatalf("at the new notice time: notices %v, closed %v", ep.notices, closed)
		}
		l.fire() // a second run at the notice time sends no second notice
		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		if n, closed := ep.seen(); n != 1 || len(closed) != 0 {
			t.Fatalf("before the new expiry: %d notices, closed %v", n, closed)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n, closed := ep.seen(); n != 1 || len(closed) != 1 || closed[0] != 4401 {
			t.Fatalf("at the new expiry: %d notices, closed %v, want [4401]", n, closed)
		}
		if _, _, why, ok := l.endedByUs(); !ok || why != "expired" {
			t.Fatalf("ended %q by us %v", why, ok)
		}
	})
}

// ctxSocket is a Socket that records the context of each Read and Write.
// TestTimerRunWithTimeLeft: a timer run that finds time left, because
// the wall clock (by which a JWT's exp is due) stepped back since the
// timer was armed on the monotonic clock, arms it again: the notice and
// the expiry still come. The step is simulated: the armed timer is
// stopped and its run made by hand 1 s before the expiry's notice.
func TestTimerRunWithTimeLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(VerifierFunc(func(context.Context, string, Peer) (Principal, error) { return Principal{}, nil }), FirstMessage{}, nil)
		start := time.Now()
		exp := start.Add(time.Minute).Round(0) // as a JWT's exp: no monotonic reading
		var l life
		l.init(a, context.Background(), netip.IPv6Loopback(), start, Principal{Subject: "alice", ExpiresAt: exp})
		if err := l.begin([2]ticket.Key{}, 0); err != nil {
			t.Fatal(err)
		}
		var ep recorder
		if !l.attach(&ep) {
			t.Fatal("attach refused")
		}
		l.mu.Lock()
		l.timer.Stop()
		l.mu.Unlock()
		time.Sleep(29 * time.Second)
		l.fire()
		synctest.Wait()
		if n, closed := ep.seen(); n != 0 || len(closed) != 0 {
			t.Fatalf("an early run acted: %d notices, closed %v", n, closed)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n, _ := ep.seen(); n != 1 {
			t.Fatalf("at the notice time after an early run: %d notices, want 1", n)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if _, closed := ep.seen(); len(closed) != 1 || closed[0] != 4401 {
			t.Fatalf("at the expiry after an early run: closed %v, want [4401]", closed)
		}
	})
}

// TestTimerRunWithTimeLeftAndNoTimer: a life accepted already due by the
// clock has no timer, only a run of fire on a goroutine; if that run finds
// time left (the wall clock stepped back meanwhile), it makes the timer
// rather than reset one that does not exist, and the expiry still comes.
func TestTimerRunWithTimeLeftAndNoTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(VerifierFunc(func(context.Context, string, Peer) (Principal, error) { return Principal{}, nil }), FirstMessage{}, nil)
		exp := time.Now().Add(time.Minute).Round(0)
		var l life
		l.init(a, context.Background(), netip.IPv6Loopback(), time.Now(), Principal{Subject: "alice", ExpiresAt: exp})
		if l.timer != nil {
			t.Fatal("a timer before any arming")
		}
		var ep recorder
		l.ep = &ep
		l.fire() // the run armLocked started when it found the principal due
		time.Sleep(time.Minute)
		synctest.Wait()
		if _, closed := ep.seen(); len(closed) != 1 || closed[0] != 4401 {
			t.Fatalf("at the expiry: closed %v, want [4401]", closed)
		}
	})
}

type ctxSocket struct {
	mu   sync.Mutex
	ctxs []context.Context
}

func (s *ctxSocket) record(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctxs = append(s.ctxs, ctx)
}

func (s *ctxSocket) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	s.record(ctx)
	return websocket.MessageText, []byte("hi"), nil
}

func (s *ctxSocket) Write(ctx context.Context, _ websocket.MessageType, _ []byte) error {
	s.record(ctx)
	return nil
}

func (s *ctxSocket) Close(websocket.StatusCode, string) error { return nil }
func (s *ctxSocket) SetReadLimit(int64)                       {}

// TestSocketContext: Read and Write give the socket a context without
// Done for the handler's context, so that the socket registers nothing
// with it and the handler's context makes no state of its own; its values
// are there still. Any other context reaches the socket as it is.
func TestSocketContext(t *testing.T) {
	a := New(VerifierFunc(func(context.Context, string, Peer) (Principal, error) {
		return Principal{}, errors.New("unused")
	}), Query{}, nil)
	s := &ctxSocket{}
	type key struct{}
	c := &Conn{sock: s}
	c.init(a, context.WithValue(context.Background(), key{}, "v"), netip.Addr{}, time.Now(), Principal{Subject: "alice"})
	hctx := c.handlerContext()
	own, cancel := context.WithCancel(hctx)
	defer cancel()
	for _, ctx := range []context.Context{hctx, own} {
		if _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ctx := range s.ctxs[:2] {
		if ctx.Done() != nil || ctx.Value(key{}) != "v" {
			t.Errorf("call %d on the handler's context: the socket got a context with Done %v, value %v", i, ctx.Done(), ctx.Value(key{}))
		}
		if p, ok := PrincipalFrom(ctx); !ok || p.Subject != "alice" {
			t.Errorf("call %d on the handler's context: no principal in the socket's context", i)
		}
	}
	for i, ctx := range s.ctxs[2:] {
		if ctx != own {
			t.Errorf("call %d on a context of the handler's own: the socket got another", i)
		}
	}
	c.mu.Lock()
	made := c.hs != nil
	c.mu.Unlock()
	// own was derived from hctx: it registered an AfterFunc, so the
	// state exists; a Conn read and written only with hctx has none.
	if !made {
		t.Error("a context derived from the handler's registered no AfterFunc")
	}
	c2 := &Conn{sock: &ctxSocket{}}
	c2.init(a, context.Background(), netip.Addr{}, time.Now(), Principal{Subject: "bob"})
	if _, err := c2.Read(c2.handlerContext()); err != nil {
		t.Fatal(err)
	}
	if c2.hs != nil {
		t.Error("reading on the handler's context made its state")
	}
}

// blockingSocket is a Socket whose Read blocks until its context is done
// or it is closed.
type blockingSocket struct {
	ctxSocket
	once   sync.Once
	closed chan struct{}
}

func (s *blockingSocket) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	s.record(ctx)
	select {
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-s.closed:
		return 0, nil, errors.New("closed")
	}
}

func (s *blockingSocket) Write(ctx context.Context, _ websocket.MessageType, _ []byte) error {
	_, _, err := s.Read(ctx)
	return err
}

// CloseNow fails once closed, as coder/websocket's does.
func (s *blockingSocket) CloseNow() error {
	err := errors.New("already closed")
	s.once.Do(func() { close(s.closed); err = nil })
	return err
}

// TestHandlerContextEndsSocketCalls: when the connection ends as "gone"
// (as ioErr ends it for a failed Write, with the socket still open), a
// Read under way on the handler's context, which the socket got
// l.values() for, is cut: the end of the context closes the socket. A
// Read or Write that starts after the end reaches no socket.
func TestHandlerContextEndsSocketCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(VerifierFunc(func(context.Context, string, Peer) (Principal, error) {
			return Principal{}, errors.New("unused")
		}), Query{}, nil)
		s := &blockingSocket{closed: make(chan struct{})}
		c := &Conn{sock: s}
		c.init(a, context.Background(), netip.Addr{}, time.Now(), Principal{Subject: "alice"})
		if !c.attach(c) {
			t.Fatal("attach refused")
		}
		hctx := c.handlerContext()
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(hctx)
			done <- err
		}()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Read returned before the end: %v", err)
		default:
		}
		c.endByPeer("gone", websocket.StatusAbnormalClosure) // as ioErr does
		synctest.Wait()
		wantCut(t, done, "Read")
		s.mu.Lock()
		calls := len(s.ctxs)
		s.mu.Unlock()
		if _, err := c.Read(hctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("a Read after the end: %v, want context.Canceled", err)
		}
		if err := c.Write(hctx, websocket.MessageText, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("a Write after the end: %v, want context.Canceled", err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.ctxs) != calls {
			t.Error("a call after the end reached the socket, whose Read need not watch its context")
		}
		d := hctx.Done()
		select {
		case <-d:
		default:
			t.Error("Done, first asked for after the end, is not closed")
		}
		if hctx.Done() != d || hctx.Err() == nil {
			t.Error("Done changed between calls, or Err is nil after the end")
		}
	})
}

// TestHandlerContextEndCutsWrites: a Write under way on the handler's
// context is cut, like a Read, when the context ends; the handler's own
// CloseNow, with a Read under way, answers for itself.
func TestHandlerContextEndCutsWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(VerifierFunc(func(context.Context, string, Peer) (Principal, error) {
			return Principal{}, errors.New("unused")
		}), Query{}, nil)
		newConn := func() (*Conn, context.Context) {
			c := &Conn{sock: &blockingSocket{closed: make(chan struct{})}}
			c.init(a, context.Background(), netip.Addr{}, time.Now(), Principal{Subject: "alice"})
			if !c.attach(c) {
				t.Fatal("attach refused")
			}
			return c, c.handlerContext()
		}
		c, hctx := newConn()
		wrote := make(chan error, 1)
		go func() { wrote <- c.Write(hctx, websocket.MessageText, []byte("x")) }()
		synctest.Wait()
		c.cancelHandler()
		synctest.Wait()
		wantCut(t, wrote, "Write")

		c, hctx = newConn()
		read := make(chan error, 1)
		go func() { _, err := c.Read(hctx); read <- err }()
		synctest.Wait()
		if err := c.CloseNow(); err != nil {
			t.Errorf("CloseNow with a Read under way: %v", err)
		}
		if err := <-read; err == nil {
			t.Error("the Read under CloseNow returned no error")
		}
	})
}

// wantCut fails t unless the call reporting on result, in a synctest
// bubble that has just settled, has returned an error.
func wantCut(t *testing.T, result <-chan error, call string) {
	t.Helper()
	select {
	case err := <-result:
		if err == nil {
			t.Errorf("the cut %s returned no error", call)
		}
	default:
		t.Fatalf("the handler's context ended, and a %s on it still blocks", call)
	}
}
