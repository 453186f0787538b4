package sim

import (
	"math"
	"slices"
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
