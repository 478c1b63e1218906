package memnet_test

import (
	"net"
	"testing"
	"time"

	"github.com/wsauth/wsauth/internal/testmain"
)

// TestMain fails the run if any goroutine outlives the tests: every
// connection, timer goroutine and server the tests start must be gone.
func TestMain(m *testing.M) {
	testmain.Run(m)
}

// result is what a Read or Write running in its own goroutine returned.
type result struct {
	n   int
	err error
}

// start runs op in a goroutine and returns where its result will arrive.
func start(op func() (int, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := op()
		ch <- result{n, err}
	}()
	return ch
}

// startRead starts a one-byte Read of c.
func startRead(c net.Conn) <-chan result {
	return start(func() (int, error) { return c.Read(make([]byte, 1)) })
}

// requireBlocked fails t if the operation behind ch has returned. Call
// it after synctest.Wait: an operation still running is then durably
// blocked.
func requireBlocked(t *testing.T, ch <-chan result, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned (%d, %v), want it blocked", what, r.n, r.err)
	default:
	}
}

// realTimeLimit bounds the wall-clock time of a test in a bubble whose
// virtual clock runs seconds or more: generous, for the race detector.
const realTimeLimit = 5 * time.Second

// checkRealTime fails t if more than realTimeLimit of real time passed
// since begin. Call it outside the bubble.
func checkRealTime(t *testing.T, begin time.Time) {
	t.Helper()
	if d := time.Since(begin); d > realTimeLimit {
		t.Errorf("test took %v of real time, want under %v", d, realTimeLimit)
	}
}
