package rawws

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/wsauth"
)

// StalledWriter is the handler of the stalled-writer attack, for a
// client that reads nothing, in a synctest bubble: it waits in a Read on
// the handler's context ctx while another Write stalls on the full
// buffers, then writes with a deadline of its own, which gives up waiting
// for the stalled one and so ends the connection. Whatever runs on ctx
// must end with it: StalledWriter fails t if the stalled Write, the
// waiting Read or a Read started afterwards returns no error, and blocks
// for good (the bubble deadlocks) if one of them never returns.
func StalledWriter(t testing.TB, ctx context.Context, c *wsauth.Conn) {
	t.Helper()
	read, stalled := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := c.Read(ctx)
		read <- err
	}()
	go func() {
		big := make([]byte, 1<<20)
		for {
			if err := c.Write(ctx, websocket.MessageBinary, big); err != nil {
				stalled <- err
				return
			}
		}
	}()
	synctest.Wait() // the Read waits, the Write is stalled on full buffers
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := c.Write(wctx, websocket.MessageText, []byte("x"))
	cancel()
	if err == nil {
		t.Error("a Write behind a stalled one succeeded")
	}
	if ctx.Err() == nil {
		t.Error("the connection is gone and the handler's context is not done")
	}
	if err := <-read; err == nil {
		t.Error("the waiting Read returned a message")
	}
	if err := <-stalled; err == nil {
		t.Error("the stalled Write returned no error")
	}
	if _, err := c.Read(ctx); err == nil {
		t.Error("a Read after the end returned a message")
	}
}
