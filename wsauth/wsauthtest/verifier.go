package wsauthtest

import (
	"context"
	"sync"

	"github.com/wsauth/wsauth/wsauth"
)

// Verifier is a fake wsauth.Verifier that maps credentials to principals.
// An unknown credential is refused with wsauth.ErrInvalid. It is safe for
// concurrent use; the zero value knows no credentials.
//
// It is not a wsauth.StableVerifier, as jwtverify's Verifier is: on a
// PerMessage route every frame's token goes through it, the revocations
// and the Authorizer, where with jwtverify a frame repeating the last
// verified token does not. To test what a route does with jwtverify,
// give the Authenticator a type that embeds *Verifier and has a Stable
// method (see wsauth.StableVerifier), or jwtverify itself with
// wsauthtest's Signer.
type Verifier struct {
	mu    sync.Mutex
	creds map[string]wsauth.Principal
	err   error
	calls int
	peers []wsauth.Peer
}

// NewVerifier returns a Verifier that knows creds.
func NewVerifier(creds map[string]wsauth.Principal) *Verifier {
	v := &Verifier{}
	for c, p := range creds {
		v.Set(c, p)
	}
	return v
}

// Set makes cred authenticate as p.
func (v *Verifier) Set(cred string, p wsauth.Principal) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.creds == nil {
		v.creds = make(map[string]wsauth.Principal)
	}
	v.creds[cred] = p
}

// Delete forgets cred.
func (v *Verifier) Delete(cred string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.creds, cred)
}

// SetError makes every Verify fail with err (for example
// wsauth.ErrUnavailable, to simulate an outage); nil restores normal
// behaviour.
func (v *Verifier) SetError(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.err = err
}

// Calls returns how many times Verify ran.
func (v *Verifier) Calls() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls
}

// Peers returns the peers Verify saw, in order.
func (v *Verifier) Peers() []wsauth.Peer {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]wsauth.Peer(nil), v.peers...)
}

// Verify implements wsauth.Verifier.
func (v *Verifier) Verify(ctx context.Context, cred string, peer wsauth.Peer) (wsauth.Principal, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	v.peers = append(v.peers, peer)
	if v.err != nil {
		return wsauth.Principal{}, v.err
	}
	p, ok := v.creds[cred]
	if !ok {
		return wsauth.Principal{}, wsauth.ErrInvalid
	}
	return p, nil
}
