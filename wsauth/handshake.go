package wsauth

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// handshakeError is a request that is not a WebSocket handshake (RFC 6455,
// section 4.2.1), refused before its credential is read, with the status
// the WebSocket libraries answer it with.
type handshakeError struct {
	status int
	why    string // fixed text: never the request's own
}

func (e *handshakeError) Error() string { return e.why }

// answer writes the refusal of r, telling the client what a handshake
// needs.
func (e *handshakeError) answer(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	switch e.status {
	case http.StatusMethodNotAllowed:
		h.Set("Allow", http.MethodGet)
	case http.StatusUpgradeRequired:
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", "websocket")
		h.Set("Sec-WebSocket-Version", "13")
	}
	writeRefusal(w, r, e.status, refusals[kindUpgrade].text)
}

// writeRefusal answers r with an HTTP refusal, within answerTimeout. It
// also makes net/http close an HTTP/1 connection whose request announces
// a body, and not read that body: net/http reads up to 256 KiB of an
// unread body, with no deadline, once the handler returns, so a client
// that announces one and sends nothing would hold the connection for as
// long as it liked. HTTP/2 reads no unread body (it resets the stream),
// and would take Connection: close as a GOAWAY for every stream of the
// connection.
func writeRefusal(w http.ResponseWriter, r *http.Request, status int, text string) {
	if r.ProtoMajor == 1 && r.ContentLength != 0 { // -1: chunked, or unknown
		w.Header().Set("Connection", "close")
		http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	boundAnswer(w)
	http.Error(w, text, status)
}

// checkHandshake refuses r if it is not a WebSocket opening handshake:
// also one over HTTP/1.0, which the libraries refuse after wsauth would
// have spent its credential, and one with a body, which a handshake never
// has.
func checkHandshake(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return fail(kindUpgrade, &handshakeError{http.StatusMethodNotAllowed, "method is not GET"})
	case !r.ProtoAtLeast(1, 1):
		return fail(kindUpgrade, &handshakeError{http.StatusUpgradeRequired, "HTTP version is below 1.1"})
	case r.ContentLength != 0:
		return fail(kindUpgrade, &handshakeError{http.StatusBadRequest, "a handshake has no body"})
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return fail(kindUpgrade, &handshakeError{http.StatusUpgradeRequired, "Connection has no upgrade"})
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return fail(kindUpgrade, &handshakeError{http.StatusUpgradeRequired, "Upgrade is not websocket"})
	// Header names are spelt canonically: another spelling is
	// canonicalised, which allocates, on every handshake.
	case r.Header.Get("Sec-Websocket-Version") != "13":
		return fail(kindUpgrade, &handshakeError{http.StatusUpgradeRequired, "Sec-WebSocket-Version is not 13"})
	}
	key := r.Header.Values("Sec-Websocket-Key")
	if len(key) != 1 {
		return fail(kindUpgrade, &handshakeError{http.StatusBadRequest, "Sec-WebSocket-Key missing or repeated"})
	}
	if k := strings.TrimSpace(key[0]); len(k) != 24 || !decodes16(k) {
		return fail(kindUpgrade, &handshakeError{http.StatusBadRequest, "Sec-WebSocket-Key is not 16 bytes in base64"})
	}
	return nil
}

// headerHasToken reports whether a comma-separated header holds token,
// compared without case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// decodes16 reports whether the 24 base64 characters of k decode to 16
// bytes, decoding into the stack.
func decodes16(k string) bool {
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(k))
	return err == nil && n == 16
}
