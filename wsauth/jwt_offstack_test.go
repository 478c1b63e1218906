package wsauth

import (
	"context"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Uncached tokens are parsed on a goroutine of their own (verifyOffStack);
// a panic there must still reach the caller, where Options.verify turns it
// into a refusal, and not crash the process.
func TestJWTKeyfuncPanicReachesCaller(t *testing.T) {
	o := baseOpts(newClock())
	o.Keyfunc = func(*jwt.Token) (any, error) { panic("keyfunc bug") }
	v := mustJWT(t, o)
	tok := mintHS(t, claims())

	func() {
		defer func() {
			if r := recover(); r != "keyfunc bug" {
				t.Errorf("recovered %v, want the Keyfunc's panic", r)
			}
		}()
		v.Verify(context.Background(), tok, Peer{})
		t.Error("Verify returned; want the Keyfunc's panic")
	}()

	opts := &Options{Verifier: v, Now: newClock().Now}
	if _, err := opts.verify(context.Background(), tok, Peer{}); !errors.Is(err, ErrInternal) {
		t.Fatalf("Options.verify: %v, want ErrInternal", err)
	}
}
