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
		target := u.Host
		if strings.Contains(pattern, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(target)); ok {
			return nil
		}
	}
	return fail(kindOrigin, nil)
}
