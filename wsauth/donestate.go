package wsauth

import "sync"

// doneState is what a context wsauth makes lazily (the handler's, an
// upgraded attempt's checks') holds once Done or AfterFunc is asked of
// it: its Done channel and the functions waiting for its end. An
// AfterFunc lets a context derived from it (context.WithTimeout,
// context.AfterFunc, go-redis's) end with it without a goroutine of its
// own, as under a cancelCtx; the first has a place of its own, as most
// contexts have one child at a time. mu, its owner's, guards it.
type doneState struct {
	mu   *sync.Mutex
	done chan struct{} // made by doneLocked
	one  *afterFunc
	more map[*afterFunc]struct{}
}

type afterFunc struct {
	f func()
	s *doneState
}

// closedChan is the Done of a context that ended before its Done was
// asked for.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// doneLocked returns the Done channel, made if need be.
func (s *doneState) doneLocked() <-chan struct{} {
	if s.done == nil {
		s.done = make(chan struct{})
	}
	return s.done
}

// addLocked registers f to start at the end; stop unregisters it, and
// reports whether it kept f from starting.
func (s *doneState) addLocked(f func()) (stop func() bool) {
	a := &afterFunc{f: f, s: s}
	switch {
	case s.one == nil:
		s.one = a
	case s.more == nil:
		s.more = map[*afterFunc]struct{}{a: {}}
	default:
		s.more[a] = struct{}{}
	}
	return a.stop
}

func (a *afterFunc) stop() bool {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.one == a {
		s.one = nil
		return true
	}
	_, ok := s.more[a]
	delete(s.more, a)
	return ok
}

// endLocked closes Done, if made, under the owner's mutex, so that Err
// and Done agree, and returns the functions to start, which the owner
// may start once it has released its mutex. A value, not a closure: a
// check context ends on every in-band handshake.
func (s *doneState) endLocked() pending {
	if s.done != nil {
		close(s.done)
	}
	p := pending{s.one, s.more}
	s.one, s.more = nil, nil
	return p
}

// pending is the AfterFuncs of a context that has ended.
type pending struct {
	one  *afterFunc
	more map[*afterFunc]struct{}
}

// start starts them, each in a goroutine of its own.
func (p pending) start() {
	if p.one != nil {
		go p.one.f()
	}
	for a := range p.more {
		go a.f()
	}
}
