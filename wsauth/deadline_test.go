package wsauth_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsauth/wsauth/internal/rawws"
	"github.com/wsauth/wsauth/wsauth"
)

// TestSharedDeadlineBothPhases is the attack of a client that sends its
// credential late, then stops reading so that auth_ok stalls: the first
// read and auth_ok's write share one timer, which must cut each phase
// in its turn. Sent in time, the credential is checked and the stalled
// auth_ok is cut 10 s later; sent at the deadline, it is refused as late
// or, if it won the race, cut the same way.
func TestSharedDeadlineBothPhases(t *testing.T) {
	for _, timeout := range []time.Duration{time.Second, 30 * time.Second} {
		for _, rt := range []route{firstMessageRoute, perMessageRoute} {
			strategy := rt.strategy
			switch strategy.(type) {
			case wsauth.FirstMessage:
				strategy = wsauth.FirstMessage{Timeout: timeout}
			case wsauth.PerMessage:
				strategy = wsauth.PerMessage{Timeout: timeout}
			}
			for _, late := range []time.Duration{timeout - time.Millisecond, timeout} {
				t.Run(rt.name+"/"+timeout.String()+"/"+late.String(), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						nc, done := acceptRaw(t, wsauth.New(verifier(), strategy, nil))
						start := time.Now()
						frame := authFrame(t, rt, "alice-token")
						// Pongs fill the buffer towards the client first;
						// the credential comes late.
						go func() {
							nc.Write(rawws.PingFlood(nil, rawBuf-8))
							time.Sleep(late - time.Since(start))
							nc.Write(rawws.ClientFrame(nil, 0x1, frame))
						}()
						r := <-done
						d := r.at.Sub(start)
						cut := r.err != nil && !errors.Is(r.err, wsauth.ErrTimeout) && d == late+10*time.Second
						// A refusal's close waits at most 5 s for the
						// client's close frame.
						refused := errors.Is(r.err, wsauth.ErrTimeout) && d >= timeout && d <= timeout+5*time.Second
						switch {
						case late < timeout && !cut:
							t.Fatalf("sent in time: Accept returned %v after %v, want the stalled auth_ok cut after %v", r.err, d, late+10*time.Second)
						case late == timeout && !cut && !refused:
							t.Fatalf("sent at the deadline: Accept returned %v after %v", r.err, d)
						}
					})
				})
			}
		}
	}
}
