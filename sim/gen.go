package sim

import (
	"math"
	"net/http"
	"slices"
	"time"

	"pgregory.net/rapid"
)

// Schedules returns the generator of schedules: see [DrawSchedule].
func Schedules() *rapid.Generator[Schedule] { return rapid.Custom(DrawSchedule) }

// DrawSchedule draws a schedule with labelled draws. Draws lean towards the
// boundaries where bugs live: attempts lasting exactly reset, or 1ns less
// or more; Stoppers taking exactly their share, or 1ns less or more;
// cancellation exactly at an attempt's end or a backoff's end (found by a
// dry run of the model), or 1ns either side; timeouts of 0, negative, not
// divisible by the number of Stoppers, or below it in nanoseconds; huge
// backoff maxima and 1ns values. Each choice's simplest option comes first,
// so that rapid shrinks towards it. Virtual times stay below 2^62+2^61ns.
func DrawSchedule(t *rapid.T) Schedule {
	var s Schedule
	unit := rapid.SampledFrom([]time.Duration{time.Millisecond, time.Nanosecond, time.Microsecond, time.Second}).Draw(t, "unit")

	// Backoff and jitter.
	if rapid.IntRange(0, 9).Draw(t, "default_backoff") != 0 {
		s.Backoff = drawBackoff(t, unit)
	}
	bo := s.settings()
	if rapid.IntRange(0, 3).Draw(t, "jitter") == 0 {
		// A fraction in [0, 1); draws in every shape the clamp tells
		// apart: in range, below 0, above 1, NaN and infinite.
		s.Jitter = &Jitter{
			Fraction: rapid.OneOf(rapid.SampledFrom([]float64{0.5, 0.25, 0, math.Nextafter(1, 0)}),
				rapid.Float64Range(0, math.Nextafter(1, 0))).Draw(t, "jitter_fraction"),
			R: rapid.OneOf(rapid.SampledFrom([]float64{1, 0, 0.5}), rapid.Float64Range(0, 1),
				rapid.SampledFrom([]float64{-0.5, 1.5, math.NaN(), math.Inf(1), math.Inf(-1)})).Draw(t, "jitter_rnd"),
		}
	}

	// A gated start (C9.4), drawn first: the Ready calls of the steps
	// lean on its start timeout.
	if rapid.IntRange(0, 3).Draw(t, "gated") == 0 {
		s.Gate = max(units(t, unit, "start_timeout", 20), 1)
	}

	// The services' scripts and health. Services and steps are slices of
	// rapid.Custom elements, which rapid can delete one by one as it
	// shrinks.
	outcome := func(t *rapid.T, label string) Outcome {
		return []Outcome{Error, Error, Error, Error, Nil, Nil, Panic, Panic, Goexit, Finished}[rapid.IntRange(0, 9).Draw(t, label)]
	}
	step := rapid.Custom(func(t *rapid.T) Step {
		var st Step
		if rapid.IntRange(0, 9).Draw(t, "wait") == 0 {
			st = Step{Wait: true, Honour: rapid.Bool().Draw(t, "honour"), Run: units(t, unit, "late", 20)}
		} else {
			switch rapid.IntRange(0, 5).Draw(t, "run_kind") {
			case 0:
				st.Run = 0
			case 1:
				st.Run = bo.Reset
			case 2:
				st.Run = bo.Reset - 1
			case 3:
				st.Run = bo.Reset + 1
			default:
				st.Run = units(t, unit, "run", 20)
			}
			st.Honour = rapid.Bool().Draw(t, "honour")
		}
		st.End = outcome(t, "end")
		st.Shape = shape(t, Shapes[st.End], "shape")
		// When a NotifyReady call calls Ready: at once, never, 1ns either
		// side of the start timeout, at its own end, or once it has
		// returned (stale).
		switch rapid.IntRange(0, 6).Draw(t, "ready_kind") {
		case 0:
			st.Ready = 0
		case 1:
			st.Ready = Unset
		case 2:
			st.Ready = max(s.Gate-1, 0)
		case 3:
			st.Ready = s.Gate + 1
		case 4:
			st.Ready = st.Run
		case 5:
			st.Ready = st.Run + max(units(t, unit, "ready_late", 5), 1)
		default:
			st.Ready = units(t, unit, "ready_after", 20)
		}
		return st
	})
	piece := rapid.Custom(func(t *rapid.T) HealthPiece {
		p := HealthPiece{Until: units(t, unit, "health_for", 30), Panic: rapid.IntRange(0, 3).Draw(t, "health_panic") == 0,
			LastSuccess: Unset, LastFailure: Unset}
		if !p.Panic {
			p.Name = rapid.SampledFrom([]string{"", "bogus", "svc0", "svc1"}).Draw(t, "health_name")
			if rapid.Bool().Draw(t, "health_success") {
				p.LastSuccess = units(t, unit, "health_success_at", 30)
			}
			if rapid.Bool().Draw(t, "health_failure") {
				p.LastFailure = units(t, unit, "health_failure_at", 30)
				p.LastError = rapid.SampledFrom([]string{"boom", ""}).Draw(t, "health_error")
				p.Failures = rapid.IntRange(0, 5).Draw(t, "health_failures")
			}
		}
		return p
	})
	service := rapid.Custom(func(t *rapid.T) Service {
		var sv Service
		sv.Steps = rapid.SliceOfN(step, 0, 6).Draw(t, "steps")
		// A step that waits for cancellation ends the service: none after
		// it could run.
		if k := slices.IndexFunc(sv.Steps, func(st Step) bool { return st.Wait }); k >= 0 {
			sv.Steps = sv.Steps[:k+1]
		}
		if rapid.IntRange(0, 5).Draw(t, "worker") == 0 {
			return Service{Worker: drawWorker(t, unit)}
		}
		if rapid.Bool().Draw(t, "stopper") {
			sv.Stopper = &StopStep{} // drawn below, once the share is known
		}
		if rapid.IntRange(0, 2).Draw(t, "notify_ready") == 0 {
			sv.NotifyReady = true
			// A call that ends, or is ready, at the very instant of its
			// start timeout races the timeout's timer (both are armed at
			// its call): 1ns later instead.
			for k := range sv.Steps {
				if st := &sv.Steps[k]; s.Gate > 0 && !st.Wait && st.Run == s.Gate {
					st.Run++
				}
				if st := &sv.Steps[k]; s.Gate > 0 && st.Ready == s.Gate {
					st.Ready++
				}
			}
		}
		switch rapid.IntRange(0, 3).Draw(t, "health") {
		case 2:
			sv.Health = &HealthPlan{Tracker: true,
				Calls: rapid.SampledFrom([]TrackerCalls{TrackSuccessFailure, TrackRecord, TrackFailureNil}).Draw(t, "tracker_calls")}
		case 3:
			sv.Health = &HealthPlan{Pieces: rapid.SliceOfN(piece, 1, 3).Draw(t, "health_pieces")}
			for k := 1; k < len(sv.Health.Pieces); k++ { // Until: durations to instants
				sv.Health.Pieces[k].Until += sv.Health.Pieces[k-1].Until
			}
		}
		return sv
	})
	s.Services = rapid.SliceOfN(service, 1, 8).Draw(t, "services")

	// How shutdown goes: Stop calls the Stoppers (C3), or an ordered
	// shutdown (C8), by Shutdown or under Serve.
	switch rapid.IntRange(0, 7).Draw(t, "shutdown_kind") {
	case 4, 5:
		s.Ordered = true
	case 6, 7:
		s.Serve = true
	}

	// The stop timeout, then each Stopper against its share: timeout/n
	// over the Stoppers, or (ordered) what the drain leaves over all n
	// services.
	stoppers := time.Duration(s.Stoppers())
	if s.ordered() {
		stoppers = time.Duration(len(s.Services))
	}
	switch rapid.IntRange(0, 6).Draw(t, "timeout_kind") {
	case 0:
		s.StopTimeout = 0
	case 1:
		s.StopTimeout = -units(t, unit, "negative_timeout", 20) - time.Nanosecond
	case 2: // below n nanoseconds
		s.StopTimeout = time.Duration(rapid.IntRange(1, max(1, int(stoppers)-1)).Draw(t, "timeout_below_n"))
	case 3: // divisible by n
		s.StopTimeout = max(stoppers, 1) * units(t, unit, "timeout_share", 20)
	case 4: // not divisible by n (when n > 1)
		s.StopTimeout = max(stoppers, 1)*units(t, unit, "timeout_share", 20) +
			time.Duration(rapid.IntRange(1, max(1, int(stoppers)-1)).Draw(t, "timeout_remainder"))
	default:
		s.StopTimeout = units(t, unit, "timeout", 60)
	}
	if s.ordered() && rapid.IntRange(0, 2).Draw(t, "drain") == 0 {
		// Within the budget, all of it, or beyond it (cut to it).
		switch rapid.IntRange(0, 3).Draw(t, "drain_kind") {
		case 0:
			s.Drain = units(t, unit, "drain_for", 20)
		case 1:
			s.Drain = s.StopTimeout
		case 2:
			s.Drain = s.StopTimeout + 1
		default:
			s.Drain = s.StopTimeout - 1
		}
		s.Drain = max(s.Drain, 0)
	}
	var share time.Duration
	if stoppers > 0 {
		share = s.StopTimeout / stoppers
		if s.ordered() {
			share = (s.StopTimeout - min(s.Drain, max(s.StopTimeout, 0))) / stoppers
		}
	}
	stop := rapid.Custom(func(t *rapid.T) StopStep {
		if rapid.IntRange(0, 9).Draw(t, "stop_block") == 0 {
			return StopStep{Block: true}
		}
		var sp StopStep
		switch rapid.IntRange(0, 5).Draw(t, "stop_took_kind") {
		case 0:
			sp.Took = 0
		case 1:
			sp.Took = share
		case 2:
			sp.Took = share - 1
		case 3:
			sp.Took = share + 1
		default:
			sp.Took = units(t, unit, "stop_took", 20)
		}
		sp.Took = max(sp.Took, 0)
		sp.Honour = rapid.Bool().Draw(t, "stop_honour")
		sp.End = []Outcome{Nil, Error, Panic, Goexit}[rapid.IntRange(0, 3).Draw(t, "stop_end")]
		sp.Shape = shape(t, StopShapes[sp.End], "stop_shape")
		return sp
	})
	for _, sv := range s.Services {
		if sv.Stopper != nil {
			*sv.Stopper = stop.Draw(t, "stop")
		}
	}

	// When things happen: instants a dry run of the model (never
	// cancelled) finds, to cancel, stop and sample at or around them. A
	// service is picked first, then one of its instants, so that the pick
	// survives rapid deleting other services or later steps.
	instants := dryInstants(s)
	pick := func(label string) (time.Duration, bool) {
		at := instants[rapid.IntRange(0, len(instants)-1).Draw(t, label+"_service")]
		if len(at) == 0 {
			return 0, false
		}
		return at[rapid.IntRange(0, len(at)-1).Draw(t, label)], true
	}
	// SetBackoff while Run runs, at an instant where a service fails or
	// restarts (or 1ns either side), else at a drawn time; the instants
	// are then those of the changed timeline.
	if rapid.IntRange(0, 3).Draw(t, "rebackoff") == 0 {
		s.Rebackoff = drawBackoff(t, unit)
		at, ok := pick("rebackoff_instant")
		if !ok {
			at = units(t, unit, "rebackoff_at", 30)
		}
		s.RebackoffAt = max(at+time.Duration(rapid.IntRange(-1, 1).Draw(t, "rebackoff_nudge")), 1)
		instants = dryInstants(s)
	}
	// Restart limits, leaning on the window's edges: exactly the span
	// of the N failures of a dry run that would give up (then they are
	// not within it: the window is half-open), or 1ns more or less.
	for i := range s.Services {
		if rapid.IntRange(0, 3).Draw(t, "limit") != 0 {
			continue
		}
		lim := &Limit{N: rapid.IntRange(1, 4).Draw(t, "limit_n")}
		var fails []time.Duration
		for _, a := range dryLife(s, i).attempts {
			if a.End != forever && a.Outcome != Finished {
				fails = append(fails, a.End)
			}
		}
		if k := rapid.IntRange(0, 3).Draw(t, "window_kind"); k > 0 && len(fails) >= lim.N {
			j := rapid.IntRange(0, len(fails)-lim.N).Draw(t, "window_from")
			lim.Window = fails[j+lim.N-1] - fails[j] + time.Duration(k-2) // span-1, span, span+1
		} else {
			lim.Window = units(t, unit, "window", 30)
		}
		lim.Window = max(lim.Window, 1)
		s.Services[i].Limit = lim
		s.Services[i].Essential = rapid.Bool().Draw(t, "essential")
	}
	instants = dryInstants(s) // with the limits: a service that gives up does no more

	last := time.Duration(0) // the last instant of the dry run
	for _, at := range instants {
		if len(at) > 0 {
			last = max(last, at[len(at)-1])
		}
	}
	switch k := rapid.IntRange(0, 9).Draw(t, "cancel_kind"); {
	case k == 0:
		s.CancelAt = 0 // before Run
	case k <= 5:
		if at, ok := pick("cancel_instant"); ok {
			s.CancelAt = max(at+time.Duration(rapid.IntRange(-1, 1).Draw(t, "cancel_nudge")), 1)
			break
		}
		fallthrough
	case k <= 7: // once every script has played out
		s.CancelAt = last + 1 + units(t, unit, "cancel_after_last", 20)
	default:
		s.CancelAt = max(units(t, unit, "cancel_at", 60), 1)
	}
	switch rapid.IntRange(0, 5).Draw(t, "stop_kind") {
	case 0:
		s.StopAt = 0
	case 1:
		s.StopAt = s.CancelAt
	case 2:
		s.StopAt = max(s.CancelAt-1, 0)
	case 3:
		s.StopAt = s.CancelAt + units(t, unit, "stop_after_cancel", 20)
	case 4:
		s.StopAt = time.Duration(rapid.Int64Range(0, int64(s.CancelAt)).Draw(t, "stop_before_cancel"))
	default:
		s.StopAt, _ = pick("stop_instant")
	}
	if rapid.IntRange(0, 4).Draw(t, "stop_twice") == 0 && !s.Serve {
		s.Stop2, s.Stop2At = true, s.StopAt+units(t, unit, "stop2_after", 20)
	}
	for range rapid.IntRange(0, 3).Draw(t, "health_samples") {
		var at time.Duration
		switch rapid.IntRange(0, 3).Draw(t, "health_kind") {
		case 0:
			at = 0
		case 1:
			at, _ = pick("health_instant")
		case 2:
			at = s.CancelAt
		default:
			at = units(t, unit, "health_at", 60)
		}
		s.HealthAt = append(s.HealthAt, at)
		s.HealthVia = append(s.HealthVia,
			rapid.SampledFrom([]string{ViaCall, ViaCall, ViaCall, ViaGet, ViaHead, ViaPost}).Draw(t, "health_via"))
	}

	// States samples (C9): at 0, at or 1ns beside an instant of the dry
	// run (a call, an end, a Ready, a start timeout), at cancellation or
	// at the Stop call, or anywhere.
	for range rapid.IntRange(0, 4).Draw(t, "states_samples") {
		var at time.Duration
		switch rapid.IntRange(0, 5).Draw(t, "states_kind") {
		case 0:
			at = 0
		case 1, 2:
			at, _ = pick("states_instant")
			at = max(at+time.Duration(rapid.IntRange(-1, 1).Draw(t, "states_nudge")), 0)
		case 3:
			at = s.CancelAt
		case 4:
			at = s.StopAt
		default:
			at = units(t, unit, "states_at", 60)
		}
		s.StatesAt = append(s.StatesAt, at)
	}

	// Where the Manager logs: WithLogger, or slog.Default at each call,
	// changed while Run runs (at or beside an instant of the dry run) or
	// not.
	switch rapid.IntRange(0, 5).Draw(t, "logger") {
	case 4:
		s.Logger = LoggerDefault
	case 5:
		s.Logger = LoggerNil
	}
	if s.Logger != LoggerWith && rapid.Bool().Draw(t, "logger_switch") {
		at, ok := pick("logger_switch_instant")
		if !ok {
			at = units(t, unit, "logger_switch_at", 30)
		}
		s.LoggerSwitchAt = max(at+time.Duration(rapid.IntRange(-1, 1).Draw(t, "logger_switch_nudge")), 1)
	}

	// Programmer errors, before Run or while it runs.
	if rapid.IntRange(0, 2).Draw(t, "misuse") == 0 {
		s.Misuse = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Misuse {
			m := Misuse{Kind: rapid.SampledFrom(MisuseKinds()).Draw(t, "misuse_kind")}
			if _, late := misuseSpec(m.Kind); late {
				m.At = max(units(t, unit, "misuse_at", 30), 1)
			}
			return m
		}), 1, 2).Draw(t, "misuses")
	}
	// An ordered shutdown whose turn would begin, on a timer, at an
	// instant where the service's own timer fires too is left to the Go
	// scheduler (Expectation.Ambiguous): such a schedule shuts down
	// unordered instead.
	// Likewise a gated start whose start timeout ties with a timer armed
	// at the same call (see Expectation.Ambiguous) starts ungated.
	if s.ordered() || s.Gate > 0 {
		if s.ordered() && Model(s).Ambiguous != "" {
			s.Ordered, s.Serve, s.Drain = false, false, 0
			if s.Gate > 0 && Model(s).Ambiguous != "" {
				s.Gate = 0
			}
		} else if !s.ordered() && Model(s).Ambiguous != "" {
			s.Gate = 0
		}
	}
	drawProbes(t, &s, unit, pick)
	return s
}

// drawProbes draws requests to the liveness and readiness probes (C10),
// last, so that a fail file of the draws before replays as it did: at
// the instants the States samples lean on, and within a drain; on the
// plain path or a per-service one (naming a service, or one there is
// not), verbose or not, excluding services (and names that match none),
// asking for application/health+json or not, by GET, HEAD or POST.
func drawProbes(t *rapid.T, s *Schedule, unit time.Duration, pick func(string) (time.Duration, bool)) {
	s.GiveUpProbes = rapid.IntRange(0, 7).Draw(t, "give_up_probes") != 0 // cheap: one request per give-up
	if rapid.Bool().Draw(t, "probes") {
		return
	}
	n := len(s.Services)
	name := func(label string) string { return Name(rapid.IntRange(0, n).Draw(t, label)) } // Name(n): no service
	s.Probes = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Probe {
		var p Probe
		switch rapid.IntRange(0, 9).Draw(t, "probe_kind") {
		case 0:
			p.At = 0
		case 7, 8, 9: // with a States sample (one timer for both), if any
			if len(s.StatesAt) > 0 {
				p.At = s.StatesAt[rapid.IntRange(0, len(s.StatesAt)-1).Draw(t, "probe_with_states")]
				break
			}
			p.At = s.CancelAt
		case 1, 2:
			p.At, _ = pick("probe_instant")
			p.At = max(p.At+time.Duration(rapid.IntRange(-1, 1).Draw(t, "probe_nudge")), 0)
		case 3:
			p.At = s.CancelAt
		case 4:
			p.At = s.StopAt
		case 5: // within the drain, or at its end
			begin := s.StopAt
			if s.Serve {
				begin = s.CancelAt
			}
			p.At = begin + time.Duration(rapid.Int64Range(0, int64(s.Drain)).Draw(t, "probe_in_drain"))
		default:
			p.At = units(t, unit, "probe_at", 60)
		}
		p.Live = rapid.Bool().Draw(t, "probe_live")
		p.Method = rapid.SampledFrom([]string{http.MethodGet, http.MethodGet, http.MethodGet, http.MethodGet,
			http.MethodHead, http.MethodPost}).Draw(t, "probe_method")
		if rapid.IntRange(0, 3).Draw(t, "probe_one") == 0 {
			p.One = name("probe_one_name")
		}
		p.Verbose = rapid.Bool().Draw(t, "probe_verbose")
		for range rapid.IntRange(0, 2).Draw(t, "probe_excludes") {
			if x := name("probe_exclude"); !slices.Contains(p.Exclude, x) {
				p.Exclude = append(p.Exclude, x)
			}
		}
		p.Accept = rapid.SampledFrom([]string{"", "", "", "", AcceptHealthJSON, AcceptMixed}).Draw(t, "probe_accept")
		return p
	}), 1, 2).Draw(t, "probe_requests")
}

// drawWorker draws a Worker: its interval, the spread of its first tick
// (the draw in every shape the clamp tells apart) and its ticks, whose
// work leans on the grid: 0, the interval, or 1ns either side of it, so
// that ticks end on the grid, just before or just after it.
func drawWorker(t *rapid.T, unit time.Duration) *WorkerPlan {
	w := &WorkerPlan{Interval: max(units(t, unit, "interval", 10), 1)}
	if rapid.Bool().Draw(t, "spread") {
		w.Spread = max(units(t, unit, "spread_max", 10), 1)
		w.R = rapid.OneOf(rapid.SampledFrom([]float64{0, 0.5, 1, math.Nextafter(1, 0)}), rapid.Float64Range(0, 1),
			rapid.SampledFrom([]float64{-0.5, 1.5, math.NaN(), math.Inf(-1)})).Draw(t, "spread_rnd")
	}
	w.Ticks = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Tick {
		var tk Tick
		switch rapid.IntRange(0, 5).Draw(t, "tick_work_kind") {
		case 0:
		case 1:
			tk.Work = w.Interval
		case 2:
			tk.Work = w.Interval - 1
		case 3:
			tk.Work = w.Interval + 1
		default:
			tk.Work = units(t, unit, "tick_work", 25)
		}
		tk.End = []Outcome{Nil, Nil, Nil, Error, Error, Error, Panic, Panic, Goexit, Finished}[rapid.IntRange(0, 9).Draw(t, "tick_end")]
		shapes := Shapes[tk.End]
		if tk.End == Error {
			shapes = shapes[:2] // not an Error method that panics: the Tracker's text for it is not the sim's to model
		}
		tk.Shape = shape(t, shapes, "tick_shape")
		return tk
	}), 0, 6).Draw(t, "ticks")
	return w
}

// shape draws one of shapes, the plain one (first) half the time.
func shape(t *rapid.T, shapes []string, label string) string {
	if len(shapes) < 2 {
		return ""
	}
	k := rapid.IntRange(0, 2*len(shapes)-3).Draw(t, label)
	return shapes[max(k-len(shapes)+2, 0)]
}

// drawBackoff draws SetBackoff's arguments, leaning on the boundaries:
// 1ns, maxima a doubling reaches exactly or misses by 1ns, and huge values
// whose doubling must saturate.
func drawBackoff(t *rapid.T, unit time.Duration) *Backoff {
	initial := max(units(t, unit, "initial", 5), time.Nanosecond)
	if rapid.IntRange(0, 4).Draw(t, "huge_initial") == 0 {
		// A few doublings pass MaxInt64/2: doubling must saturate.
		initial = rapid.SampledFrom([]time.Duration{1 << 62, 1 << 61}).Draw(t, "huge_initial_value")
	}
	var maximum time.Duration
	switch rapid.IntRange(0, 5).Draw(t, "maximum_kind") {
	case 0:
		maximum = initial
	case 1:
		maximum = math.MaxInt64
	case 2:
		maximum = 1<<62 + time.Duration(rapid.IntRange(0, 1000).Draw(t, "huge_maximum"))
	case 3: // a doubling reaches it exactly, or misses it by 1ns
		maximum = initial<<rapid.IntRange(1, 5).Draw(t, "maximum_doublings") +
			time.Duration(rapid.IntRange(-1, 1).Draw(t, "maximum_nudge"))
	default:
		maximum = initial * time.Duration(rapid.IntRange(1, 40).Draw(t, "maximum_times_initial"))
	}
	if maximum < initial { // overflowed
		maximum = math.MaxInt64
	}
	if initial >= 1<<61 {
		// Room above the doubled delay, or none.
		maximum = rapid.SampledFrom([]time.Duration{math.MaxInt64, 1<<62 + 1<<61, initial}).Draw(t, "maximum_for_huge_initial")
	}
	reset := max(units(t, unit, "reset", 30), time.Nanosecond)
	return &Backoff{Initial: initial, Maximum: maximum, Reset: reset}
}

// units draws a duration of 0 to max units.
func units(t *rapid.T, unit time.Duration, label string, max int) time.Duration {
	return time.Duration(rapid.IntRange(0, max).Draw(t, label)) * unit
}

// horizon bounds the instants drawn: far enough for a huge initial delay
// to be waited out twice, with room to spare below MaxInt64.
const horizon = 1<<62 + 1<<61

// dryInstants returns, per service, the instants (in time order, positive,
// below horizon) at which a dry run of the model, never cancelled, starts
// or ends an attempt: the attempts' ends and the backoffs' ends.
func dryInstants(s Schedule) [][]time.Duration {
	out := make([][]time.Duration, len(s.Services))
	dry := dryLives(s)
	for i := range s.Services {
		l := dry[i]
		for _, a := range l.attempts {
			for _, x := range []time.Duration{a.Start, a.End} {
				if x > 0 && x < horizon {
					out[i] = append(out[i], x)
				}
			}
		}
		for _, c := range l.ticks { // a Worker's ticks, in time order too
			for _, x := range []time.Duration{c.Start, c.End} {
				if x > 0 && x < horizon {
					out[i] = append(out[i], x)
				}
			}
		}
		for _, x := range append(l.readies, l.timeouts...) { // C9.3, C9.4
			if x > 0 && x < horizon {
				out[i] = append(out[i], x)
			}
		}
		slices.Sort(out[i])
		out[i] = slices.Compact(out[i])
	}
	return out
}
