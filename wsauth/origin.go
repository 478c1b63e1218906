package wsauth

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/coder/websocket"
)

// checkOrigin refuses cross-origin upgrades the way websocket.Accept does,
// but before any credential is read, so a foreign page can neither learn
// whether a credential is valid nor burn a ticket.
func checkOrigin(r *http.Request, a *websocket.AcceptOptions) error {
	if a.InsecureSkipVerify {
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return ErrOrigin
	}
	if strings.EqualFold(r.Host, u.Host) {
		return nil
	}
	for _, pattern := range a.OriginPatterns {
		target := u.Host
		if strings.Contains(pattern, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(target)); ok {
			return nil
		}
	}
	return ErrOrigin
}
