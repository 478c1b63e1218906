package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
)

type orchConfig struct {
	n, bob, nodes, perClient, runs, revokeOn int
	bound, settle                            time.Duration
	redisServer, cpuProfile, clientProfile   string
	timeline, bare                           bool
	idleWait                                 time.Duration
	nodeCPUs, clientCPUs, trace              string
	idleMax                                  float64
	client                                   clientConfig
}

// child is a process of this command in another role.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startChild starts this command again with args; with cpus (a list
// for taskset -c), on those CPUs only.
func startChild(name, cpus string, env []string, args ...string) (*child, error) {
	cmd := exec.Command(os.Args[0], args...)
	if cpus != "" {
		cmd = exec.Command("taskset", append([]string{"-c", cpus, os.Args[0]}, args...)...)
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &child{name: name, cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(out, 1<<20)}, nil
}

// line reads the child's next line of output within timeout.
func (c *child) line(timeout time.Duration) ([]byte, error) {
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := c.out.ReadBytes('\n')
		ch <- res{b, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, r.err)
		}
		return r.b, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("%s: no answer within %v", c.name, timeout)
	}
}

func (c *child) readJSON(v any, timeout time.Duration) error {
	b, err := c.line(timeout)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %q: %w", c.name, b, err)
	}
	return nil
}

func (c *child) send(cmd command) error {
	b, _ := json.Marshal(cmd)
	_, err := c.stdin.Write(append(b, '\n'))
	return err
}

// stop ends the child: stdin closed (clients exit), SIGTERM (nodes),
// then SIGKILL if it is still there after a while.
func (c *child) stop() {
	c.stdin.Close()
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// redisProc is the redis-server of one run.
type redisProc struct {
	cmd    *exec.Cmd
	addr   string
	dir    string
	exited chan struct{} // closed once the process has been waited for
}

// startRedis starts a redis-server without persistence on a free loopback
// port and returns once it answers PING.
func startRedis(bin, cpus string) (*redisProc, error) {
	var last error
	for range 5 {
		p, err := tryRedis(bin, cpus)
		if err == nil {
			return p, nil
		}
		last = err
	}
	return nil, fmt.Errorf("redis-server did not start: %w", last)
}

func tryRedis(bin, cpus string) (*redisProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "revokebench-redis-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	args := []string{bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		"--logfile", "", "--loglevel", "warning"}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &redisProc{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	rc := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
	defer rc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rc.Ping(ctx).Err()
		cancel()
		if err == nil {
			return p, nil
		}
		select {
		case <-p.exited:
			err = fmt.Errorf("redis-server exited: %s", readLog(dir))
		case <-time.After(20 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			cmd.Process.Kill()
			<-p.exited
		}
		os.RemoveAll(dir)
		return nil, err
	}
}

func readLog(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
	return strings.TrimSpace(string(b))
}

func (p *redisProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	os.RemoveAll(p.dir)
}

// nodeRow is one node's part of a run.
type nodeRow struct {
	name       string
	via        string // "call": the node that revoked; "pubsub"
	alice      int    // sockets the clients opened on it
	sum        summary
	heard      int64 // when the bus delivered the revocation, ns after t0; -1: never
	apply      int64 // how long the local end of its connections took, ns
	endedP50   int64 // close goroutines' EventClosed, ns after t0
	endedMax   int64
	exitMax    int64 // the last revoked handler's return, ns after t0
	ended      int
	bobOpen    int
	bobClosed  int
	gcs        uint64 // GC cycles in the window
	catchUps   int
	cpu        time.Duration
	aliceAfter int64 // alice handlers still running at the end
}

// runResult is one run.
type runResult struct {
	run, n, clients       int
	dial                  time.Duration
	dialFailed, retries   int
	call                  int64 // ns
	store, apply, publish int64 // ns
	err                   string
	nodes                 []nodeRow
	all                   summary
	t0                    int64
	cpu                   interval // from just before the call until every revoked handler returned
	settle                interval // the -settle pause before it
	samples               []sample // every 100 ms from the settle on
	lat                   []int64  // every 4401 close, ns after t0, sorted
	clientsCPU, redisCPU  time.Duration
	bobOpen, bobClosed    int
	profiles              []string
}

func orchestrate(o orchConfig) error {
	if o.nodes < 1 || o.revokeOn < 0 || o.revokeOn >= o.nodes || o.nodes > 26 {
		return errors.New("need 1 to 26 nodes and -revoke-on one of them")
	}
	key := make([]byte, 32)
	rand.Read(key)
	env := []string{keyEnv + "=" + hex.EncodeToString(key)}
	var results []runResult
	for run := 1; run <= o.runs; run++ {
		waitIdle(o)
		r, err := oneRun(o, run, env)
		if err != nil {
			return fmt.Errorf("run %d: %w", run, err)
		}
		r.print(os.Stdout, o)
		results = append(results, r)
	}
	summarize(os.Stdout, o, results)
	return nil
}

func nodeName(i int) string { return string(rune('A' + i)) }

func oneRun(o orchConfig, run int, env []string) (res runResult, err error) {
	res.run, res.n = run, o.n
	rp, err := startRedis(o.redisServer, o.clientCPUs)
	if err != nil {
		return res, err
	}
	defer rp.stop()

	// Nodes.
	nodes := make([]*child, o.nodes)
	addrs := make([]string, o.nodes)
	defer func() {
		for _, c := range nodes {
			if c != nil {
				c.stop()
			}
		}
	}()
	for i := range nodes {
		args := []string{"-role", "node", "-name", nodeName(i), "-redis", rp.addr}
		if o.bare {
			args = append(args, "-bare")
		}
		c, err := startChild("node "+nodeName(i), o.nodeCPUs, env, args...)
		if err != nil {
			return res, err
		}
		nodes[i] = c
		b, err := c.line(30 * time.Second)
		if err != nil {
			return res, err
		}
		addrs[i] = strings.TrimSpace(string(b))
	}

	// Clients: alice's sockets split evenly, bob's with the first.
	bobs := o.bob * o.nodes
	k := max(1, (o.n+bobs+o.perClient-1)/o.perClient)
	for o.n/k+1+bobs > o.perClient && k < o.n {
		k++
	}
	res.clients = k
	clients := make([]*child, k)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.stop()
			}
		}
	}()
	first := 0
	for i := range clients {
		a := o.n/k + btoi(i < o.n%k)
		b := 0
		if i == 0 {
			b = o.bob
		}
		c, err := startChild("client "+strconv.Itoa(i), o.clientCPUs, env, "-role", "client", "-id", strconv.Itoa(i),
			"-node-addrs", strings.Join(addrs, ","), "-first", strconv.Itoa(first), "-alice", strconv.Itoa(a),
			"-bob-per-node", strconv.Itoa(b), "-sources", strconv.Itoa(o.client.sources),
			"-c", strconv.Itoa(o.client.conc), "-run", strconv.Itoa(run))
		if err != nil {
			return res, err
		}
		clients[i] = c
		first += a
	}
	opened := 0
	for _, c := range clients {
		var r clientReady
		if err := c.readJSON(&r, 15*time.Minute); err != nil {
			return res, err
		}
		opened += r.Opened
		res.dialFailed += r.Failed
		res.retries += r.Retries
		res.dial = max(res.dial, time.Duration(r.DialNS))
		if r.Failed > 0 || len(r.Reasons) > 0 {
			fmt.Fprintf(os.Stderr, "%s: %d failed, %d retries: %v\n", c.name, r.Failed, r.Retries, r.Reasons)
		}
	}

	// Every handler running, on every node.
	hc := &http.Client{Timeout: 30 * time.Second}
	statsOf := func(i int, times bool) (nodeStats, error) {
		u := "http://" + addrs[i] + "/stats"
		if times {
			u += "?times=1"
		}
		var s nodeStats
		resp, err := hc.Get(u)
		if err != nil {
			return s, err
		}
		defer resp.Body.Close()
		return s, json.NewDecoder(resp.Body).Decode(&s)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		live := int64(0)
		for i := range nodes {
			s, err := statsOf(i, false)
			if err != nil {
				return res, err
			}
			live += s.AliceLive + s.BobLive
		}
		if live == int64(opened) {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("nodes run %d handlers, clients opened %d sockets", live, opened)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var pids []int // nodes, clients, redis: the order of every sample's procs
	for _, x := range slices.Concat(nodes, clients) {
		pids = append(pids, x.cmd.Process.Pid)
	}
	pids = append(pids, rp.cmd.Process.Pid)
	stopSampling := make(chan struct{})
	samples := sampler(pids, 100*time.Millisecond, stopSampling)
	defer func() {
		if stopSampling != nil {
			close(stopSampling)
		}
	}()
	settle0 := takeSample(pids)
	time.Sleep(o.settle)

	before := make([]nodeStats, len(nodes))
	for i := range nodes {
		if before[i], err = statsOf(i, false); err != nil {
			return res, err
		}
	}
	post := func(i int, path string, q url.Values) ([]byte, error) {
		resp, err := hc.PostForm("http://"+addrs[i]+path, q)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s: %s", path, resp.Status, b)
		}
		return b, err
	}
	if o.cpuProfile != "" {
		for i := range nodes {
			p := fmt.Sprintf("%s.run%d.%s", o.cpuProfile, run, nodeName(i))
			if _, err := post(i, "/profile/start", url.Values{"path": {p}}); err != nil {
				return res, err
			}
			res.profiles = append(res.profiles, p)
		}
	}
	if o.trace != "" {
		for i := range nodes {
			p := fmt.Sprintf("%s.run%d.%s", o.trace, run, nodeName(i))
			if _, err := post(i, "/trace/start", url.Values{"path": {p}}); err != nil {
				return res, err
			}
			res.profiles = append(res.profiles, p)
		}
	}
	if o.clientProfile != "" {
		for i, c := range clients {
			p := fmt.Sprintf("%s.run%d.client%d", o.clientProfile, run, i)
			if err := c.send(command{Cmd: "profile", Path: p}); err != nil {
				return res, err
			}
			res.profiles = append(res.profiles, p)
		}
	}
	cpu0 := takeSample(pids)
	res.settle = cpu0.sub(settle0)
	if o.idleWait > 0 {
		// Other work on the machine now would compete with the revoke:
		// wait for a quiet second, the sockets held.
		deadline := time.Now().Add(o.idleWait)
		for {
			a := takeSample(pids)
			time.Sleep(time.Second)
			cpu0 = takeSample(pids)
			res.settle = cpu0.sub(a)
			load := 100 * res.settle.others().Seconds() / res.settle.wall.Seconds()
			if load <= o.idleMax {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "machine still busy (%.0f%% of one core not ours) after %v; revoking anyway\n", load, o.idleWait)
				break
			}
			time.Sleep(2 * time.Second)
		}
	}

	// The revoke.
	b, err := post(o.revokeOn, "/revoke", url.Values{"subject": {"alice"}})
	if err != nil {
		return res, err
	}
	var rev revokeResult
	if err := json.Unmarshal(b, &rev); err != nil {
		return res, err
	}
	t0 := rev.Start
	res.call, res.err = rev.End-rev.Start, rev.Err
	res.store = rev.StoreEnd - rev.StoreStart
	res.publish = rev.PubEnd - rev.PubStart
	// The rest of the call is the local end of the node's connections,
	// whatever the order of the three.
	res.apply = res.call - res.store - res.publish
	for _, c := range clients {
		if err := c.send(command{Cmd: "revoked", T0: t0, Bound: o.bound.Nanoseconds()}); err != nil {
			return res, err
		}
	}
	crs := make([]clientResult, len(clients))
	for i, c := range clients {
		if err := c.readJSON(&crs[i], o.bound+time.Minute); err != nil {
			return res, err
		}
	}
	// Until every revoked handler has returned, or the bound.
	after := make([]nodeStats, len(nodes))
	for {
		left := int64(0)
		for i := range nodes {
			s, err := statsOf(i, false)
			if err != nil {
				return res, err
			}
			left += s.AliceLive
		}
		if left == 0 || time.Now().After(time.Unix(0, t0+o.bound.Nanoseconds())) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cpu1 := takeSample(pids)
	close(stopSampling)
	stopSampling = nil
	res.samples = <-samples
	res.cpu = cpu1.sub(cpu0)
	res.t0 = t0
	if o.cpuProfile != "" {
		for i := range nodes {
			if _, err := post(i, "/profile/stop", nil); err != nil {
				return res, err
			}
		}
	}
	if o.trace != "" {
		for i := range nodes {
			if _, err := post(i, "/trace/stop", nil); err != nil {
				return res, err
			}
		}
	}
	for i := range nodes {
		if after[i], err = statsOf(i, true); err != nil {
			return res, err
		}
	}

	// Sum up.
	for i := range nodes {
		row := nodeRow{name: nodeName(i), via: "pubsub", heard: -1}
		if i == o.revokeOn {
			row.via = "call"
			row.apply = res.apply
		}
		var lat []int64
		for _, cr := range crs {
			nr := cr.Nodes[i]
			row.alice += nr.Alice
			row.sum.add(nr.Summary)
			lat = append(lat, nr.Lat...)
			row.bobOpen += nr.BobOpen
			row.bobClosed += nr.BobClosed
		}
		row.sum.fill(lat)
		s := after[i]
		for _, h := range s.Heard {
			if h.Subject == "alice" && row.heard < 0 {
				row.heard = h.At - t0
				if i != o.revokeOn {
					row.apply = h.Done - h.At
				}
			}
		}
		row.ended = len(s.Ended)
		row.endedP50 = pctOf(s.Ended, t0, 50)
		row.endedMax = pctOf(s.Ended, t0, 100)
		row.exitMax = pctOf(s.Exits, t0, 100)
		row.gcs = s.GCs - before[i].GCs
		row.catchUps = s.CatchUps
		row.cpu = res.cpu.procs[i]
		row.aliceAfter = s.AliceLive
		res.bobOpen += row.bobOpen
		res.bobClosed += row.bobClosed
		res.nodes = append(res.nodes, row)
	}
	var all []int64
	for _, cr := range crs {
		res.all.add(cr.All)
		for _, nr := range cr.Nodes {
			all = append(all, nr.Lat...)
		}
	}
	res.all.fill(all)
	for i := range clients {
		res.clientsCPU += res.cpu.procs[len(nodes)+i]
	}
	res.redisCPU = res.cpu.procs[len(pids)-1]
	res.lat = all
	return res, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func check(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// met reports the goals: the call within 100 ms, every socket closed with
// 4401 within 1 s of its start.
func (r runResult) met() (call, closed bool) {
	return r.call <= 100e6 && r.err == "",
		r.all.failures() == 0 && r.all.Closed4401 == r.n && r.all.Max <= 1e9
}

func (r runResult) print(w io.Writer, o orchConfig) {
	var per []string
	for _, n := range r.nodes {
		per = append(per, n.name+" "+num(n.alice))
	}
	kind := "wsauth"
	if o.bare {
		kind = "bare coder/websocket (-bare)"
	}
	fmt.Fprintf(w, "\nrun %d, %s: %s sockets of alice (%s) + %d of bob per node; %d client processes; all open in %.1f s, %d failed (%d retries)\n",
		r.run, kind, num(r.n), strings.Join(per, ", "), o.bob, r.clients, r.dial.Seconds(), r.dialFailed, r.retries)
	errText := "none"
	if r.err != "" {
		errText = r.err
	}
	rn := r.nodes[o.revokeOn]
	fmt.Fprintf(w, "Revoke call on %s: %s (store write %s, local end of its %s connections %s, publish %s); error: %s\n",
		rn.name, ms(r.call), ms(r.store), num(rn.alice), ms(r.apply), ms(r.publish), errText)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\tvia\theard at\tlocal end\tclose goroutines ran p50\tmax\tclosed 4401\tother\tearly\topen\tclose p50\tp99\tmax\thandlers done\tbob open\tGCs\tCPU\t")
	for _, n := range r.nodes {
		heard := "-"
		if n.heard >= 0 {
			heard = ms(n.heard)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%d\t%.2f s\t\n",
			n.name, n.via, heard, ms(n.apply), ms(n.endedP50), ms(n.endedMax), num(n.sum.Closed4401), n.sum.otherText(),
			n.sum.Early, n.sum.Open, ms(n.sum.P50), ms(n.sum.P99), ms(n.sum.Max), ms(n.exitMax),
			n.bobOpen, n.bobOpen+n.bobClosed, n.gcs, n.cpu.Seconds())
	}
	fmt.Fprintf(tw, "all\t\t\t\t\t\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t\t%d/%d\t\t\t\n",
		num(r.all.Closed4401), r.all.otherText(), r.all.Early, r.all.Open, ms(r.all.P50), ms(r.all.P99), ms(r.all.Max),
		r.bobOpen, r.bobOpen+r.bobClosed)
	tw.Flush()
	var nodeCPU time.Duration
	for _, n := range r.nodes {
		nodeCPU += n.cpu
		if n.catchUps > 0 {
			fmt.Fprintf(w, "node %s re-subscribed %d times (catch-ups)\n", n.name, n.catchUps)
		}
		if n.aliceAfter > 0 {
			fmt.Fprintf(w, "node %s still runs %d handlers of alice at the end\n", n.name, n.aliceAfter)
		}
	}
	cores := float64(runtime.NumCPU())
	pc := func(d, wall time.Duration) string {
		return strconv.FormatFloat(100*d.Seconds()/wall.Seconds(), 'f', 0, 64) + "%"
	}
	c := r.cpu
	fmt.Fprintf(w, "CPU over the window (%.2f s wall, %.0f cores = %.2f s): nodes %.2f s, clients %.2f s, redis %.2f s; the machine: busy %.2f s (user %.2f, system %.2f, irq+softirq %.2f), not ours %.2f s, stolen %.2f s\n",
		c.wall.Seconds(), cores, cores*c.wall.Seconds(), nodeCPU.Seconds(), r.clientsCPU.Seconds(), r.redisCPU.Seconds(),
		c.m.busy().Seconds(), c.m.user.Seconds(), c.m.system.Seconds(), c.m.irq.Seconds(), c.others().Seconds(), c.m.steal.Seconds())
	fmt.Fprintf(w, "before the call (%.1f s): machine busy %s of one core, ours %s, not ours %s\n",
		r.settle.wall.Seconds(), pc(r.settle.m.busy(), r.settle.wall), pc(r.settle.ours(), r.settle.wall), pc(r.settle.others(), r.settle.wall))
	if o.timeline {
		r.printTimeline(w)
	}
	call, closed := r.met()
	fmt.Fprintf(w, "goals: call ≤ 100 ms: %s (%s); every socket closed with 4401 ≤ 1 s: %s (max %s, %d failures)\n",
		check(call), ms(r.call), check(closed), ms(r.all.Max), r.all.failures())
	if len(r.profiles) > 0 {
		fmt.Fprintf(w, "profiles: %s\n", strings.Join(r.profiles, " "))
	}
}

func summarize(w io.Writer, o orchConfig, rs []runResult) {
	kind := "wsauth"
	if o.bare {
		kind = "bare coder/websocket"
	}
	fmt.Fprintf(w, "\n%s, %s sockets, %d nodes (Revoke on %s), %d runs:\n\n", kind, num(o.n), o.nodes, nodeName(o.revokeOn), len(rs))
	head := "| run | call | store / local end / publish | close p50 | p99 | max |"
	sep := "| ---: | ---: | --- | ---: | ---: | ---: |"
	for i := range o.nodes {
		v := "Pub/Sub"
		if i == o.revokeOn {
			v = "local"
		}
		head += fmt.Sprintf(" %s (%s) p50 / max |", nodeName(i), v)
		sep += " ---: |"
	}
	head += " failures | bob open | call ≤ 100 ms | all ≤ 1 s |"
	sep += " ---: | ---: | --- | --- |"
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	f := func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e6, 'f', 1, 64) }
	for _, r := range rs {
		line := fmt.Sprintf("| %d | %s ms | %s / %s / %s ms | %s ms | %s ms | %s ms |", r.run, f(r.call),
			f(r.store), f(r.apply), f(r.publish), f(r.all.P50), f(r.all.P99), f(r.all.Max))
		for _, n := range r.nodes {
			line += fmt.Sprintf(" %s / %s ms |", f(n.sum.P50), f(n.sum.Max))
		}
		call, closed := r.met()
		line += fmt.Sprintf(" %d | %d/%d | %s | %s |", r.all.failures()+r.dialFailed, r.bobOpen, r.bobOpen+r.bobClosed, check(call), check(closed))
		fmt.Fprintln(w, line)
	}
}

// printTimeline prints, for every sampling interval from the call on, the
// CPU the machine and the run's processes spent (in % of one core) and
// the 4401 frames that arrived.
func (r runResult) printTimeline(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "ms after t0\tmachine\tuser\tsystem\tirq\tnot ours\t"
	for _, n := range r.nodes {
		head += "node " + n.name + "\t"
	}
	head += "clients\tredis\tcloses arrived\t"
	fmt.Fprintln(tw, head)
	nn := len(r.nodes)
	last := int64(0)
	if len(r.lat) > 0 {
		last = r.lat[len(r.lat)-1]
	}
	for i := 1; i < len(r.samples); i++ {
		a, b := r.samples[i-1], r.samples[i]
		from, to := a.at.UnixNano()-r.t0, b.at.UnixNano()-r.t0
		if to < -100e6 || from > last+200e6 {
			continue
		}
		iv := b.sub(a)
		p := func(d time.Duration) string {
			return strconv.FormatFloat(100*d.Seconds()/iv.wall.Seconds(), 'f', 0, 64)
		}
		line := fmt.Sprintf("%d–%d\t%s\t%s\t%s\t%s\t%s\t", from/1e6, to/1e6, p(iv.m.busy()), p(iv.m.user), p(iv.m.system), p(iv.m.irq), p(iv.others()))
		var cl time.Duration
		for j, d := range iv.procs {
			switch {
			case j < nn:
				line += p(d) + "\t"
			case j < len(iv.procs)-1:
				cl += d
			}
		}
		lo, _ := slices.BinarySearch(r.lat, from)
		hi, _ := slices.BinarySearch(r.lat, to)
		line += fmt.Sprintf("%s\t%s\t%s\t", p(cl), p(iv.procs[len(iv.procs)-1]), num(hi-lo))
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// waitIdle waits, up to o.idleWait, until the machine is quiet: busy
// below o.idleMax of one core over two seconds, before anything of the run
// has started. Other work on the machine competes with the run for the
// CPU.
func waitIdle(o orchConfig) {
	if o.idleWait <= 0 {
		return
	}
	deadline := time.Now().Add(o.idleWait)
	for {
		a := machineCPU()
		time.Sleep(2 * time.Second)
		load := 100 * (machineCPU().busy() - a.busy()).Seconds() / 2
		if load <= o.idleMax {
			fmt.Fprintf(os.Stderr, "machine busy %.0f%% of one core before the run\n", load)
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "machine still busy %.0f%% of one core after %v; running anyway\n", load, o.idleWait)
			return
		}
		time.Sleep(3 * time.Second)
	}
}
