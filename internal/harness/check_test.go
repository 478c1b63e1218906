package harness

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/wsauth/wsauth/ticket"
	"github.com/wsauth/wsauth/wsauth"
)

// violation is one way a history broke an invariant.
type violation struct {
	kind   string
	t      time.Time
	detail string
}

// Kinds of violation.
const (
	vDeliveredAfterRevocation = "delivered after revocation"
	vWrittenAfterRevocation   = "written after revocation"
	vServedAfterRevocation    = "served after revocation"
	vAcceptedAfterRevocation  = "accepted after revocation"
	vDeliveredAfterExpiry     = "delivered after expiry"
	vWrittenAfterExpiry       = "written after expiry"
	vServedAfterExpiry        = "served after expiry"
	vDeliveredAfterEnd        = "delivered after end"
	vWrittenAfterEnd          = "written after end"
	vServedAfterEnd           = "served after end"
	vUnknownPrincipal         = "unknown principal"
	vMisattributed            = "misattributed frame"
	vRedeemedTwice            = "ticket redeemed twice"
	vBudget                   = "budget overrun"
	vLeak                     = "credential leaked"
	vUnrecorded               = "unrecorded frame"
)

// endReasons are the EventClosed reasons of a connection wsauth ended
// (expiry, revocation, a refused later credential); "closed" and "gone"
// are the handler's and the peer's.
func endedByUs(reason string) bool { return reason != "closed" && reason != "gone" }

// checker holds the indexes of one history.
type checker struct {
	w     *world
	h     *history
	cfg   *config
	creds map[string]credRec // by jti
	ended map[string]time.Time
	perMS map[string]bool   // connection is per-message
	route map[string]string // connection's route
	spans map[int][]cutSpan
	ok    map[string][]verifyCall // successful verifier calls by node/key/cred
	seen  map[string]bool
	out   []violation
}

func (w *world) check() []violation {
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &checker{w: w, h: h, cfg: &w.cfg, creds: map[string]credRec{}, ended: map[string]time.Time{},
		perMS: map[string]bool{}, route: map[string]string{}, spans: map[int][]cutSpan{}, ok: map[string][]verifyCall{}, seen: map[string]bool{}}
	all := w.creds.snapshot()
	for _, cr := range all {
		if cr.jti != "" {
			c.creds[cr.jti] = cr
		}
	}
	for _, e := range h.events {
		if e.e.Kind == wsauth.EventClosed && endedByUs(e.e.Reason) && e.key != "" {
			if t, ok := c.ended[e.key]; !ok || e.t.Before(t) {
				c.ended[e.key] = e.t
			}
		}
	}
	for _, s := range h.served {
		c.perMS[s.key], c.route[s.key] = s.perMessage, s.route
	}
	for _, v := range h.verifies {
		if v.done && v.ok && v.cred >= 0 {
			k := fmt.Sprintf("%d/%s/%d", v.node, v.key, v.cred)
			c.ok[k] = append(c.ok[k], v)
		}
	}
	c.buildSpans()
	if os.Getenv("WSAUTH_HARNESS_DUMP") == "1" {
		c.dump()
	}

	for _, s := range h.served {
		c.principalAt("served", s.node, s.key, s.jti, s.t)
	}
	for _, d := range h.deliveries {
		cr := c.principalAt("delivered", d.node, d.key, d.jti, d.t)
		if cr != nil && c.perMS[d.key] {
			if sf, ok := h.sent[d.frame]; ok && sf.cred != cr.id {
				c.add(vMisattributed, d.t, "misattributed/"+d.frame, "frame %s on %s carried credential #%d and was delivered as credential #%d's principal", d.frame, c.conn(d.key, d.node), sf.cred, cr.id)
			}
		}
	}
	written := map[string]bool{}
	for _, wr := range h.writes {
		if wr.done && wr.ok {
			c.principalAt("written", wr.node, wr.key, wr.jti, wr.start)
		}
		written[wr.payload] = true
	}
	for _, r := range h.receipts {
		// What a client receives was written through the probe, where
		// it was checked; anything else got past the instrumentation.
		if !written[r.payload] {
			c.add(vUnrecorded, r.t, r.payload, "client of %s received %q, which no handler wrote through wsauth", r.key, r.payload)
		}
	}
	c.tickets(all)
	c.budget()
	c.leaks(all)
	sort.SliceStable(c.out, func(i, j int) bool { return c.out[i].t.Before(c.out[j].t) })
	return c.out
}

// dump logs the history, for debugging the harness.
func (c *checker) dump() {
	h := c.h
	for _, e := range h.events {
		c.w.t.Logf("event %s n%d %s %s %s code=%d err=%v", c.at(e.t), e.node, e.key, e.e.Kind, e.e.Reason, e.e.Code, e.e.Err)
	}
	for _, d := range h.deliveries {
		c.w.t.Logf("delivery %s n%d %s frame %s jti %s", c.at(d.t), d.node, d.key, d.frame, d.jti)
	}
	for _, wr := range h.writes {
		c.w.t.Logf("write %s n%d %s %s jti %s done=%v ok=%v", c.at(wr.start), wr.node, wr.key, wr.payload, wr.jti, wr.done, wr.ok)
	}
	for _, ce := range h.clientEnds {
		c.w.t.Logf("client end %s %s %d %q", c.at(ce.t), ce.key, ce.code, ce.reason)
	}
	if os.Getenv("WSAUTH_HARNESS_DUMP_CAPTURE") == "1" {
		c.w.t.Logf("capture:\n%s", c.w.cap.String())
	}
	for _, r := range h.revs {
		c.w.t.Logf("revocation %s-%s n%d %s err=%q", c.at(r.start), c.at(r.end), r.node, r.describe(), r.err)
	}
}

// conn names connection key: "c3.1 (first/jwt/gorilla on node 1)".
func (c *checker) conn(key string, node int) string {
	if r, ok := c.route[key]; ok {
		return fmt.Sprintf("%s (%s on node %d)", key, r, node)
	}
	return fmt.Sprintf("%s (node %d)", key, node)
}

// add records a violation once per dedupe key.
func (c *checker) add(kind string, t time.Time, dedupe, format string, args ...any) {
	if c.seen[kind+"|"+dedupe] {
		return
	}
	c.seen[kind+"|"+dedupe] = true
	c.out = append(c.out, violation{kind: kind, t: t, detail: fmt.Sprintf(format, args...)})
}

// at formats t as the time since the history began.
func (c *checker) at(t time.Time) string {
	return "+" + t.Sub(c.w.start).Round(100*time.Microsecond).String()
}

// principalAt checks that a frame delivered, an application frame
// written, or a connection served at t on node, on connection key, with
// the principal of the credential whose jti is jti, was neither expired,
// nor revoked, nor on a connection wsauth had ended. It returns the
// credential.
func (c *checker) principalAt(what string, node int, key, jti string, t time.Time) *credRec {
	cr, ok := c.creds[jti]
	if !ok {
		c.add(vUnknownPrincipal, t, key, "%s on %s with a principal the harness never issued (jti %q)", what, c.conn(key, node), jti)
		return nil
	}
	kinds := map[string][3]string{
		"delivered": {vDeliveredAfterExpiry, vDeliveredAfterEnd, vDeliveredAfterRevocation},
		"written":   {vWrittenAfterExpiry, vWrittenAfterEnd, vWrittenAfterRevocation},
		"served":    {vServedAfterExpiry, vServedAfterEnd, vServedAfterRevocation},
	}[what]
	if !cr.exp.IsZero() && t.After(cr.exp.Add(c.cfg.localBound)) {
		c.add(kinds[0], t, key, "%s on %s at %s, %v after credential #%d (%s) expired at %s",
			what, c.conn(key, node), c.at(t), t.Sub(cr.exp).Round(time.Millisecond), cr.id, cr.subject, c.at(cr.exp))
	}
	if end, ok := c.ended[key]; ok && t.After(end.Add(c.cfg.localBound)) {
		c.add(kinds[1], t, key, "%s on %s at %s, %v after wsauth reported the connection closed",
			what, c.conn(key, node), c.at(t), t.Sub(end).Round(time.Millisecond))
	}
	for ri, r := range c.h.revs {
		if !covers(r, cr) {
			continue
		}
		if r.kind == revID && cr.mintEnd.After(r.start) && c.lostBetween(r.end, t) && node != r.node {
			// A credential issued after its session was revoked, once
			// redis has lost the revocation: only the Registries that
			// applied it still know (for a minute).
			if _, ok := c.heard(r, node); !ok {
				continue
			}
		}
		if dl, enforce := c.deadline(r, node); enforce && t.After(dl) {
			c.add(kinds[2], t, fmt.Sprintf("%s/%d", key, ri), "%s on %s at %s with credential #%d, %v after %s was revoked on node %d (at %s, deadline %s)",
				what, c.conn(key, node), c.at(t), cr.id, t.Sub(r.end).Round(time.Millisecond), r.describe(), r.node, c.at(r.end), c.at(dl))
		}
		if r.err == "" || r.node == node {
			if tv, ok := c.acceptedAt(node, key, cr.id, t); ok && tv.After(r.end) {
				c.add(vAcceptedAfterRevocation, t, fmt.Sprintf("%s/%d", key, ri), "credential #%d (%s) accepted on %s at %s, %v after %s was revoked on node %d; then %s",
					cr.id, cr.subject, c.conn(key, node), c.at(tv), tv.Sub(r.end).Round(time.Millisecond), r.describe(), r.node, what)
			}
		}
	}
	return &cr
}

func (r revocation) describe() string {
	k := "subject"
	if r.kind == revID {
		k = "token ID"
	}
	s := fmt.Sprintf("%s %s", k, r.value)
	if r.err != "" {
		s += " (the call failed)"
	}
	return s
}

// lostBetween reports whether redis lost its data (killed, restarted)
// between from and to.
func (c *checker) lostBetween(from, to time.Time) bool {
	for _, f := range c.h.faults {
		if (f.kind == opRedisKill || f.kind == opRedisRestart) && f.t.After(from) && f.t.Before(to) {
			return true
		}
	}
	return false
}

// covers reports whether revocation r applies to credential cr: its
// subject, revoked after cr was issued, or one of its IDs.
func covers(r revocation, cr credRec) bool {
	switch r.kind {
	case revSubject:
		// Minted at the latest when the revocation began: in virtual
		// time the same instant, which wsauth refuses too (issued at or
		// before).
		return r.value == cr.subject && !cr.mintEnd.After(r.start)
	case revID:
		return r.value == cr.jti || r.value == cr.sid
	}
	return false
}

// acceptedAt returns when the last successful verifier call for cred on
// connection key began, before t: the credential was accepted then.
func (c *checker) acceptedAt(node int, key string, cred int, t time.Time) (time.Time, bool) {
	var last time.Time
	found := false
	for _, v := range c.ok[fmt.Sprintf("%d/%s/%d", node, key, cred)] {
		if !v.start.After(t) && (!found || v.start.After(last)) {
			last, found = v.start, true
		}
	}
	return last, found
}

// deadline is when a revocation must have ended the connections it
// covers on node: at once (localBound) on the node that made it; over
// the bus (remoteBound) on the others, or when a node whose bus was cut
// meanwhile has caught up; and in any case at once after the bus handed
// it to the node's Registry. A revocation that failed holds only where
// it was made (and where the bus delivered it): enforce is false
// elsewhere.
func (c *checker) deadline(r revocation, node int) (time.Time, bool) {
	if node == r.node {
		return r.end.Add(c.cfg.localBound), true
	}
	heard, ok := c.heard(r, node)
	if ok {
		heard = heard.Add(c.cfg.localBound)
	}
	if r.err != "" {
		return heard, ok
	}
	dl := r.end.Add(c.cfg.remoteBound)
	for _, s := range c.spans[node] {
		if s.start.After(dl) || (!s.end.IsZero() && s.end.Before(r.start)) {
			continue
		}
		if s.end.IsZero() {
			return heard, ok
		}
		if e := s.end.Add(c.cfg.localBound); e.After(dl) {
			dl = e
		}
	}
	if ok && heard.Before(dl) {
		return heard, true
	}
	return dl, true
}

// heard returns when the bus handed r to node's Registry.
func (c *checker) heard(r revocation, node int) (time.Time, bool) {
	for _, b := range c.h.busRevs {
		if b.node != node || b.t.Before(r.start) {
			continue
		}
		if (r.kind == revSubject && b.rev.Subject == r.value) || (r.kind == revID && b.rev.ID == ticket.DenyKey(r.value)) {
			return b.t, true
		}
	}
	return time.Time{}, false
}

// buildSpans works out when each node's bus was cut: its Listen ended
// until it listened again, and redis faults until the node's next
// catch-up (a pause: until the resume).
func (c *checker) buildSpans() {
	for _, s := range c.h.cuts {
		c.spans[s.node] = append(c.spans[s.node], s)
	}
	for _, f := range c.h.faults {
		for n := range c.cfg.nodes {
			s := cutSpan{node: n, start: f.t, cause: opNames[f.kind]}
			if f.kind == opRedisPause {
				s.end = f.repaired
			} else {
				for _, cu := range c.h.catchUps {
					if cu.node == n && cu.start.After(f.t) && (s.end.IsZero() || cu.end.Before(s.end)) {
						s.end = cu.end
					}
				}
			}
			c.spans[n] = append(c.spans[n], s)
		}
	}
}

// tickets checks that no ticket was redeemed twice.
func (c *checker) tickets(all []credRec) {
	wins := map[int][]verifyCall{}
	for _, v := range c.h.verifies {
		if v.done && v.ok && v.cred >= 0 && !all[v.cred].jwt {
			wins[v.cred] = append(wins[v.cred], v)
		}
	}
	for id, vs := range wins {
		if len(vs) > 1 {
			var where []string
			for _, v := range vs {
				where = append(where, fmt.Sprintf("%s on node %d at %s", v.key, v.node, c.at(v.start)))
			}
			c.add(vRedeemedTwice, vs[1].start, fmt.Sprint(id), "ticket #%d redeemed %d times: %s", id, len(vs), strings.Join(where, ", "))
		}
	}
}

// budget checks that the verifier calls of each address on each node
// never exceeded what its failure budget allows: when a call began, the
// calls still running plus those already refused for the client's fault
// (a lower bound on the units spent) must fit in the burst plus what was
// earned back since the address's first call, rounded up (the Limiter's
// clock reads a moment before the harness's).
func (c *checker) budget() {
	type key struct {
		node int
		addr netip.Addr
	}
	by := map[key][]verifyCall{}
	for _, v := range c.h.verifies {
		by[key{v.node, v.addr}] = append(by[key{v.node, v.addr}], v)
	}
	for k, vs := range by {
		sort.Slice(vs, func(i, j int) bool { return vs[i].start.Before(vs[j].start) })
		t0 := vs[0].start
		for i, v := range vs {
			used := 1 // this call's own unit
			for _, u := range vs[:i] {
				running := !u.done || u.end.After(v.start)
				if running || u.spent {
					used++
				}
			}
			earned := int((v.start.Sub(t0) + c.cfg.every - 1) / c.cfg.every)
			if allowed := c.cfg.budget + earned; used > allowed {
				c.add(vBudget, v.start, fmt.Sprintf("%d/%s", k.node, k.addr), "address %s on node %d: a verifier call at %s while %d calls were running or had failed, with a budget of %d (%d earned back)",
					k.addr, k.node, c.at(v.start), used-1, allowed, earned)
				break
			}
		}
	}
}

// leaks searches everything captured for every credential minted, raw,
// base64url (with and without padding), standard base64 and
// query-escaped, and for a JWT's signature alone.
func (c *checker) leaks(all []credRec) {
	text := c.w.cap.String()
	for _, cr := range all {
		forms := map[string]string{
			"raw":           cr.secret,
			"base64url":     base64.RawURLEncoding.EncodeToString([]byte(cr.secret)),
			"base64url pad": base64.URLEncoding.EncodeToString([]byte(cr.secret)),
			"base64":        base64.StdEncoding.EncodeToString([]byte(cr.secret)),
			"query-escaped": url.QueryEscape(cr.secret),
		}
		if cr.jwt {
			if i := strings.LastIndexByte(cr.secret, '.'); i >= 0 {
				forms["signature"] = cr.secret[i+1:]
			}
		}
		for name, f := range forms {
			if len(f) < 16 {
				continue
			}
			if i := strings.Index(text, f); i >= 0 {
				lo, hi := max(0, i-80), min(len(text), i+len(f)+40)
				ctx := strings.ReplaceAll(text[lo:hi], f, "<credential>")
				c.add(vLeak, time.Time{}, fmt.Sprint(cr.id), "credential #%d (%s form) found in the captured text: %q", cr.id, name, ctx)
			}
		}
	}
}
