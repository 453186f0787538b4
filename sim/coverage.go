package sim

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Features are the behaviours a run of the simulation should reach. A
// long enough run (10,000 checks) that misses one is too weak to trust.
var Features = []string{
	// Schedules.
	"8 services", "default backoff", "initial 1ns", "huge maximum", "jitter on", "jitter shortened a delay",
	"jitter draw below 0", "jitter draw above 1", "jitter draw NaN", "jitter draw +Inf", "jitter draw -Inf",
	"cancel before Run", "cancel at an attempt's end", "cancel at a backoff's end",
	"Stop before Run's ctx is cancelled", "Stop when it is cancelled", "Stop after it is cancelled",
	"Stop(0)", "negative timeout", "timeout not divisible by n", "timeout below n ns", "no Stoppers",
	"second Stop", "Health before Run", "Health at a tracker update", "Health at cancellation",
	// Supervision.
	"Run returned error", "Run returned nil", "Run panicked", "Run called Goexit", "Run finished for good",
	"panic or Goexit after cancellation", "Run honoured ctx", "Run honoured ctx at its own end",
	"ctx-ignoring Runner returned late", "Run returned after cancellation",
	"backoff cap reached", "doubling saturated", "reset triggered", "ran exactly reset", "ran reset-1ns",
	"attempt of 0ns", "SetBackoff while running", "SetBackoff at a failure's instant",
	// Shapes of values.
	"ErrFinished bare", "ErrFinished wrapped 2 levels", "ErrFinished wrapped 3 levels", "ErrFinished joined",
	"look-alike of ErrFinished restarted", "Run's error's Error method panicked",
	"panic value an error", "panic value an int", "panic value a typed nil pointer",
	"Stop's error's Error method panicked", "Stop panic value not a string",
	// Shutdown.
	"Stop returned nil", "Stop returned error", "Stop panicked", "Stop called Goexit",
	"Stop honoured its deadline", "Stop overran and was abandoned", "Stop returned at its deadline",
	"Stop returned 1ns before its deadline", "Stopper blocked for good", "abandoned Stop failed late",
	// Health.
	"Health panicked", "tracker used", "Health name overwritten", "tracker fed by Record", "tracker fed Failure(nil)",
	"Health by GET", "Health by HEAD", "POST refused", "GET with a panicking reporter", "GET with a time left out",
	// Workers.
	"Worker ticked", "Worker first tick spread", "Worker spread draw out of range", "Worker tick skipped",
	"Worker tick ended on the grid", "Worker tick failed", "Worker look-alike tick failure", "Worker tick panicked and restarted",
	"Worker tick called Goexit", "Worker finished for good", "Worker tick cut short", "Worker health read after a restart",
	// Logging.
	"default logger", "WithLogger(nil)", "slog.Default changed while running",
	// Shutdown has begun (C7.1, C7.2).
	"return after Stop began logged at Info", "panic or Goexit after Stop began", "backoff cut short by Stop",
	"Run after Stop starts each service once",
	// Giving up (C7.3, C7.4).
	"gave up", "gave up at the first failure", "gave up after 4 failures", "a failure just out of the window",
	"a failure at the window's far edge counted", "gave up with a panic", "no give-up once Stop began",
	// Ordered shutdown, drain (C8.1-C8.4).
	"ordered shutdown", "ordered Stop before Run starts nothing", "restart before its turn", "backoff cut short by its turn",
	"Run cancelled by its turn", "Run awaited past its turn's start", "Run and Stop both awaited", "Run abandoned at its deadline",
	"Run returned at its deadline", "Run ended before its turn",
	"turn with no Stopper", "ordered Stop(0)", "ordered negative timeout", "drain", "drain of the whole budget", "drain cut to the budget",
	// Serve (C8.5).
	"Serve", "Serve with ctx done at the call", "Essential service gave up: Serve shut down", "Essential service gave up after ctx was done",
	"service gave up under Serve, others ran on", "Serve returned nil", "Serve error: a give-up", "Serve error: an abandoned Run",
	"Serve error: a Stop failure",
}

func init() {
	for _, k := range MisuseKinds() {
		Features = append(Features, "misuse: "+k)
	}
}

// reachedWorker adds the Worker features service i reaches.
func reachedWorker(s Schedule, i int, w *WorkerPlan, st ServiceTrace, add func(bool, string)) {
	in := func(c TickCall, a Attempt) bool { return c.Start >= a.Start && c.Start <= a.End }
	for k, a := range st.Attempts {
		var ticks []TickCall
		for _, c := range st.Ticks {
			if in(c, a) {
				ticks = append(ticks, c)
			}
		}
		if len(ticks) > 0 {
			add(true, "Worker ticked")
			add(ticks[0].Start > a.Start, "Worker first tick spread")
			add(ticks[0].Start > a.Start && (w.R < 0 || w.R > 1 || math.IsNaN(w.R)), "Worker spread draw out of range")
		}
		for j, c := range ticks {
			add(c.Outcome == "", "Worker tick cut short")
			add(c.Outcome == Error, "Worker tick failed")
			add(c.Outcome == Error && c.Detail == ErrFinishedText(), "Worker look-alike tick failure")
			if j > 0 {
				prev := ticks[j-1]
				add(c.Start-prev.Start > w.Interval, "Worker tick skipped")
				add(c.Start == prev.End && prev.End > prev.Start, "Worker tick ended on the grid")
			}
		}
		add(a.Outcome == Panic && k+1 < len(st.Attempts), "Worker tick panicked and restarted")
		add(a.Outcome == Goexit && !a.Canceled, "Worker tick called Goexit")
		add(a.Outcome == Finished, "Worker finished for good")
		if k > 0 {
			for _, at := range s.HealthAt {
				add(at > a.Start && at < s.CancelAt && st.Attempts[0].End < a.Start, "Worker health read after a restart")
			}
		}
	}
}

// Reached returns the [Features] that schedule s reaches, by the model.
func Reached(s Schedule, exp *Expectation) []string {
	var out []string
	add := func(cond bool, name string) {
		if cond {
			out = append(out, name)
		}
	}
	tr := &exp.Trace
	bo := s.settings()
	n := time.Duration(s.Stoppers())

	add(len(s.Services) == 8, "8 services")
	add(s.Backoff == nil, "default backoff")
	add(bo.Initial == 1, "initial 1ns")
	add(bo.Maximum > 1<<62, "huge maximum")
	add(s.Jitter != nil, "jitter on")
	add(s.CancelAt == 0, "cancel before Run")
	add(s.StopAt < s.CancelAt, "Stop before Run's ctx is cancelled")
	add(s.StopAt == s.CancelAt, "Stop when it is cancelled")
	add(s.StopAt > s.CancelAt, "Stop after it is cancelled")
	add(s.StopTimeout == 0, "Stop(0)")
	add(s.StopTimeout < 0, "negative timeout")
	add(n > 1 && s.StopTimeout%n != 0, "timeout not divisible by n")
	add(s.StopTimeout > 0 && s.StopTimeout < n, "timeout below n ns")
	add(n == 0, "no Stoppers")
	add(s.Stop2, "second Stop")
	add(tr.RunReturned > s.CancelAt, "Run returned after cancellation")
	add(len(exp.HealthAlt) > 0, "Health at a tracker update")
	for j, at := range s.HealthAt {
		add(at == 0, "Health before Run")
		add(at == s.CancelAt, "Health at cancellation")
		for _, e := range tr.Health[j].Entries {
			add(e.Panicked, "Health panicked")
		}
		via := s.via(j)
		add(via == ViaGet, "Health by GET")
		add(via == ViaHead, "Health by HEAD")
		add(via == ViaPost, "POST refused")
		for _, e := range tr.Health[j].Entries {
			add(via == ViaGet && e.Panicked, "GET with a panicking reporter")
			add(via == ViaGet && !e.Panicked && (e.LastSuccess == Unset) != (e.LastFailure == Unset), "GET with a time left out")
		}
	}
	for _, m := range s.Misuse {
		add(true, "misuse: "+m.Kind)
	}
	logs := map[int]bool{}
	for _, st := range tr.Services {
		for _, l := range st.Logs {
			logs[l.Logger] = true
		}
	}
	add(s.Logger == LoggerDefault && logs[1], "default logger")
	add(s.Logger == LoggerNil && logs[1], "WithLogger(nil)")
	add(logs[1] && logs[2], "slog.Default changed while running")

	reachedIssue8(s, exp, add)
	reachedIssue9(s, exp, add)
	reachedProbes(s, exp, add)

	for i, sv := range s.Services {
		st := tr.Services[i]
		if h := sv.Health; h != nil && len(s.HealthAt) > 0 {
			add(h.Tracker, "tracker used")
			if last := slices.Max(s.HealthAt); h.Tracker && len(st.Attempts) > 0 && st.Attempts[0].End < last {
				add(h.Calls == TrackRecord, "tracker fed by Record")
				add(h.Calls == TrackFailureNil && slices.ContainsFunc(st.Attempts, func(a Attempt) bool {
					return a.Outcome != Nil && a.End < last
				}), "tracker fed Failure(nil)")
			}
			for _, p := range h.Pieces {
				add(!p.Panic && p.Name != Name(i), "Health name overwritten")
			}
		}
		if w := sv.Worker; w != nil {
			reachedWorker(s, i, w, st, add)
			continue
		}
		// Supervision: what each attempt did, and the model's backoff
		// decisions (read, not recomputed: the rule lives in supervise).
		for k, a := range st.Attempts {
			step := sv.step(k)
			add(!step.Wait && a.Start+step.Run == s.CancelAt, "cancel at an attempt's end")
			add(a.End == a.Start, "attempt of 0ns")
			if a.Canceled {
				add(a.Outcome == Panic || a.Outcome == Goexit, "panic or Goexit after cancellation")
				add(a.End > s.CancelAt, "ctx-ignoring Runner returned late")
				add(step.Honour && a.Detail == "context canceled", "Run honoured ctx")
				add(step.Honour && !step.Wait && a.Start+step.Run == s.CancelAt, "Run honoured ctx at its own end")
				continue
			}
			add(a.Outcome == Error, "Run returned error")
			add(a.Outcome == Nil, "Run returned nil")
			add(a.Outcome == Panic, "Run panicked")
			add(a.Outcome == Goexit, "Run called Goexit")
			add(a.Outcome == Finished, "Run finished for good")
			shape := sv.step(k).Shape
			add(a.Outcome == Finished && shape == ShapeBare, "ErrFinished bare")
			add(a.Outcome == Finished && shape == ShapeWrapped2, "ErrFinished wrapped 2 levels")
			add(a.Outcome == Finished && shape == ShapeWrapped3, "ErrFinished wrapped 3 levels")
			add(a.Outcome == Finished && shape == ShapeJoined, "ErrFinished joined")
			add(a.Outcome == Error && shape == ShapeLookalike && k+1 < len(st.Attempts), "look-alike of ErrFinished restarted")
			add(a.Outcome == Error && shape == ShapeHostile, "Run's error's Error method panicked")
			add(a.Outcome == Panic && shape == ShapeErrorValue, "panic value an error")
			add(a.Outcome == Panic && shape == ShapeInt, "panic value an int")
			add(a.Outcome == Panic && shape == ShapeNilPointer, "panic value a typed nil pointer")
		}
		prevEnd := time.Duration(-1)
		for _, r := range exp.Restarts[i] {
			a := st.Attempts[r.Attempt]
			ran := a.End - a.Start
			if s.Rebackoff != nil && a.End >= s.RebackoffAt {
				add(prevEnd >= 0 && prevEnd < s.RebackoffAt, "SetBackoff while running")
				add(a.End == s.RebackoffAt, "SetBackoff at a failure's instant")
			}
			prevEnd = a.End
			add(ran == r.Setting.Reset, "ran exactly reset")
			add(ran == r.Setting.Reset-1, "ran reset-1ns")
			add(r.Reset && r.Held != r.Delay, "reset triggered")
			add(r.Overflowed, "doubling saturated") // and the saturated delay is used
			if j := s.Jitter; j != nil && r.Delay > 1 && j.Fraction > 0 {
				add(r.Wait < r.Delay, "jitter shortened a delay")
				add(j.R < 0, "jitter draw below 0")
				add(j.R > 1, "jitter draw above 1")
				add(math.IsNaN(j.R), "jitter draw NaN")
				add(math.IsInf(j.R, 1), "jitter draw +Inf")
				add(math.IsInf(j.R, -1), "jitter draw -Inf")
			}
			add(addSat(a.End, r.Wait) == s.CancelAt, "cancel at a backoff's end")
			add(r.Capped, "backoff cap reached")
		}

		// Shutdown.
		sp := sv.Stopper
		if sp == nil || len(st.Stops) == 0 {
			continue
		}
		c := st.Stops[0]
		if sp.Block {
			add(true, "Stopper blocked for good")
			continue
		}
		add(c.Outcome == Error && c.Detail == hostileDetail, "Stop's error's Error method panicked")
		add(c.Outcome == Panic && sp.Shape != "", "Stop panic value not a string")
		switch {
		case c.CtxDone:
			add(c.Outcome == Error && c.Detail == "context deadline exceeded" && c.Returned > c.Called, "Stop honoured its deadline")
			add(c.Returned > c.Deadline, "Stop overran and was abandoned")
			add(c.Returned == c.Deadline && c.Deadline > c.Called, "Stop returned at its deadline")
			add(c.Outcome != Nil && c.Returned > c.Deadline, "abandoned Stop failed late")
		default:
			add(c.Outcome == Nil, "Stop returned nil")
			add(c.Outcome == Error, "Stop returned error")
			add(c.Outcome == Panic, "Stop panicked")
			add(c.Outcome == Goexit, "Stop called Goexit")
			add(c.Returned == c.Deadline-1, "Stop returned 1ns before its deadline")
		}
	}
	return out
}

// reachedIssue8 adds the features of shutdown having begun, giving up,
// ordered shutdown and Serve (C7, C8) that s reaches.
func reachedIssue8(s Schedule, exp *Expectation, add func(bool, string)) {
	tr := &exp.Trace
	st := tr.Stop
	add(s.Ordered && !s.Serve, "ordered shutdown")
	add(s.Serve, "Serve")
	add(s.Serve && s.CancelAt == 0, "Serve with ctx done at the call")
	d := drain(s)
	add(d > 0 && d < s.StopTimeout, "drain")
	add(d > 0 && d == s.StopTimeout && s.Drain == s.StopTimeout, "drain of the whole budget")
	add(d > 0 && s.Drain > s.StopTimeout, "drain cut to the budget")
	add(s.ordered() && s.StopTimeout == 0, "ordered Stop(0)")
	add(s.ordered() && s.StopTimeout < 0, "ordered negative timeout")
	add(s.Ordered && !s.Serve && s.StopAt == 0 && s.CancelAt > 0, "ordered Stop before Run starts nothing")
	add(!s.ordered() && s.StopAt == 0 && s.CancelAt > 0 && len(s.Services) > 0, "Run after Stop starts each service once")
	if s.Serve {
		add(len(tr.ServeErr) == 0, "Serve returned nil")
		for _, e := range tr.ServeErr {
			add(strings.HasPrefix(e, "gave up"), "Serve error: a give-up")
			add(strings.HasSuffix(e, "run abandoned"), "Serve error: an abandoned Run")
			add(!strings.HasPrefix(e, "gave up") && !strings.HasSuffix(e, "run abandoned"), "Serve error: a Stop failure")
		}
		escalated := st.Start < s.CancelAt
		add(escalated, "Essential service gave up: Serve shut down")
		for i, sv := range s.Services {
			g := exp.GaveUpAt[i]
			add(sv.Essential && g != Unset && g >= s.CancelAt, "Essential service gave up after ctx was done")
			add(!sv.Essential && g != Unset && g < st.Start && len(tr.Services) > 1, "service gave up under Serve, others ran on")
		}
	}
	for i, sv := range s.Services {
		attempts := tr.Services[i].Attempts
		stopAt := stoppedAt(s, tr, i)
		if g := exp.GaveUpAt[i]; g != Unset {
			add(true, "gave up")
			add(sv.Limit.N == 1, "gave up at the first failure")
			add(sv.Limit.N == 4, "gave up after 4 failures")
			add(attempts[len(attempts)-1].Outcome == Panic, "gave up with a panic")
		}
		if lim := sv.Limit; lim != nil {
			var fails []time.Duration
			for _, a := range attempts {
				if a.End < stopAt && a.Outcome != Finished {
					fails = append(fails, a.End)
				}
			}
			for k, t := range fails {
				for _, f := range fails[:k] {
					add(f == t-lim.Window, "a failure just out of the window")
					add(f == t-lim.Window+1 && lim.N > 1, "a failure at the window's far edge counted")
				}
			}
			if n := len(attempts); n > 0 && exp.GaveUpAt[i] == Unset && attempts[n-1].End >= stopAt && !attempts[n-1].Canceled &&
				within(append(fails, attempts[n-1].End), attempts[n-1].End, lim.Window) >= lim.N {
				add(true, "no give-up once Stop began")
			}
		}
		for _, a := range attempts {
			if !s.ordered() && a.End >= s.StopAt && a.End < s.CancelAt {
				add(a.Outcome != Panic && a.Outcome != Goexit, "return after Stop began logged at Info")
				add(a.Outcome == Panic || a.Outcome == Goexit, "panic or Goexit after Stop began")
			}
		}
		if !s.ordered() {
			add(exp.Ended[i] == s.StopAt && s.StopAt < s.CancelAt && len(attempts) > 0 && attempts[len(attempts)-1].End < s.StopAt,
				"backoff cut short by Stop")
		}
	}
	for _, ss := range st.Services {
		i := serviceIndex(ss.Service)
		attempts := tr.Services[i].Attempts
		ended := exp.Ended[i]
		add(!ss.Stopper, "turn with no Stopper")
		for _, a := range attempts {
			add(a.Start > st.Start && a.Start < ss.Began, "restart before its turn")
		}
		n := len(attempts)
		if n == 0 || ended == Unset {
			continue
		}
		last := attempts[n-1]
		cancelled := s.Serve || ss.Began < s.CancelAt
		add(cancelled && ended == ss.Began && last.End < ss.Began, "backoff cut short by its turn")
		add(cancelled && last.End == ss.Began && last.Detail == "context canceled", "Run cancelled by its turn")
		add(ended > ss.Began && !ss.RunAbandoned, "Run awaited past its turn's start")
		add(ended > ss.Began && !ss.RunAbandoned && ss.Stopper && !ss.Stop.Abandoned && ss.Stop.Elapsed > 0, "Run and Stop both awaited")
		add(ended >= ss.Began && ss.RunAbandoned && ended > ss.Deadline, "Run abandoned at its deadline")
		add(ended == ss.Deadline && ss.Deadline > ss.Began, "Run returned at its deadline")
		add(ended < ss.Began && !ss.RunAbandoned, "Run ended before its turn")
	}
}

// RaceSides counts, in got, the Health entries sampled at the instant of a
// Tracker update (those with an alternative in the model) that saw the
// state before the instant's updates, and those that saw it after.
func RaceSides(s Schedule, got *Trace) (before, after int) {
	exp := Model(s)
	for k, alt := range exp.HealthAlt {
		j, e := k[0], k[1]
		if j >= len(got.Health) || e >= len(got.Health[j].Entries) {
			continue
		}
		switch got.Health[j].Entries[e] {
		case exp.Trace.Health[j].Entries[e]:
			before++
		case alt:
			after++
		}
	}
	return before, after
}
