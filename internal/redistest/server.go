package redistest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that, set to "1", turns a missing
// redis-server or redis-cli from a skipped test into a failed one.
const RequireEnv = "WSAUTH_REQUIRE_REDIS"

const (
	startTimeout = 10 * time.Second // until a started server answers PING
	stopTimeout  = 10 * time.Second // until a SIGTERMed server exits
	probeTimeout = time.Second      // one PING attempt
	pollEvery    = 10 * time.Millisecond
	bindAttempts = 5 // fresh ports tried when the picked one was taken
)

// Server is a redis-server process started by [Start], or one of those
// of a [Cluster] or a [Sentinel].
type Server struct {
	// Addr is the server's address, "127.0.0.1:port". It stays the same
	// across Stop and Restart.
	Addr string

	t    testing.TB
	bin  string
	dir  string
	port int
	args []string // the command line after the binary, the same on Restart

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has been waited for
}

// Start starts a redis-server on a free loopback port and returns once it
// answers PING. The server is stopped (SIGTERM, then waited for) when t and
// its subtests end. Without redis-server on PATH, Start skips t, or fails it
// if WSAUTH_REQUIRE_REDIS=1 (see the package doc).
func Start(t testing.TB) *Server {
	t.Helper()
	return launch(t, func(s *Server) ([]string, error) { return s.baseArgs(), nil })
}

// launch starts a redis-server whose command line, after the binary, args
// builds; args is called again for each port tried, so that it may pick
// ports of its own. launch registers the server's shutdown with t, and
// skips or fails t like Start.
func launch(t testing.TB, args func(s *Server) ([]string, error)) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	if bin == "" {
		return nil
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: pick a port: %v", err)
			return nil
		}
		s.port, s.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if s.args, err = args(s); err != nil {
			t.Fatalf("redistest: %v", err)
			return nil
		}
		err = s.start()
		if err == nil {
			break
		}
		// Another process may take the port between freePort and the
		// server's bind; any other failure would only repeat.
		if !errors.Is(err, errInUse) || attempt == bindAttempts {
			t.Fatalf("redistest: %v", err)
			return nil
		}
	}
	t.Cleanup(s.shutdown)
	return s
}

// Stop kills the server (SIGKILL, no shutdown) and waits until it has
// exited, as a crash or a pulled cable would look to clients. The address
// is kept for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
}

// Pause freezes the server process (SIGSTOP) with its connections open,
// as a hung machine looks to its clients and replicas; Resume (SIGCONT)
// lets it go on. A paused server is resumed before it is shut down at the
// end of the test. Pausing a stopped server does nothing.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server go on; see Pause.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.cmd.Process.Signal(sig)
	}
}

// Restart starts the server again on the same address, stopping it first
// if it runs, and returns once it answers PING. The data is gone: nothing
// is persisted. Restart fails the test if the server does not come back (for
// example because another process took the port meanwhile), so call it from
// the goroutine running the test.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// CLI runs redis-cli against the server with args, for example
// CLI("KEYS", "*"), and returns its output. It fails the test if redis-cli
// fails, and skips it like Start if redis-cli is not installed.
func (s *Server) CLI(args ...string) string {
	s.t.Helper()
	bin := lookPath(s.t, "redis-cli")
	if bin == "" {
		return ""
	}
	args = append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.port)}, args...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// lookPath finds name on PATH. When it is missing it skips or fails t and
// returns "".
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not installed: apt-get install redis-server"
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("redistest: %s (required by %s=1)", msg, RequireEnv)
	} else {
		t.Skip(msg)
	}
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errInUse marks a start that failed because the port was taken.
var errInUse = errors.New("address already in use")

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	logPath := filepath.Join(s.dir, "redis.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	logStart, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(s.bin, s.args...)
	// An *os.File is handed to the child as is: no copying goroutine.
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go p.wait()

	deadline := time.Now().Add(startTimeout)
	for {
		pid, err := probe(s.Addr)
		// The pid check tells our server from another one that took
		// the port.
		if err == nil && pid == cmd.Process.Pid {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return nil
		}
		select {
		case <-p.done:
			log := readFrom(logPath, logStart)
			if strings.Contains(log, "already in use") {
				return fmt.Errorf("port %d: %w\n%s", s.port, errInUse, log)
			}
			return fmt.Errorf("redis-server exited at start: %v\n%s", cmd.ProcessState, log)
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("redis-server on %s did not answer PING within %v (last: %v)\n%s",
				s.Addr, startTimeout, err, readFrom(logPath, logStart))
		}
		select {
		case <-p.done:
		case <-time.After(pollEvery):
		}
	}
}

// baseArgs is the command line of every server: loopback only, nothing
// on disk, logs to stdout. Replication starts at once, not after the
// five seconds a primary waits by default for more replicas to sync.
func (s *Server) baseArgs() []string {
	return []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "", // stdout, which is the log file
		"--repl-diskless-sync-delay", "0",
	}
}

// shutdown stops the server at the end of the test: SIGTERM, and SIGKILL if
// it has not exited in time. A paused server is resumed first, or it could
// not act on SIGTERM.
func (s *Server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		s.t.Errorf("redistest: redis-server on %s ignored SIGTERM for %v; killing it", s.Addr, stopTimeout)
		p.kill()
	}
}

func (p *process) wait() {
	p.cmd.Wait() // the exit status of a killed server is of no interest
	close(p.done)
}

func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// probe sends PING and INFO server to addr and returns the pid the server
// reports.
func probe(addr string) (int, error) {
	c, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if pong, err := c.do("PING"); err != nil || pong != "PONG" {
		return 0, fmt.Errorf("PING answered %v, %v", pong, err)
	}
	info, err := c.info("server")
	if err != nil {
		return 0, err
	}
	pid, ok := info["process_id"]
	if !ok {
		return 0, errors.New("INFO has no process_id")
	}
	return strconv.Atoi(pid)
}

// readFrom returns the end of the file at path from offset on, for error
// messages.
func readFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	b = b[offset:]
	const limit = 4 << 10
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}
