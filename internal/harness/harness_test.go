package harness

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsauth/wsauth/internal/breaks"
	"github.com/wsauth/wsauth/internal/testmain"
)

// TestMain sends the process's log, slog and go-redis output into the
// running history's capture, and fails the run if a goroutine outlives
// the tests.
func TestMain(m *testing.M) {
	installLogSinks()
	testmain.Run(m)
}

// ciSeeds are the seeds go test runs: each is a history in the redis
// world and one in the memstore world.
var ciSeeds = []uint64{1, 2, 3}

// Environment variables of the harness (see the package doc).
const (
	envDuration = "WSAUTH_HARNESS_DURATION" // run random seeds for this long
	envSeeds    = "WSAUTH_HARNESS_SEEDS"    // run these seeds instead of ciSeeds
	envReplay   = "WSAUTH_HARNESS_REPLAY"   // world:seed[:i,j,k]: replay (some of) the ops of one history
	envShrink   = "WSAUTH_HARNESS_SHRINK"   // time spent shrinking a failing history
)

// TestHarness runs the fixed seeds, or random seeds for
// WSAUTH_HARNESS_DURATION, or one replay, and fails on any violation of
// the invariants, printing the seed and a shrunk replay.
func TestHarness(t *testing.T) {
	if os.Getenv(envReplay) == "" && os.Getenv(envDuration) == "" && os.Getenv(envSeeds) == "" {
		testCISeeds(t)
		return
	}
	e := newEnv(t)
	if r := os.Getenv(envReplay); r != "" {
		testReplay(t, e, r)
		return
	}
	if d := os.Getenv(envDuration); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatalf("%s: %v", envDuration, err)
		}
		testLong(t, e, dur)
		return
	}
	seeds := ciSeeds
	if s := os.Getenv(envSeeds); s != "" {
		seeds = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", envSeeds, err)
			}
			seeds = append(seeds, n)
		}
	}
	shrunk := false
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			for _, cfg := range []config{redisConfig, memConfig} {
				res := runGenerated(t, e, cfg, variant{}, seed)
				t.Logf("%s world, seed %d: %d ops in %v; %s", cfg.name, seed, len(res.ops), res.elapsed.Round(time.Millisecond), formatStats(res.stats))
				if res.failed() {
					budget := shrinkBudget(15 * time.Second)
					if shrunk {
						budget = 0 // one shrink per run keeps a failing CI run short
					}
					shrunk = true
					report(t, e, res, budget)
				}
			}
		})
	}
}

// testCISeeds runs each of ciSeeds in a child process of its own
// (WSAUTH_HARNESS_SEEDS=seed), all at once whatever -parallel says (the
// subtests are run from goroutines of their own): a history counts the
// process's goroutines and descriptors, and captures its logs, so two
// cannot share one process, and the redis world mostly waits on real
// time. A child's output is logged; its failure, or its skip (no
// redis-server), is this test's.
func testCISeeds(t *testing.T) {
	args := []string{"-test.run=^TestHarness$", "-test.v", "-test.count=1"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+max(time.Until(d), time.Second).Round(time.Second).String())
	}
	var wg sync.WaitGroup
	for _, seed := range ciSeeds {
		wg.Go(func() {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
				cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", envSeeds, seed))
				out, err := cmd.CombinedOutput()
				switch {
				case err != nil:
					t.Fatalf("seed %d (%s=%d go test -run 'TestHarness$' -v ./internal/harness/): %v\n%s", seed, envSeeds, seed, err, out)
				case bytes.Contains(out, []byte("--- SKIP: TestHarness ")):
					t.Skipf("seed %d skipped:\n%s", seed, out)
				case !bytes.Contains(out, []byte("--- PASS: TestHarness ")):
					t.Fatalf("seed %d: no result in the child's output:\n%s", seed, out)
				}
				t.Logf("%s", out)
			})
		})
	}
	wg.Wait()
}

// runGenerated runs the generated history of seed in cfg's world.
func runGenerated(t *testing.T, e *env, cfg config, v variant, seed uint64) *result {
	return runOps(t, e, cfg, v, seed, generate(&cfg, seed))
}

// runOps runs ops in cfg's world: the memstore world in a synctest
// bubble of its own.
func runOps(t *testing.T, e *env, cfg config, v variant, seed uint64, ops []op) *result {
	t.Helper()
	if cfg.redis {
		return runHistory(t, cfg, e, v, seed, ops)
	}
	var res *result
	synctest.Test(t, func(t *testing.T) { res = runHistory(t, cfg, nil, v, seed, ops) })
	return res
}

func shrinkBudget(def time.Duration) time.Duration {
	if s := os.Getenv(envShrink); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
	}
	return def
}

// report fails t with res's violations, its seed, and a replay shrunk
// for at most budget.
func report(t *testing.T, e *env, res *result, budget time.Duration) {
	reportVariant(t, e, variant{}, res, budget)
}

// reportVariant is report for a history of variant v.
func reportVariant(t *testing.T, e *env, v variant, res *result, budget time.Duration) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s world, seed %d: %d violations\n", res.world, res.seed, len(res.violations))
	writeViolations(&b, res.violations)
	keep := allIndices(len(res.ops))
	if budget > 0 {
		cfg := configOf(res.world)
		kinds := kindsOf(res.violations)
		keep = shrink(keep, budget, func(idx []int) bool {
			r := runOps(t, e, cfg, v, res.seed, pick(res.ops, idx))
			return hasAny(r.violations, kinds)
		})
		r := runOps(t, e, cfg, v, res.seed, pick(res.ops, keep))
		fmt.Fprintf(&b, "shrunk from %d to %d operations (for %v); the shrunk history gave:\n", len(res.ops), len(keep), budget)
		writeViolations(&b, r.violations)
	}
	fmt.Fprintf(&b, "replay: %s=%s:%d:%s go test -run 'TestHarness$' -v ./internal/harness/\n", envReplay, res.world, res.seed, joinInts(keep))
	fmt.Fprintf(&b, "operations:\n%s", formatOps(pick(res.ops, keep)))
	t.Error(b.String())
}

func writeViolations(b *strings.Builder, vs []violation) {
	for i, v := range vs {
		if i == 20 {
			fmt.Fprintf(b, "\t… and %d more\n", len(vs)-i)
			break
		}
		fmt.Fprintf(b, "\t%s: %s\n", v.kind, v.detail)
	}
}

func configOf(world string) config {
	if world == memConfig.name {
		return memConfig
	}
	return redisConfig
}

func kindsOf(vs []violation) map[string]bool {
	m := map[string]bool{}
	for _, v := range vs {
		m[v.kind] = true
	}
	return m
}

func hasAny(vs []violation, kinds map[string]bool) bool {
	for _, v := range vs {
		if kinds[v.kind] {
			return true
		}
	}
	return false
}

func allIndices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func pick(ops []op, idx []int) []op {
	out := make([]op, len(idx))
	for i, j := range idx {
		out[i] = ops[j]
	}
	return out
}

func joinInts(idx []int) string {
	s := make([]string, len(idx))
	for i, v := range idx {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

// shrink drops operations from idx, in chunks halving down to one,
// while fails still holds, for at most budget.
func shrink(idx []int, budget time.Duration, fails func([]int) bool) []int {
	deadline := time.Now().Add(budget)
	cur := idx
	for chunk := len(cur) / 2; chunk >= 1; chunk /= 2 {
		for i := 0; i < len(cur); {
			if time.Now().After(deadline) {
				return cur
			}
			cand := slices.Concat(cur[:i], cur[min(len(cur), i+chunk):])
			if len(cand) > 0 && fails(cand) {
				cur = cand
			} else {
				i += chunk
			}
		}
	}
	return cur
}

// testReplay runs one history, or some of its operations:
// WSAUTH_HARNESS_REPLAY=redis:17 or memstore:17:0,3,9.
func testReplay(t *testing.T, e *env, spec string) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		t.Fatalf("%s=%q: want world:seed[:indices]", envReplay, spec)
	}
	cfg := configOf(parts[0])
	seed, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		t.Fatalf("%s: seed: %v", envReplay, err)
	}
	ops := generate(&cfg, seed)
	if len(parts) > 2 && parts[2] != "" {
		var idx []int
		for f := range strings.SplitSeq(parts[2], ",") {
			i, err := strconv.Atoi(f)
			if err != nil || i < 0 || i >= len(ops) {
				t.Fatalf("%s: index %q", envReplay, f)
			}
			idx = append(idx, i)
		}
		ops = pick(ops, idx)
	}
	t.Logf("replaying %s world, seed %d:\n%s", cfg.name, seed, formatOps(ops))
	res := runOps(t, e, cfg, variant{}, seed, ops)
	t.Logf("%s", formatStats(res.stats))
	if res.failed() {
		var b strings.Builder
		writeViolations(&b, res.violations)
		t.Error(b.String())
	}
}

// testLong runs random seeds, printed, in both worlds until d has passed.
func testLong(t *testing.T, e *env, d time.Duration) {
	deadline := time.Now().Add(d)
	total := map[string]int{}
	histories, failures := 0, 0
	for time.Now().Before(deadline) {
		var b [8]byte
		crand.Read(b[:])
		seed := binary.LittleEndian.Uint64(b[:]) >> 1
		for _, cfg := range []config{redisConfig, memConfig} {
			res := runGenerated(t, e, cfg, variant{}, seed)
			histories++
			for k, v := range res.stats {
				total[k] += v
			}
			t.Logf("history %d: %s world, seed %d: %d ops, %d violations, %v", histories, cfg.name, seed, len(res.ops), len(res.violations), res.elapsed.Round(time.Millisecond))
			if res.failed() {
				failures++
				report(t, e, res, shrinkBudget(3*time.Minute))
			}
		}
	}
	t.Logf("%d histories (%d failed) in %v: %s", histories, failures, d, formatStats(total))
}

// TestBrokenVariantsAreCaught switches on each deliberate bug and shows
// that the harness fails within the CI seeds, with the violation that
// bug causes, the way tickettest proves its suite against broken stores.
func TestBrokenVariantsAreCaught(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		v        variant
		scenario int // the scenario of every history that shows it
		want     []string
	}{
		{variant{name: "RegisterLate", sw: &breaks.RegisterLate}, scenarioAnswer, []string{vServedAfterRevocation}},
		{variant{name: "SkipRevocationsOnRefresh", sw: &breaks.SkipRevocationsOnRefresh}, scenarioInBand, []string{vAcceptedAfterRevocation}},
		{variant{name: "SpendAfterVerify", sw: &breaks.SpendAfterVerify}, scenarioBurst, []string{vBudget}},
		{variant{name: "DenyListWithoutDataLossRule", noLossRule: true}, scenarioLost, []string{vAcceptedAfterRevocation}},
	}
	for _, tc := range cases {
		t.Run(tc.v.name, func(t *testing.T) {
			caught := func(res *result) bool {
				for _, v := range res.violations {
					if slices.Contains(tc.want, v.kind) {
						t.Logf("caught by seed %d (%d operations) in %v: %s: %s", res.seed, len(res.ops), res.elapsed.Round(time.Millisecond), v.kind, v.detail)
						return true
					}
				}
				t.Logf("seed %d (%d operations): not caught (%d other violations)", res.seed, len(res.ops), len(res.violations))
				return false
			}
			// The memstore world first: its time is virtual, so its
			// histories take milliseconds; the redis world (real time) for
			// what only it has (data loss), or if the first missed.
			for _, cfg := range []config{memConfig, redisConfig} {
				for _, seed := range ciSeeds {
					ops, marks := generateMarked(&cfg, seed)
					end, ok := marks[tc.scenario]
					if !ok {
						continue // not a scenario of this world
					}
					// The history up to a little after the scenario
					// first, to keep CI short; then the whole of it.
					if end+5 < len(ops) {
						if caught(runOps(t, e, cfg, tc.v, seed, ops[:end+5])) {
							return
						}
					}
					if caught(runOps(t, e, cfg, tc.v, seed, ops)) {
						return
					}
				}
			}
			t.Fatalf("%s was not caught by seeds %v in either world", tc.v.name, ciSeeds)
		})
	}
}
