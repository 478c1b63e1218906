package procstat

import (
	"syscall"
	"testing"
)

func TestRSS(t *testing.T) {
	if RSS("self") == 0 {
		t.Fatal("no VmRSS for this process")
	}
	if RSS("not-a-pid") != 0 {
		t.Fatal("RSS of a missing process is not 0")
	}
}

func TestRaiseFileLimit(t *testing.T) {
	if err := RaiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur != l.Max {
		t.Fatalf("soft limit %d, hard %d", l.Cur, l.Max)
	}
}
