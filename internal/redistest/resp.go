package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// conn is a connection speaking just enough of the Redis protocol (RESP2)
// to send commands and read their replies: the launchers need no more,
// and the package stays free of a client library.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

// replyError is an error reply. Inside an array (the replies of EXEC) it
// is a value like the others.
type replyError string

func (e replyError) Error() string { return string(e) }

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, r: bufio.NewReader(c)}, nil
}

func (c *conn) Close() error { return c.c.Close() }

// do sends one command and returns its reply: a string (simple or bulk),
// an int64, nil (a nil bulk or array) or a []any. An error reply is
// returned as a replyError.
func (c *conn) do(args ...string) (any, error) {
	c.c.SetDeadline(time.Now().Add(probeTimeout))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.c, b.String()); err != nil {
		return nil, err
	}
	v, err := c.read()
	if err != nil {
		return nil, err
	}
	if e, ok := v.(replyError); ok {
		return nil, e
	}
	return v, nil
}

// read reads one reply.
func (c *conn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("malformed reply %q", line)
	}
	kind, rest := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return replyError(rest), nil
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$':
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, err
		}
		vs := make([]any, n)
		for i := range vs {
			if vs[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return vs, nil
	}
	return nil, fmt.Errorf("unknown reply %q", line)
}

// info runs INFO section and returns its fields.
func (c *conn) info(section string) (map[string]string, error) {
	v, err := c.do("INFO", section)
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("INFO answered %v", v)
	}
	return fields(s), nil
}

// fields parses "name:value" lines, as INFO and CLUSTER INFO answer.
func fields(s string) map[string]string {
	m := map[string]string{}
	for l := range strings.Lines(s) {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// pairs reads a flat array of names and values, as SENTINEL answers.
func pairs(v any) map[string]string {
	vs, _ := v.([]any)
	m := map[string]string{}
	for i := 0; i+1 < len(vs); i += 2 {
		k, _ := vs[i].(string)
		val, _ := vs[i+1].(string)
		m[k] = val
	}
	return m
}

// do sends one command to addr on a connection of its own.
func do(addr string, args ...string) (any, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.do(args...)
}

// info runs INFO section on addr.
func info(addr, section string) (map[string]string, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.info(section)
}

// errTimeout is what poll wraps when its condition never held.
var errTimeout = errors.New("timed out")

// poll calls cond every pollEvery until it returns nil, or fails with its
// last error once timeout has passed.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v: %w", errTimeout, timeout, err)
		}
		time.Sleep(pollEvery) // polling a server's state, not synchronising
	}
}
