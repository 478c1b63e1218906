package ticket

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ErrClientAddr means a request's client address could not be determined:
// RemoteAddr is not an IP address, or a trusted proxy sent a forwarding
// header that does not parse. Callers fail closed on it.
var ErrClientAddr = errors.New("ticket: cannot determine client address")

// maxForwardedHops bounds the work done on forwarding headers.
const maxForwardedHops = 32

// Forwarding headers that ClientIP.Header can name.
const (
	// HeaderXForwardedFor is the de-facto standard list of hops,
	// "client, proxy1, proxy2", to which each proxy appends the address
	// it received the request from.
	HeaderXForwardedFor = "X-Forwarded-For"
	// HeaderForwarded is RFC 7239's header; only its for= parameters are
	// read.
	HeaderForwarded = "Forwarded"
)

// ClientIP finds the address of the client behind a request. The zero value
// (or a nil *ClientIP) trusts no proxy and uses RemoteAddr alone.
//
// Behind trusted proxies exactly one forwarding header is read, the one
// named by Header. Name the header your outermost proxy writes: a proxy
// that appends to X-Forwarded-For but passes a client's own Forwarded
// header through unchanged would otherwise let the client choose its
// address (and so redeem a ticket stolen from someone else).
type ClientIP struct {
	// TrustedProxies lists the networks of reverse proxies whose forwarding
	// header is believed. Only when RemoteAddr falls in one of them is the
	// header read, and then the client is the right-most hop that is not
	// itself a trusted proxy. A trusted proxy that sends no header is the
	// client itself.
	TrustedProxies []netip.Prefix

	// Header is the one forwarding header read from trusted proxies:
	// HeaderXForwardedFor or HeaderForwarded, compared case-insensitively.
	// Any other header is never consulted. Empty means
	// HeaderXForwardedFor. A name other than these two makes Of fail with
	// ErrClientAddr for requests from trusted proxies, so a typo refuses
	// rather than trusts.
	Header string
}

// Of returns the client address of r. IPv4-mapped IPv6 addresses are
// returned as IPv4, and zones are dropped.
func (c *ClientIP) Of(r *http.Request) (netip.Addr, error) {
	peer, err := parseHost(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, ErrClientAddr
	}
	if c == nil || !c.trusted(peer) {
		return peer, nil
	}
	var hops []string
	switch {
	case c.Header == "" || strings.EqualFold(c.Header, HeaderXForwardedFor):
		hops, err = xForwardedFor(r.Header.Values(HeaderXForwardedFor))
	case strings.EqualFold(c.Header, HeaderForwarded):
		hops, err = forwardedFor(r.Header.Values(HeaderForwarded))
	default:
		err = fmt.Errorf("%w: unsupported forwarding header", ErrClientAddr)
	}
	if err != nil {
		return netip.Addr{}, err
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := parseHost(hops[i])
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w: bad forwarded hop", ErrClientAddr)
		}
		client = addr
		if !c.trusted(addr) {
			break
		}
	}
	return client, nil
}

func (c *ClientIP) trusted(a netip.Addr) bool {
	for _, p := range c.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHost accepts "ip", "ip:port", "[ipv6]" and "[ipv6]:port".
func parseHost(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return norm(ap.Addr()), nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	} else if h, _, err := net.SplitHostPort(s); err == nil && !strings.Contains(h, ":") {
		s = h
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return norm(a), nil
}

func norm(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

func xForwardedFor(lines []string) ([]string, error) {
	var hops []string
	for _, line := range lines {
		for h := range strings.SplitSeq(line, ",") {
			if len(hops) == maxForwardedHops {
				return nil, fmt.Errorf("%w: too many forwarded hops", ErrClientAddr)
			}
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops, nil
}

// forwardedFor extracts the for= parameter of every element of RFC 7239
// Forwarded header lines. An element without for= is an error: a trusted
// proxy that hides a hop leaves the client unknown.
func forwardedFor(lines []string) ([]string, error) {
	var hops []string
	for _, line := range lines {
		for elem := range strings.SplitSeq(line, ",") {
			if len(hops) == maxForwardedHops {
				return nil, fmt.Errorf("%w: too many forwarded hops", ErrClientAddr)
			}
			var val string
			found := false
			for pair := range strings.SplitSeq(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					if found {
						return nil, fmt.Errorf("%w: duplicate for parameter", ErrClientAddr)
					}
					val, found = v, true
				}
			}
			if !found {
				return nil, fmt.Errorf("%w: forwarded element without for", ErrClientAddr)
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			hops = append(hops, val)
		}
	}
	return hops, nil
}
