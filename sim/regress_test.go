package sim_test

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/sim"
)

// simulate runs s twice, each in its own bubble, and verifies the runs.
func simulate(t *testing.T, s sim.Schedule) *sim.Trace {
	t.Helper()
	var runs [2]*sim.Trace
	for k := range runs {
		runs[k] = bubble(func(f func(tb fakeclock.TB)) {
			synctest.Test(t, func(t *testing.T) { f(t) })
		}, s)
	}
	if err := sim.Verify(s, runs[0], runs[1]); err != nil {
		t.Fatal(err)
	}
	return runs[0]
}

const (
	ns = time.Nanosecond
	ms = time.Millisecond
	s1 = time.Second
)

func fails(n int, step sim.Step) []sim.Step {
	steps := make([]sim.Step, n)
	for i := range steps {
		steps[i] = step
	}
	return steps
}

// regressions are schedules that failed once while the sim was built
// (shrunk by rapid), and boundaries each planted bug of the mutants
// catalogue was caught on. They pass on a correct Manager.
var regressions = []struct {
	name string
	s    sim.Schedule
}{
	{
		// The driver started every action due at 0 at once: the two Stop
		// calls raced to be the first (found as nondeterminism).
		name: "StopTwiceAtZero",
		s: sim.Schedule{
			CancelAt: 30 * s1, StopTimeout: 16 * s1, Stop2: true,
			Services: []sim.Service{
				{Steps: []sim.Step{{Wait: true, Run: 13 * s1, End: sim.Error}}},
				{Steps: []sim.Step{{Run: 60*s1 - ns, End: sim.Nil}}},
			},
		},
	},
	{
		// The worked example of docs/contract.md, C2.7: 0, 1s, 3s, 7s, 15s, 31s, 61s, 91s.
		name: "DefaultBackoffTimeline",
		s: sim.Schedule{
			CancelAt: 100 * s1, StopAt: 50 * s1, StopTimeout: 3 * s1,
			HealthAt: []time.Duration{0, 7 * s1, 200 * s1},
			Services: []sim.Service{
				{Steps: fails(8, sim.Step{End: sim.Error}), Stopper: &sim.StopStep{Took: s1, End: sim.Error},
					Health: &sim.HealthPlan{Tracker: true}},
				{Stopper: &sim.StopStep{Block: true}},
			},
		},
	},
	{
		// Doubling a delay above MaxInt64/2 must saturate, not wrap to a
		// negative delay clamped back to initial (mutant doubling-overflows).
		name: "DoublingSaturates",
		s: sim.Schedule{
			Backoff:  &sim.Backoff{Initial: 1 << 62, Maximum: math.MaxInt64, Reset: s1},
			CancelAt: 1<<62 + 1,
			Services: []sim.Service{{Steps: fails(3, sim.Step{End: sim.Error})}},
		},
	},
	{
		// An attempt of exactly reset starts the doubling again
		// (mutant reset-strict).
		name: "RanExactlyReset",
		s: sim.Schedule{
			CancelAt: 62 * s1,
			Services: []sim.Service{{Steps: []sim.Step{{End: sim.Error}, {Run: 60 * s1, End: sim.Error}}}},
		},
	},
	{
		// Reset-1ns does not.
		name: "RanResetMinus1",
		s: sim.Schedule{
			Backoff:  &sim.Backoff{Initial: ns, Maximum: 100 * ns, Reset: 10 * ns},
			CancelAt: 100 * ns,
			Services: []sim.Service{{Steps: []sim.Step{{End: sim.Error}, {Run: 9 * ns, End: sim.Nil}, {End: sim.Panic}}}},
		},
	},
	{
		// A backoff ending exactly at cancellation does not restart; a
		// Runner honouring ctx whose own end is at cancellation returns
		// ctx.Err().
		name: "CancelAtBackoffEndAndAtRunEnd",
		s: sim.Schedule{
			Backoff:  &sim.Backoff{Initial: 2 * ns, Maximum: 2 * ns, Reset: s1},
			CancelAt: 5 * ns,
			Services: []sim.Service{
				{Steps: []sim.Step{{Run: 3 * ns, End: sim.Goexit}}},
				{Steps: []sim.Step{{Run: 5 * ns, Honour: true, End: sim.Nil}}},
				{Steps: []sim.Step{{Run: 5 * ns, End: sim.Panic}}},
			},
		},
	},
	{
		// A Stopper that ignores ctx and returns an error after its
		// deadline is abandoned, and its late failure is logged (the only
		// trace of mutant deadline-instant-in-time). Another returns at the
		// very instant of its deadline: abandoned too. The service that is
		// not a Stopper takes no share.
		name: "AbandonedStopFailsLate",
		s: sim.Schedule{
			CancelAt: ms, StopAt: 2 * ms, StopTimeout: 10 * ms,
			Services: []sim.Service{
				{Stopper: &sim.StopStep{Took: 5 * ms, End: sim.Nil}},
				{},
				{Stopper: &sim.StopStep{Took: 6 * ms, End: sim.Panic}},
			},
		},
	},
	{
		// A timeout below n nanoseconds: every share is 0, every Stopper
		// is called at once with an expired ctx, in reverse order.
		name: "TimeoutBelowN",
		s: sim.Schedule{
			CancelAt: ms, StopAt: ms, StopTimeout: 2 * ns,
			Services: []sim.Service{
				{Stopper: &sim.StopStep{End: sim.Goexit}},
				{Stopper: &sim.StopStep{Took: ms, Honour: true, End: sim.Nil}},
				{Stopper: &sim.StopStep{Block: true}},
			},
		},
	},
	{
		// A negative timeout not divisible by n, Stop before Run.
		name: "NegativeTimeoutBeforeRun",
		s: sim.Schedule{
			CancelAt: 0, StopAt: 0, StopTimeout: -7 * ns,
			Services: []sim.Service{
				{Stopper: &sim.StopStep{End: sim.Error}},
				{Stopper: &sim.StopStep{End: sim.Nil}},
			},
		},
	},
	{
		// In time by 1ns, then at the exact share, then a ctx-honouring
		// Stopper cut at its deadline; the second Stop waits for the first.
		name: "StoppersAroundTheirShare",
		s: sim.Schedule{
			CancelAt: s1, StopAt: s1, StopTimeout: 31 * ns, Stop2: true, Stop2At: s1 + 5*ns,
			Services: []sim.Service{
				{Stopper: &sim.StopStep{Took: 10*ns - ns, End: sim.Error}},
				{Stopper: &sim.StopStep{Took: 10 * ns, End: sim.Nil}},
				{Stopper: &sim.StopStep{Took: 20 * ns, Honour: true, End: sim.Nil}},
			},
		},
	},
	{
		// Health sampled at the instant a Tracker records (either state is
		// right), at cancellation, and through a panicking reporter.
		name: "HealthAtTrackerUpdate",
		s: sim.Schedule{
			CancelAt: 10 * ms, StopAt: 10 * ms,
			HealthAt: []time.Duration{3 * ms, 10 * ms, 0},
			Services: []sim.Service{
				{Steps: []sim.Step{{Run: 3 * ms, End: sim.Error}, {Run: 2 * ms, End: sim.Nil}},
					Health: &sim.HealthPlan{Tracker: true}},
				{Health: &sim.HealthPlan{Pieces: []sim.HealthPiece{
					{Until: 5 * ms, Name: "bogus", LastSuccess: ms, LastFailure: sim.Unset, Failures: 0},
					{Until: 20 * ms, Panic: true},
				}}},
			},
		},
	},
	{
		// Run waits for a Runner that ignores cancellation, and for one
		// that finished for good long before.
		name: "RunWaitsForLateRunner",
		s: sim.Schedule{
			CancelAt: 4 * s1, StopAt: 5 * s1,
			Services: []sim.Service{
				{Steps: []sim.Step{{Run: s1, End: sim.Finished}}},
				{Steps: []sim.Step{{Wait: true, Run: 3 * s1, End: sim.Panic}}},
			},
		},
	},
	{
		// Jitter draws out of range are clamped: +Inf cuts the most
		// (d*(1-fraction)), NaN and -Inf nothing.
		name: "JitterDrawsClamped",
		s: sim.Schedule{
			Backoff: &sim.Backoff{Initial: 8 * ns, Maximum: math.MaxInt64, Reset: ms},
			Jitter:  &sim.Jitter{Fraction: 0.75, R: math.Inf(1)}, CancelAt: 100 * ns,
			Services: []sim.Service{{Steps: fails(4, sim.Step{End: sim.Nil})}},
		},
	},
	{
		name: "JitterDrawNaN",
		s: sim.Schedule{
			Jitter: &sim.Jitter{Fraction: 0.5, R: math.NaN()}, CancelAt: 4 * s1,
			Services: []sim.Service{{Steps: fails(3, sim.Step{End: sim.Error})}},
		},
	},
	{
		// Every shape of a value the contract tells apart: ErrFinished
		// bare, wrapped, joined (each ends the service) and a look-alike
		// (restarted); errors whose Error method panics, from Run and
		// from Stop (contained, and logged saying so); panic values of
		// every kind; each Tracker method.
		name: "ValueShapes",
		s: sim.Schedule{
			CancelAt: 20 * s1, StopAt: 21 * s1, StopTimeout: 4 * s1,
			HealthAt: []time.Duration{10 * s1},
			Services: []sim.Service{
				{Steps: []sim.Step{{End: sim.Finished, Shape: sim.ShapeBare}}},
				{Steps: []sim.Step{{End: sim.Error, Shape: sim.ShapeLookalike}, {End: sim.Finished, Shape: sim.ShapeWrapped3}},
					Health: &sim.HealthPlan{Tracker: true, Calls: sim.TrackRecord}},
				{Steps: []sim.Step{{End: sim.Error, Shape: sim.ShapeHostile}, {End: sim.Finished, Shape: sim.ShapeJoined}},
					Stopper: &sim.StopStep{End: sim.Error, Shape: sim.ShapeHostile}},
				{Steps: []sim.Step{{End: sim.Panic, Shape: sim.ShapeErrorValue}, {End: sim.Panic, Shape: sim.ShapeInt},
					{End: sim.Panic, Shape: sim.ShapeNilPointer}, {End: sim.Finished, Shape: sim.ShapeWrapped2}},
					Stopper: &sim.StopStep{End: sim.Panic, Shape: sim.ShapeNilPointer},
					Health:  &sim.HealthPlan{Tracker: true, Calls: sim.TrackFailureNil}},
				{Stopper: &sim.StopStep{Took: 3 * s1, End: sim.Error, Shape: sim.ShapeHostile}}, // abandoned, fails late
			},
		},
	},
	{
		// The health endpoint at the instant a Tracker records (either
		// state is right), through a panicking reporter, by GET, HEAD and
		// a refused POST; programmer errors before and while Run runs; and
		// the default logger, changed while Run runs: records before the
		// change go to the first, at and after it to the second.
		name: "EndpointMisuseDefaultLogger",
		s: sim.Schedule{
			CancelAt: 10 * ms, StopAt: 10 * ms, StopTimeout: ms,
			HealthAt:  []time.Duration{3 * ms, 6 * ms, 7 * ms, 8 * ms},
			HealthVia: []string{sim.ViaGet, sim.ViaGet, sim.ViaHead, sim.ViaPost},
			Logger:    sim.LoggerDefault, LoggerSwitchAt: 5 * ms,
			Misuse: []sim.Misuse{{Kind: "Register a duplicate name"}, {At: 4 * ms, Kind: "a second Run"},
				{At: 4 * ms, Kind: "Register after Run"}, {Kind: "WithJitter(NaN)"}},
			Services: []sim.Service{
				{Steps: []sim.Step{{Run: 3 * ms, End: sim.Error}, {Run: 2 * ms, End: sim.Panic}},
					Health: &sim.HealthPlan{Tracker: true}, Stopper: &sim.StopStep{End: sim.Error}},
				{Health: &sim.HealthPlan{Pieces: []sim.HealthPiece{
					{Until: 5 * ms, Name: "bogus", LastSuccess: ms, LastFailure: sim.Unset},
					{Until: 20 * ms, Panic: true},
				}}},
			},
		},
	},
	{
		// Workers under the Manager: a slow tick skips the grid times it
		// overran, one ends exactly on the grid and the next starts at
		// once; a panicking tick is recorded, then restarted by the
		// Manager with backoff, after the spread, and keeps its health; a
		// look-alike of ErrFinished is a failure; ErrFinished wrapped ends
		// the Worker for good. Health is read by GET, at a tick's instant.
		name: "WorkersUnderTheManager",
		s: sim.Schedule{
			CancelAt: 30 * s1, StopAt: 30 * s1,
			HealthAt:  []time.Duration{5 * s1, 12 * s1, 12*s1 + 500*ms},
			HealthVia: []string{sim.ViaCall, sim.ViaGet, sim.ViaCall},
			Services: []sim.Service{
				{Worker: &sim.WorkerPlan{Interval: s1, Spread: 2 * s1, R: 0.25, Ticks: []sim.Tick{
					{Work: 2*s1 + 500*ms, End: sim.Nil}, {Work: s1, End: sim.Error, Shape: sim.ShapeLookalike},
					{End: sim.Panic, Shape: sim.ShapeInt}, {End: sim.Nil}, {Work: s1 - ns, End: sim.Finished, Shape: sim.ShapeWrapped2},
				}}},
				{Worker: &sim.WorkerPlan{Interval: 3 * s1, Ticks: []sim.Tick{{End: sim.Goexit}, {Work: 40 * s1, End: sim.Nil}}}},
			},
		},
	},
	{
		// Library bug (issue 8): in an ordered turn, a Stop that returns
		// in time while the Run is still awaited is reported as if it
		// had taken the whole turn: StopResult.Elapsed 1ms and StopEnded
		// at 1.000001ms, where C3.8 (by C8.6) says 0s at 1ns, when it
		// returned. stopService calls call.result(end) once the turn is
		// over, and result measures Since(called) then. Shrunk by rapid.
		name: "OrderedStopElapsedWhenItReturned",
		s: sim.Schedule{
			Ordered: true, CancelAt: s1, StopAt: ns, StopTimeout: 3 * ms,
			Services: []sim.Service{
				{Steps: []sim.Step{{Wait: true, Run: ms, End: sim.Error}}, Stopper: &sim.StopStep{End: sim.Nil}},
			},
		},
	},
	{
		// C8.3: under WithGatedStart, Run waits at svc0's gate (never
		// ready) when the ordered Shutdown(0) begins at 1s. svc1, never
		// started, has nothing to wait for. The first version marked it
		// never started only once Run's goroutine saw shutdown begun, so
		// svc1's turn, with no budget, could read its loop as still
		// running and report it abandoned, as the scheduler went. Now the
		// turn claims a loop Run has not launched, one compare-and-swap
		// deciding between the two.
		name: "GatedNeverStartedIsNotAbandoned",
		s: sim.Schedule{
			Ordered: true, Gate: time.Hour, CancelAt: 2 * s1, StopAt: s1, StopTimeout: 0,
			StatesAt: []time.Duration{s1, 2 * s1},
			Services: []sim.Service{
				{NotifyReady: true, Steps: []sim.Step{{Wait: true, Honour: true, Ready: sim.Unset}}},
				{},
			},
		},
	},
	{
		// C8.3: Stop(-1ms) gives a deadline before the turn, and a Run
		// that returned after it (at 1ns, when Run's ctx was cancelled)
		// but before its turn has nothing to wait for: not abandoned.
		// (The first version of C8.3 read "had not returned before its
		// deadline" and reported it abandoned, though nothing was left
		// running.)
		name: "RunEndedBeforeItsTurnIsNotAbandoned",
		s: sim.Schedule{
			Ordered: true, CancelAt: ns, StopAt: ms, StopTimeout: -ms,
			Services: []sim.Service{{}},
		},
	},
	{
		// RestartLimit(3, w) on failures every 2s from 1s (0, 1s, 3s, 5s,
		// ...): with w = 4s, the failure at 5s sees (1s, 5s], which
		// leaves out the one at 1s: never 3, it runs on; with w =
		// 4s+1ns it gives up at 5s, and being not Essential, the others
		// run on until Serve's ctx is done at 100s.
		name: "GiveUpHalfOpenWindow",
		s: sim.Schedule{
			Serve: true, CancelAt: 100 * s1, StopTimeout: 4 * s1, Drain: s1,
			Backoff: &sim.Backoff{Initial: s1, Maximum: 2 * s1, Reset: 60 * s1},
			Services: []sim.Service{
				{Steps: []sim.Step{{Run: 2 * s1, End: sim.Nil}}, Stopper: &sim.StopStep{Took: s1, End: sim.Nil}},
				{Steps: fails(6, sim.Step{End: sim.Error}), Limit: &sim.Limit{N: 3, Window: 4 * s1}, Essential: true},
				{Steps: fails(6, sim.Step{End: sim.Error}), Limit: &sim.Limit{N: 3, Window: 4*s1 + ns}},
				{Steps: []sim.Step{{Run: 5 * s1, End: sim.Panic}}},
			},
		},
	},
	{
		// C9.3: attempt 1 of svc0 fails at 1s and its Ready comes at 3s,
		// while attempt 2 (called at 2s) is starting and not yet ready
		// (its own Ready at 4s): the stale Ready does nothing. Samples at
		// 3s and 4s see it starting (a sample precedes the service's
		// timers at its instant), at 4s+1ns running since 4s (mutant
		// ready-from-stale-attempt).
		name: "StaleReadyDuringALaterAttempt",
		s: sim.Schedule{
			Backoff:  &sim.Backoff{Initial: s1, Maximum: s1, Reset: 60 * s1},
			CancelAt: 10 * s1, StopAt: 10 * s1, StopTimeout: s1,
			StatesAt: []time.Duration{s1, 3 * s1, 4 * s1, 4*s1 + ns},
			Services: []sim.Service{{NotifyReady: true, Steps: []sim.Step{
				{Run: s1, End: sim.Error, Ready: 3 * s1},
				{Wait: true, Honour: true, Ready: 2 * s1}}}},
		},
	},
	{
		// C9.4 with C2.3: svc0 is not ready within its start timeout of
		// 1s, ignores the cancellation and panics at 2s: a failure that
		// keeps its panic, logged with its stack (the first version
		// reported the timeout's error instead and lost the stack). svc1
		// is started only at 3s+1ns, when attempt 2 of svc0 is ready;
		// samples at 1s and 2s see svc0 starting and svc1 registered, one
		// at 2s+1ns svc0 backing off until 3s with the panic as
		// LastError, one at 3s+2ns both running.
		name: "StartTimeoutThenPanicThenReady",
		s: sim.Schedule{
			Gate: s1, Backoff: &sim.Backoff{Initial: s1, Maximum: s1, Reset: 60 * s1},
			CancelAt: 10 * s1, StopAt: 10 * s1, StopTimeout: s1,
			StatesAt: []time.Duration{s1, 2 * s1, 2*s1 + ns, 3*s1 + 2*ns},
			Services: []sim.Service{
				{NotifyReady: true, Steps: []sim.Step{
					{Run: 2 * s1, End: sim.Panic, Ready: sim.Unset},
					{Wait: true, Honour: true, Ready: ns}}},
				{},
			},
		},
	},
}

func TestRegressions(t *testing.T) {
	for _, tc := range regressions {
		t.Run(tc.name, func(t *testing.T) { simulate(t, tc.s) })
	}
}
