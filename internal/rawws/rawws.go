// Package rawws writes and reads WebSocket frames by hand, for tests that
// play a client no library would be: one that floods pings, stops
// reading, or sends half a frame.
package rawws

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/coder/websocket"
	"github.com/wsauth/wsauth/internal/memnet"
)

// Upgrade is an upgrade request for path, without its final blank line,
// so that a caller can add headers.
func Upgrade(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: wsauth.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
}

// ClientFrame appends a masked, final client frame.
func ClientFrame(dst []byte, opcode byte, payload []byte) []byte {
	dst = append(dst, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	dst = append(dst, mask[:]...)
	for i, b := range payload {
		dst = append(dst, b^mask[i%4])
	}
	return dst
}

// PingFlood appends pings whose pongs fill n bytes towards the client, to
// within 2 bytes.
func PingFlood(dst []byte, n int) []byte {
	for n > 2 {
		p := min(125, n-2)
		dst = ClientFrame(dst, 0x9, make([]byte, p))
		n -= p + 2
	}
	return dst
}

// LastClose reads server frames until a close frame and returns its code.
func LastClose(br *bufio.Reader) (websocket.StatusCode, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return 0, err
		}
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(br, l[:]); err != nil {
				return 0, err
			}
			n = int64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(br, l[:]); err != nil {
				return 0, err
			}
			n = int64(binary.BigEndian.Uint64(l[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return 0, err
		}
		if h[0]&0x0f == 0x8 {
			if len(p) < 2 {
				return 0, fmt.Errorf("close frame without a code")
			}
			return websocket.StatusCode(binary.BigEndian.Uint16(p)), nil
		}
	}
}

// StalledAnswer is the attack of a client that floods pings and stops
// reading, so that the server's pongs fill the buffer towards it and its
// auth_ok write blocks. It serves h on an in-memory network whose buffers
// hold bufSize bytes, upgrades, sends the flood and then frame (the
// credential), and runs during once the server is blocked in that write.
// Then it drains and returns the code of the close frame it reads. Call it
// inside a testing/synctest bubble: synctest.Wait is what tells that the
// server is blocked.
func StalledAnswer(t *testing.T, h http.Handler, frame []byte, during func()) websocket.StatusCode {
	t.Helper()
	const bufSize = 8 << 10
	nc, br := Upgraded(t, h, bufSize)
	// Pongs to fill the buffer to 8 bytes short, then the credential; the
	// client reads nothing from now on.
	go nc.Write(ClientFrame(PingFlood(nil, bufSize-8), 0x1, frame))
	synctest.Wait() // the server is blocked writing auth_ok
	during()
	synctest.Wait()
	code, err := LastClose(br)
	if err != nil {
		t.Fatalf("draining: %v", err)
	}
	return code
}

// Serve runs srv on an in-memory network whose buffers hold bufSize bytes
// (0: memnet's default) and returns a raw connection to it, on which the
// caller plays the client; server and connection end with t.
func Serve(t *testing.T, srv *http.Server, bufSize int) net.Conn {
	t.Helper()
	l := memnet.Listen(nil, &memnet.Options{BufferSize: bufSize})
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	nc, err := l.Dial(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// Upgraded is Serve, then an upgrade request for "/" and its 101 read: it
// returns the raw connection and the reader of what the server sends.
func Upgraded(t *testing.T, h http.Handler, bufSize int) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc := Serve(t, &http.Server{Handler: h}, bufSize)
	br := bufio.NewReader(nc)
	if _, err := io.WriteString(nc, Upgrade("/")+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return nc, br
}
