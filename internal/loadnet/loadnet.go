// Package loadnet holds what the load and measurement tools (connmem,
// loadgen, revokebench) share on the client side: HTTP clients bound to a
// source address, and short failure reasons to count.
package loadnet

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// ClientFrom returns an HTTP client whose connections leave from ip (any
// address if ip is ""), dial within 10 s, and keep up to conns idle
// connections to a host (the default, 2, if conns is 0).
func ClientFrom(ip string, conns int) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: conns}}
}

// Reason shortens an error to what tells failures apart: the close code,
// or the error text without addresses and ports, cut at 120 bytes.
func Reason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return "close " + strconv.Itoa(int(code))
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Err != nil {
		return ne.Op + ": " + ne.Err.Error()
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
