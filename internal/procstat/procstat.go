// Package procstat reads and adjusts what the load tools need of a Linux
// process: its resident memory and its open-file limit.
package procstat

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// RSS returns VmRSS of /proc/<pid>/status in bytes ("self" for this
// process), or 0 if it cannot be read.
func RSS(pid string) uint64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// RaiseFileLimit lifts the soft limit on open files to the hard limit, so
// that one process can hold thousands of sockets.
func RaiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur >= l.Max {
		return nil
	}
	l.Cur = l.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}
