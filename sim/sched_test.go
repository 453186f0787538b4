//go:build lifecyclesched

package sim_test

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/internal/sched"
	"github.com/lifecyclesim/lifecycle/sim"
)

// pctSteps is where PCT's change points fall: a schedule of up to 8
// services passes a few dozen scheduling points.
const pctSteps = 64

// drawPCT draws a PCT scheduler: a seed for the priorities, and 0 to 2
// change points (depth 1 to 3), drawn by rapid, which leans towards the
// early steps where two Shutdowns or a Stopper and the Manager meet.
func drawPCT(t *rapid.T) (mk func() *sched.Scheduler, desc string) {
	seed := rapid.Uint64().Draw(t, "pct_seed")
	changes := rapid.SliceOfN(rapid.IntRange(0, pctSteps-1), 0, 2).Draw(t, "pct_changes")
	return func() *sched.Scheduler { return sched.New(sched.NewPCTAt(seed, changes)) },
		fmt.Sprintf("pct seed=%d changes=%v (depth %d)", seed, changes, len(changes)+1)
}

// schedRun is one simulation under a fresh scheduler made by mk.
func schedRun(t *rapid.T, s sim.Schedule, o sim.Options, mk func() *sched.Scheduler) (*sim.Trace, *sched.Scheduler) {
	sc := mk()
	o.Sched = sc
	tr := bubbleWith(func(f func(tb fakeclock.TB)) {
		rapid.SyncTest(t, func(t *rapid.T) { f(t) })
	}, s, o)
	return tr, sc
}

// TestSimSched is TestSim with the Manager's goroutines passing their
// scheduling points in an order a seeded PCT scheduler decides, and with
// the driver's actions due at one instant started together when drawn.
// Time stays exact (the clock moves only when no goroutine is parked), so
// the model holds to the nanosecond; each schedule runs twice with the
// same seed and must give the same trace. Run it with
//
//	go test -tags lifecyclesched ./sim -run TestSimSched -rapid.checks=N
func TestSimSched(t *testing.T) {
	var before, after atomic.Int64 // samples racing a Tracker update, by the side they saw
	defer func() {
		t.Logf("Health samples racing a Tracker update (together): %d saw it not yet made, %d made", before.Load(), after.Load())
	}()
	rapid.Check(t, func(t *rapid.T) {
		s := unsampled(sim.Schedules().Draw(t, "schedule"))
		mk, desc := drawPCT(t)
		o := sim.Options{Together: rapid.Bool().Draw(t, "together")}
		var runs [2]*sim.Trace
		var sc *sched.Scheduler
		for k := range runs {
			runs[k], sc = schedRun(t, s, o, mk)
		}
		if err := sim.Verify(s, runs[0], runs[1]); err != nil {
			t.Fatalf("%v\n%s together=%v; %d choices: %s", err, desc, o.Together, sc.Steps(), strings.Join(sc.Trail(), " "))
		}
		if o.Together {
			b, a := sim.RaceSides(s, runs[0])
			before.Add(int64(b))
			after.Add(int64(a))
		}
	})
}

// TestSimSchedLies is TestSimLies under the PCT scheduler: timers late,
// time jumping in the Manager's callbacks, and the Manager's goroutines
// passing their points in a seeded order, held to sim.CheckLies.
//
// Options.ClockThread is drawn by TestSimSchedClock instead, held to
// sim.CheckDescheduled.
func TestSimSchedLies(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := unsampled(sim.Schedules().Draw(t, "schedule"))
		l := drawLies(t)
		mk, desc := drawPCT(t)
		checkWith(t, s, l.String()+"; "+desc, func() sim.Options {
			return sim.Options{Lies: l, Sched: mk()}
		}, sim.CheckLies)
	})
}

var (
	exploreBound = flag.Int("explore.bound", 3, "TestExplore: preemption bound")
	exploreN     = flag.Int("explore.schedules", 300, "TestExplore: schedules of one or two services to explore")
)

// TestExplore enumerates, for small schedules (one or two services, drawn
// from a fixed seed), every interleaving of the scheduling points with at
// most -explore.bound preemptions, and checks each against the model.
// make explore runs it.
func TestExplore(t *testing.T) {
	start := time.Now()
	total, schedules, maxRuns := 0, 0, 0
	gen := sim.Schedules().Filter(func(s sim.Schedule) bool { return len(s.Services) <= 2 })
	for i := 0; schedules < *exploreN; i++ {
		s := unsampled(gen.Example(i))
		// Prefer schedules where two goroutines can race: a second Stop
		// at the same instant, or a Stopper.
		if !(s.Stop2 && s.Stop2At == s.StopAt) && s.Stoppers() == 0 && i%4 != 0 {
			continue
		}
		schedules++
		for _, together := range []bool{false, true} {
			x := sched.NewExplorer(*exploreBound)
			runs := 0
			var prev, sc *sched.Scheduler
			for x.Next() {
				runs++
				prev, sc = sc, sched.New(x)
				tr := bubbleWith(func(f func(tb fakeclock.TB)) {
					synctest.Test(t, func(t *testing.T) { f(t) })
				}, s, sim.Options{Together: together, Sched: sc})
				if err := sim.Verify(s, tr); err != nil {
					t.Fatalf("schedule %d: %v\ninterleaving %d, bound %d, together=%v: %s", i, err, runs, x.Bound, together, strings.Join(sc.Trail(), " "))
				}
			}
			if err := x.Err(); err != nil {
				t.Fatalf("schedule %d:\n%s\n%v\nthis run: %s\nthe run before: %s", i, s, err, strings.Join(sc.Trail(), " "), strings.Join(prev.Trail(), " "))
			}
			total += runs
			maxRuns = max(maxRuns, runs)
		}
	}
	t.Logf("explored %d interleavings (preemption bound %d) of %d schedules of one or two services, each with and without the driver's actions together; at most %d for one; in %v",
		total, *exploreBound, schedules, maxRuns, time.Since(start).Round(time.Millisecond))
}

// TestSimSchedClock is TestSimSched with the clock as one more thread:
// the scheduler may move time while goroutines are parked at points (a
// goroutine descheduled while time passes). The model's instants no longer
// hold; sim.CheckDescheduled holds the rules that do, and each schedule
// must give the same trace twice.
func TestSimSchedClock(t *testing.T) {
	var runs, moved atomic.Int64 // schedules, and those where time moved while a goroutine was parked
	defer func() {
		t.Logf("%d of %d schedules moved the clock while a goroutine was parked at a point", moved.Load(), runs.Load())
	}()
	rapid.Check(t, func(t *rapid.T) {
		s := sim.Schedules().Draw(t, "schedule")
		mk, desc := drawPCT(t)
		together := rapid.Bool().Draw(t, "together")
		var sc *sched.Scheduler
		checkWith(t, s, fmt.Sprintf("%s together=%v", desc, together), func() sim.Options {
			sc = mk()
			return sim.Options{Sched: sc, ClockThread: true, Together: together}
		}, sim.CheckDescheduled)
		runs.Add(1)
		if slices.Contains(sc.Trail(), sched.Clock) {
			moved.Add(1)
		}
	})
}
