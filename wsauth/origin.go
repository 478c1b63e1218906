package wsauth

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// checkOrigin refuses cross-origin upgrades the way websocket.Accept does,
// but before any credential is read, so a foreign page can neither learn
// whether a credential is valid nor burn a ticket. patterns are matched
// with path.Match against the origin's host, or against scheme://host for
// a pattern that contains "://". Without an Origin header (clients other
// than browsers) the request passes, unless required says one is needed.
func checkOrigin(r *http.Request, patterns []string, required bool) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if required {
			return fail(kindOrigin, nil)
		}
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fail(kindOrigin, nil)
	}
	if strings.EqualFold(r.Host, u.Host) {
		return nil
	}
	for _, pattern := range patterns {
		if originMatches(pattern, u) {
			return nil
		}
	}
	return fail(kindOrigin, nil)
}

// originMatches reports whether pattern allows the origin u.
func originMatches(pattern string, u *url.URL) bool {
	target := u.Host
	if strings.Contains(pattern, "://") {
		target = u.Scheme + "://" + u.Host
	}
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(target))
	return ok
}

// namesASite reports whether pattern pins the site it allows, as a
// cookie credential needs: its host (after any "scheme://", before any
// port) is a name without wildcards, or "*." and a name without wildcards
// that has a dot inside or is "localhost" ("*.example.com"). "*",
// "*:3000", "*.com", "*.com." and "*.*" name no site: a cross-site page
// could be served from one of their hosts. The scheme and the port may be
// patterns. Character classes and escapes are refused outright: path.Match
// reads them across what this check splits (a "[" before "://", an IPv6
// literal's brackets). A public suffix ("*.co.uk", "*.github.io") looks
// like a site and is not: this check cannot tell.
func namesASite(pattern string) bool {
	if strings.ContainsAny(pattern, `[\`) {
		return false
	}
	host := pattern
	if _, rest, ok := strings.Cut(pattern, "://"); ok {
		host = rest
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if name, ok := strings.CutPrefix(host, "*."); ok {
		name = strings.TrimSuffix(name, ".")
		return !strings.ContainsAny(name, "*?") && (strings.Contains(name, ".") || strings.EqualFold(name, "localhost"))
	}
	return host != "" && !strings.ContainsAny(host, "*?")
}
