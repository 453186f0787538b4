package sim_test

import (
	"fmt"
	"strings"
	"time"

	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/sim"
)

// drawLies draws the faults of time for one schedule, the simplest (no
// lie at all) first.
func drawLies(t *rapid.T) *sim.Lies {
	l := &sim.Lies{Seed: rapid.Uint64().Draw(t, "lies_seed")}
	if rapid.Bool().Draw(t, "late") {
		l.LatePct = rapid.SampledFrom([]int{10, 50, 100}).Draw(t, "late_pct")
		l.MaxLag = rapid.IntRange(1, 4).Draw(t, "max_lag")
	}
	if rapid.Bool().Draw(t, "pause") {
		l.PausePct = rapid.SampledFrom([]int{10, 50, 100}).Draw(t, "pause_pct")
		l.MaxPause = rapid.SampledFrom([]time.Duration{time.Nanosecond, time.Millisecond, time.Second, time.Minute}).Draw(t, "max_pause")
	}
	return l
}

// checkWith runs s twice with o (made fresh for each run by mk) and holds
// both runs to check, and to each other.
func checkWith(t *rapid.T, s sim.Schedule, label string, mk func() sim.Options, check func(sim.Schedule, *sim.Trace) error) {
	t.Helper()
	var runs [2]*sim.Trace
	for k := range runs {
		o := mk()
		runs[k] = bubbleWith(func(f func(tb fakeclock.TB)) {
			rapid.SyncTest(t, func(t *rapid.T) { f(t) })
		}, s, o)
	}
	err := check(s, runs[0])
	a, b := runs[0].String(), runs[1].String()
	if err == nil && a == b {
		return
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "schedule size: %s\n%s%s\n", s.Size(), s, label)
	if err != nil {
		fmt.Fprintf(&msg, "%v\n", err)
	}
	if a != b {
		fmt.Fprintf(&msg, "run 1 and run 2 differ (-run 1 +run 2):\n%s", cmp.Diff(strings.Split(a, "\n"), strings.Split(b, "\n")))
	}
	fmt.Fprintf(&msg, "trace:\n%s", a)
	t.Fatal(msg.String())
}

// TestSimLies is TestSim on a clock that lies like a loaded machine:
// timers delivered late, time jumping while the Manager runs its events
// callback. The model's exact instants no longer hold; sim.CheckLies holds
// the rules that do (docs/sim.md, "Time that lies"), and each schedule
// must still give the same trace twice.
func TestSimLies(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := unsampled(sim.Schedules().Draw(t, "schedule"))
		l := drawLies(t)
		checkWith(t, s, l.String(), func() sim.Options { return sim.Options{Lies: l} }, sim.CheckLies)
	})
}
