package wsauth

import (
	"net/http"
	"net/url"
	"path"
	"slices"
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

// allowsEveryOrigin reports whether pattern allows every origin: "*", and
// anything else that lets in sites as unrelated as two made-up ones, of
// other names and top-level domains, under some scheme and port of their
// choosing ("*://*", "**", "?*", "*.*", "*:*").
func allowsEveryOrigin(pattern string) bool {
	for _, host := range []string{"wsauth-probe.invalid", "other.probe.test"} {
		if !slices.ContainsFunc([]string{host, host + ":8443"}, func(h string) bool {
			return originMatches(pattern, &url.URL{Scheme: "https", Host: h}) ||
				originMatches(pattern, &url.URL{Scheme: "http", Host: h})
		}) {
			return false
		}
	}
	return true
}
