package sim_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/sim"
	"pgregory.net/rapid"
)

// stats are the reachability counters and totals of the schedules checked
// by this test binary.
var stats = struct {
	checks   atomic.Int64
	features map[string]*atomic.Int64

	mu      sync.Mutex
	virtual float64 // seconds of virtual time simulated (int64 ns would overflow)
}{features: map[string]*atomic.Int64{}}

func init() {
	for _, f := range sim.Features {
		stats.features[f] = new(atomic.Int64)
	}
}

// checkSchedule runs s twice, each time in its own synctest bubble, and
// verifies both runs against the model and each other.
func checkSchedule(t *rapid.T, s sim.Schedule) {
	t.Helper()
	var runs [2]*sim.Trace
	for k := range runs {
		runs[k] = bubble(func(f func(tb fakeclock.TB)) {
			rapid.SyncTest(t, func(t *rapid.T) { f(t) })
		}, s)
	}
	if err := sim.Verify(s, runs[0], runs[1]); err != nil {
		t.Fatal(err)
	}
	exp := sim.Model(s)
	stats.checks.Add(1)
	stats.mu.Lock()
	stats.virtual += span(runs[0]).Seconds()
	stats.mu.Unlock()
	for _, f := range sim.Reached(s, &exp) {
		stats.features[f].Add(1)
	}
}

// bubble simulates s in the synctest bubble that run makes, and returns
// the trace. If the bubble fails as it ends, with goroutines of a faulty
// Manager still blocked, after the trace was made, the failure goes into
// the trace, so that it is reported with the diff and the timeline.
func bubble(run func(func(tb fakeclock.TB)), s sim.Schedule) *sim.Trace {
	return bubbleWith(run, s, sim.Options{})
}

// bubbleWith is bubble with the driver's timing set by o.
func bubbleWith(run func(func(tb fakeclock.TB)), s sim.Schedule, o sim.Options) (tr *sim.Trace) {
	defer func() {
		if r := recover(); r != nil {
			if tr == nil {
				panic(r)
			}
			tr.Stuck = strings.TrimPrefix(tr.Stuck+"; goroutines left blocked: "+fmt.Sprint(r), "; ")
		}
	}()
	run(func(tb fakeclock.TB) { tr = sim.SimulateWith(tb, s, o) })
	return tr
}

// span is the virtual time a trace covers.
func span(tr *sim.Trace) time.Duration {
	return max(tr.RunReturned, tr.Stop.Returned)
}

// TestSim is the main job: random schedules, each run twice on the real
// Manager and checked against the model. With -rapid.checks >= 10000 it
// also fails if any behaviour of sim.Features was never reached.
func TestSim(t *testing.T) {
	start := time.Now()
	checks0 := stats.checks.Load()
	rapid.Check(t, func(t *rapid.T) {
		checkSchedule(t, sim.Schedules().Draw(t, "schedule"))
	})
	checks := stats.checks.Load() - checks0
	elapsed := time.Since(start)

	var b strings.Builder
	stats.mu.Lock()
	years := stats.virtual / (365.25 * 24 * 3600)
	stats.mu.Unlock()
	fmt.Fprintf(&b, "summary: %d schedules checked in %v: %.0f schedules/s; %.4g years of virtual time simulated\n",
		checks, elapsed.Round(time.Millisecond), float64(checks)/elapsed.Seconds(), years)
	b.WriteString(sim.Summary())
	fmt.Fprintf(&b, "behaviours reached (schedules reaching each; with 10,000 checks or more, 0 fails the test):\n")
	var missed []string
	for _, f := range sim.Features {
		n := stats.features[f].Load()
		fmt.Fprintf(&b, "  %7d  %s\n", n, f)
		if n == 0 {
			missed = append(missed, f)
		}
	}
	t.Log(b.String())
	if checks >= 10000 && len(missed) > 0 {
		t.Errorf("%d checks never reached: %s", checks, strings.Join(missed, "; "))
	}
}

// unsampled is s without its States samples and probes. The model places a sample
// exactly among the changes of state at its instant as lockstep orders
// them (docs/sim.md, "State and readiness"); under the scheduler a change
// made by a goroutine parked at a point (an abandonment at a deadline,
// say) may come after a sample at the same instant, and on a lying clock
// a change made while time jumps may land on either side of it. TestSim
// checks the samples; there they would only measure the scheduler or the
// jump.
func unsampled(s sim.Schedule) sim.Schedule {
	s.StatesAt, s.Probes, s.GiveUpProbes = nil, nil, false
	return s
}
