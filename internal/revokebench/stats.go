package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fill sorts lat and sets s's percentiles from it.
func (s *summary) fill(lat []int64) {
	slices.Sort(lat)
	s.P50, s.P99, s.Max = pct(lat, 50), pct(lat, 99), 0
	if len(lat) > 0 {
		s.Max = lat[len(lat)-1]
	}
}

// add merges o's counts into s (not the percentiles).
func (s *summary) add(o summary) {
	s.Closed4401 += o.Closed4401
	s.Early += o.Early
	s.Open += o.Open
	for k, v := range o.Other {
		if s.Other == nil {
			s.Other = map[string]int{}
		}
		s.Other[k] += v
	}
}

// failures is every revoked socket that did not end with 4401 after t0.
func (s summary) failures() int {
	n := s.Early + s.Open
	for _, v := range s.Other {
		n += v
	}
	return n
}

func (s summary) otherText() string {
	if len(s.Other) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Other)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, s.Other[k]))
	}
	return strings.Join(parts, " ")
}

// pct is the nearest-rank percentile p of sorted.
func pct(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// pctOf is pct over unsorted times, after t0.
func pctOf(times []int64, t0 int64, p int) int64 {
	d := make([]int64, len(times))
	for i, t := range times {
		d[i] = t - t0
	}
	slices.Sort(d)
	return pct(d, p)
}

// ms formats ns as milliseconds.
func ms(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e6, 'f', 1, 64) + " ms"
}

// num formats n with thousands separators.
func num(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// cpuTime is a process's user + system CPU time, from /proc/<pid>/stat.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // from field 3, state
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	// USER_HZ is 100 on Linux.
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// machine is the CPU time the whole machine has spent, from /proc/stat,
// by kind.
type machine struct {
	user, system, irq, steal, idle time.Duration // user includes nice; irq is irq + softirq; idle includes iowait
}

func (m machine) busy() time.Duration { return m.user + m.system + m.irq }

func (m machine) sub(o machine) machine {
	return machine{m.user - o.user, m.system - o.system, m.irq - o.irq, m.steal - o.steal, m.idle - o.idle}
}

func machineCPU() machine {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machine{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machine{}
	}
	v := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(n) * 10 * time.Millisecond // USER_HZ
	}
	return machine{user: v(1) + v(2), system: v(3), idle: v(4) + v(5), irq: v(6) + v(7), steal: v(8)}
}

// sample is the machine's and each of the run's processes' CPU time at
// one moment.
type sample struct {
	at    time.Time
	m     machine
	procs []time.Duration
}

func takeSample(pids []int) sample {
	s := sample{at: time.Now(), m: machineCPU()}
	for _, p := range pids {
		s.procs = append(s.procs, cpuTime(p))
	}
	return s
}

// sampler samples every interval until stop is closed, and then sends
// what it took.
func sampler(pids []int, every time.Duration, stop <-chan struct{}) <-chan []sample {
	out := make(chan []sample, 1)
	go func() {
		ss := []sample{takeSample(pids)}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				out <- append(ss, takeSample(pids))
				return
			case <-t.C:
				ss = append(ss, takeSample(pids))
			}
		}
	}()
	return out
}

// interval is what the machine and the processes spent between two
// samples.
type interval struct {
	wall  time.Duration
	m     machine
	procs []time.Duration
}

func (s sample) sub(o sample) interval {
	iv := interval{wall: s.at.Sub(o.at), m: s.m.sub(o.m)}
	for i := range s.procs {
		iv.procs = append(iv.procs, s.procs[i]-o.procs[i])
	}
	return iv
}

// ours is the CPU time of the run's processes.
func (iv interval) ours() time.Duration {
	var d time.Duration
	for _, p := range iv.procs {
		d += p
	}
	return d
}

// others is the machine's busy time that the run's processes did not
// spend: other processes, and the kernel's softirq work, which is not
// charged to any process.
func (iv interval) others() time.Duration { return max(iv.m.busy()-iv.ours(), 0) }
