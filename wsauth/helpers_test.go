package wsauth_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/ticket/memstore"
	"github.com/wsauth/wsauth/wsauth"
)

// testCtx bounds a test's network calls so a bug fails fast instead of
// hanging.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder wraps an Authenticator and hands every refusal to errs, so a
// test can wait for the server's side of a refused handshake.
type recorder struct {
	wsauth.Authenticator
	errs chan error
}

func record(a wsauth.Authenticator) *recorder {
	return &recorder{Authenticator: a, errs: make(chan error, 64)}
}

func (r *recorder) Accept(w http.ResponseWriter, req *http.Request) (*wsauth.Conn, error) {
	c, err := r.Authenticator.Accept(w, req)
	if err != nil {
		r.errs <- err
	}
	return c, err
}

// next waits for the next refusal.
func (r *recorder) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errs:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no refusal recorded")
		return nil
	}
}

// countingStore counts the calls that reach a store.
type countingStore struct {
	ticket.Store
	takes atomic.Int64
}

func (s *countingStore) Take(ctx context.Context, k ticket.Key) (ticket.Ticket, bool, error) {
	s.takes.Add(1)
	return s.Store.Take(ctx, k)
}

func newCountingStore() *countingStore { return &countingStore{Store: memstore.New(nil)} }

// failingStore fails every operation, as a store whose backend is down.
type failingStore struct{}

func (failingStore) Put(context.Context, ticket.Key, ticket.Ticket, time.Duration) error {
	return ticket.ErrStoreUnavailable
}

func (failingStore) Take(context.Context, ticket.Key) (ticket.Ticket, bool, error) {
	return ticket.Ticket{}, false, ticket.ErrStoreUnavailable
}

// echo answers each message with "<subject>: <data>" until the peer goes.
func echo(ctx context.Context, c *wsauth.Conn) {
	for {
		m, err := c.ReadMessage(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, websocket.MessageText, append([]byte(m.Principal.Subject+": "), m.Data...)); err != nil {
			return
		}
	}
}

// roundTrip sends msg on c and returns the answer.
func roundTrip(t *testing.T, ctx context.Context, c *websocket.Conn, msg string) string {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// closeCode reads from c until it fails and returns the close code.
func closeCode(t *testing.T, ctx context.Context, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return websocket.CloseStatus(err), ""
		}
	}
}
