// Package testmain is the TestMain of the module's test binaries: it runs
// the tests, fails the binary if a goroutine outlives them, and exits
// without the race runtime's exit sleep.
package testmain

import (
	"flag"
	"strconv"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// Run runs m's tests and, if they passed, fails the binary when a
// goroutine is still running that is neither the runtime's nor the test
// framework's (goleak.VerifyTestMain); then it runs each of after (to
// remove what the tests shared, such as a built binary) and exits with
// the result. A package's TestMain calls it last.
//
// It exits through syscall.Exit, not os.Exit: under -race, os.Exit
// finalizes the race runtime, which sleeps for GORACE's atexit_sleep_ms
// (1 s by default) while any goroutine is alive, so that goroutine can
// still report a race. By then testing has failed every test during
// which a race was reported and written any -coverprofile, and, on
// success, the leak check has found no goroutine left to report one; the
// sleep would only add a second to every test binary.
func Run(m *testing.M, after ...func()) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		for _, f := range after {
			f()
		}
		syscall.Exit(code)
	}))
}

// Parallel makes n the default of -test.parallel, for a package whose
// parallel tests mostly wait (on servers they start, on failovers) rather
// than compute: the default, GOMAXPROCS, would run two at a time on two
// cores. A -parallel given on the command line wins. TestMain calls it
// before Run.
func Parallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}
