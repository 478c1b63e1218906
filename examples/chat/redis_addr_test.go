package main

import (
	"strings"
	"testing"
)

// TestRedisAddrRedacted: a password in a -redis URL shows in no error and
// no log line of the chat.
func TestRedisAddrRedacted(t *testing.T) {
	t.Parallel()
	const password = "s3cret-pw"
	for _, addr := range []string{
		"redis://user:" + password + "@127.0.0.1:6379/0",
		"redis://:" + password + "@127.0.0.1:6379",
		"redis://:" + password + "@bad host:6379",
		"rediss://user:" + password + "@host:badport",
		"redis://:" + password + "@host/%zz",
	} {
		if got := redactedAddr(addr); strings.Contains(got, password) {
			t.Errorf("redactedAddr(%q) = %q", addr, got)
		}
		c, err := redisClient(addr)
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("redisClient(%q): %v", addr, err)
		}
		if c != nil {
			c.Close()
		}
	}
	if _, err := redisClient("redis://:" + password + "@bad host:6379"); err == nil {
		t.Error("redisClient accepted a URL with a space in its host")
	}
	if got := redactedAddr("127.0.0.1:6379"); got != "127.0.0.1:6379" {
		t.Errorf("redactedAddr(host:port) = %q", got)
	}
}
