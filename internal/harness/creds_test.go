package harness

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsauth/wsauth/ticket"
)

// credRec is the ground truth about one credential the harness minted:
// whom it names, when it was issued (the whole minting call: the
// credential's own issue time lies within), when it expires, its
// revocation IDs. The secret itself is kept only to present it and to
// search the captured text for it.
type credRec struct {
	id                 int
	jwt                bool
	secret             string
	subject            string
	jti, sid           string
	mintStart, mintEnd time.Time
	exp                time.Time // zero: none (a ticket authenticates the handshake only)
	bad                bool      // the verifier refuses it
}

type credTable struct {
	mu       sync.Mutex
	all      []credRec
	bySecret map[string]int
}

func newCredTable() *credTable {
	return &credTable{bySecret: map[string]int{}}
}

func (t *credTable) add(c credRec) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.id = len(t.all)
	t.all = append(t.all, c)
	t.bySecret[c.secret] = c.id
	return c.id
}

func (t *credTable) get(id int) credRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.all[id]
}

// lookup returns the id of the credential secret, or -1.
func (t *credTable) lookup(secret string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.bySecret[secret]; ok {
		return id
	}
	return -1
}

func (t *credTable) snapshot() []credRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]credRec(nil), t.all...)
}

// mintJWT signs a JWT for subject with key, issued now ("iat" to the
// millisecond, as jwtverify reads it) and expiring after ttl ("exp" in
// whole seconds).
func (w *world) mintJWT(subject, jti, sid string, ttl time.Duration, key []byte, bad bool) int {
	start := time.Now()
	now := time.Now()
	exp := now.Add(ttl).Unix()
	claims := jwt.MapClaims{"sub": subject, "iat": float64(now.UnixMilli()) / 1000, "exp": exp, "jti": jti, "sid": sid}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		w.t.Fatalf("harness: sign: %v", err)
	}
	return w.creds.add(credRec{jwt: true, secret: tok, subject: subject, jti: jti, sid: sid,
		mintStart: start, mintEnd: time.Now(), exp: time.Unix(exp, 0), bad: bad})
}

// mintTicket issues a ticket for subject in n's store, bound to bind
// unless it is the zero Addr, carrying jti and sid as metadata (which
// become its Principal's claims). A ticket that cannot be stored (redis
// down) is recorded as a bad credential: an ID no store holds.
func (w *world) mintTicket(n *node, subject, jti, sid string, bind netip.Addr, ttl time.Duration) int {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	iss := &ticket.Issuer{Store: n.store, TTL: ttl}
	id, _, err := iss.Issue(ctx, ticket.Ticket{Subject: subject, ClientIP: bind, Metadata: map[string]string{"jti": jti, "sid": sid}})
	bad := false
	if err != nil {
		w.cap.add("issue error", err.Error())
		id, bad = newTicketID(), true
	}
	return w.creds.add(credRec{secret: id, subject: subject, jti: jti, sid: sid, mintStart: start, mintEnd: time.Now(), bad: bad})
}

// noAddr binds a ticket to no address.
var noAddr netip.Addr

// newTicketID is an ID in the ticket format that no store holds.
func newTicketID() string {
	id, _ := ticket.NewID()
	return id
}

// newJTI returns a token ID unique in the whole test run.
func (w *world) newJTI() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jtis++
	return fmt.Sprintf("%s-j%d", w.prefix, w.jtis)
}

func (w *world) subject(s int) string { return fmt.Sprintf("%s-u%d", w.prefix, s) }

// sessionSID is the session ID of a client's connection: every
// credential minted for it, the first and its refreshes, carries it.
func (w *world) sessionSID(key string) string { return fmt.Sprintf("%s-s%s", w.prefix, key) }

// credFor mints the credential o asks for, for client cl on route rt of
// node n; it may revoke first (credRevokedJTI, credRevokedSID), as the
// op's own step.
func (w *world) credFor(o op, cl *client, n *node, rt routeSpec) int {
	subject := w.subject(o.S)
	ttl := o.TTL
	if ttl == 0 {
		ttl = w.cfg.longTTL
	}
	cl.mu.Lock()
	sid := w.sessionSID(cl.key)
	cl.mu.Unlock()
	mint := func(subject, jti, sid string, ttl time.Duration) int {
		if rt.jwt {
			return w.mintJWT(subject, jti, sid, ttl, w.signer.Key, false)
		}
		return w.mintTicket(n, subject, jti, sid, cl.ip, max(ttl, w.cfg.longTTL))
	}
	switch o.Cred {
	case credHeld:
		if id, ok := w.holds[o.H]; ok {
			return id
		}
		return mint(subject, w.newJTI(), sid, ttl)
	case credExpired:
		if rt.jwt {
			return w.mintJWT(subject, w.newJTI(), sid, -time.Minute, w.signer.Key, true)
		}
		id := w.mintTicket(n, subject, w.newJTI(), sid, cl.ip, time.Millisecond)
		// Waiting out its millisecond of life: a ticket cannot be issued
		// already expired.
		time.Sleep(2 * time.Millisecond)
		return id
	case credBad:
		if rt.jwt {
			return w.mintJWT(subject, w.newJTI(), sid, ttl, w.foreign.Key, true)
		}
		return w.creds.add(credRec{secret: newTicketID(), subject: subject, jti: w.newJTI(), bad: true, mintStart: time.Now(), mintEnd: time.Now()})
	case credRevokedJTI:
		id := mint(subject, w.newJTI(), sid, ttl)
		w.revokeToken(n, w.creds.get(id).jti)
		return id
	case credRevokedSID:
		jti := w.newJTI()
		sid := jti + "-session"
		id := mint(subject, jti, sid, ttl)
		w.revokeToken(n, sid)
		return id
	}
	return mint(subject, w.newJTI(), sid, ttl)
}
