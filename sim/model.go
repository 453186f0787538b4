package sim

import (
	"errors"
	"math"
	"time"
)

// Expectation is what the model predicts for a schedule: the trace, and
// the few places where two answers are both right.
type Expectation struct {
	Trace Trace
	// HealthAlt gives, for a health entry at [sample, entry], the other
	// acceptable value: a Tracker sampled at the very instant its service
	// recorded something may show the state before or after that instant.
	HealthAlt map[[2]int]HealthEntry
	// Restarts are, per service, the model's backoff decision after each
	// attempt that failed while ctx was live: the reachability counters
	// read them, so the backoff rule is written once, in supervise.
	Restarts [][]Restart
}

// Restart is the supervise loop's decision after attempt Attempt (from 0)
// failed while ctx was live.
type Restart struct {
	Attempt int
	Setting Backoff       // the SetBackoff setting in force when it failed
	Reset   bool          // it ran at least Setting.Reset: the delay went back to Setting.Initial
	Held    time.Duration // the delay the loop held when the attempt failed, before any reset
	Delay   time.Duration // the delay of the rule, before jitter
	Wait    time.Duration // the delay waited, after jitter
	// Overflowed: Delay came from doubling a delay above MaxInt64/2, which
	// must saturate rather than wrap.
	Overflowed bool
	// Restarted: the wait ended before cancellation and the next attempt
	// started. Only then is the delay doubled, and Capped says the
	// doubling passed Setting.Maximum and was cut to it.
	Restarted bool
	Capped    bool
}

// forever stands for "never cancelled" in dry runs of the model.
const forever = time.Duration(math.MaxInt64)

// Model is the independent model of docs/contract.md: a pure function of the
// schedule, written from the contract's text, sharing no code with package
// lifecycle.
func Model(s Schedule) Expectation {
	var exp Expectation
	tr := &exp.Trace
	for i := range s.Services {
		tr.Names = append(tr.Names, Name(i))
	}

	// C2 Supervision: one supervise loop per service.
	tr.Services = make([]ServiceTrace, len(s.Services))
	var runEvents [][]Event
	tr.RunReturned = s.CancelAt // Run returns once ctx is done ...
	exp.Restarts = make([][]Restart, len(s.Services))
	for i := range s.Services {
		l := supervise(s, i, s.CancelAt)
		tr.Services[i].Attempts, tr.Services[i].Ticks = l.attempts, l.ticks
		exp.Restarts[i] = l.restarts
		tr.Services[i].Logs = runLogs(l.attempts)
		runEvents = append(runEvents, l.events)
		for _, a := range l.attempts {
			tr.RunReturned = max(tr.RunReturned, a.End) // ... and every Runner has returned.
		}
	}

	// C3 Shutdown.
	var stopEvents [][]Event
	tr.Stop, stopEvents = shutdown(s, tr.Services)
	if s.Stop2 {
		// A second call does nothing: it waits for the first and returns
		// its report.
		tr.Stop2 = &Stop2Trace{Returned: max(s.Stop2At, tr.Stop.End), SameReport: true}
	}
	for i := range tr.Services {
		tr.Services[i].Events = mergeEvents(runEvents[i], stopEvents[i])
	}

	// C4 Health.
	exp.HealthAlt = map[[2]int]HealthEntry{}
	for j, at := range s.HealthAt {
		// Through the endpoint: the status and headers of the contract; a
		// refused method reads no health, HEAD reads it but sends no body,
		// GET sends it as JSON.
		via := s.via(j)
		sample := HealthSample{At: at, Via: via, HTTP: wantHTTP(via), Entries: []HealthEntry{}}
		for i, sv := range s.Services {
			if !sv.reports() || via == ViaPost {
				continue
			}
			var e, alt HealthEntry
			if records, ok := trackerRecords(s, i, &tr.Services[i]); ok {
				// Updates before the instant, or (alt) up to and including it.
				e = tracked(Name(i), records, func(end time.Duration) bool { return end < at })
				alt = tracked(Name(i), records, func(end time.Duration) bool { return end <= at })
			} else {
				e = reported(Name(i), sv.Health.Pieces, at)
				alt = e
				if e.Panicked { // logged at Error, without a stack
					tr.Services[i].Logs = append(tr.Services[i].Logs, Log{At: at, Level: "ERROR"})
				}
			}
			if via == ViaHead {
				continue // read, not sent
			}
			if via == ViaGet {
				e.JSON, alt.JSON = wantKeys(e), wantKeys(alt)
			}
			if alt != e {
				exp.HealthAlt[[2]int{j, len(sample.Entries)}] = alt
			}
			sample.Entries = append(sample.Entries, e)
		}
		tr.Health = append(tr.Health, sample)
	}

	// §5 Programmer errors: each panics, naming the package and the
	// service, and changes nothing.
	for _, m := range s.Misuse {
		tr.Misuse = append(tr.Misuse, MisuseResult{At: m.At, Kind: m.Kind, Panicked: true, Prefix: true, Named: true, Kept: true})
	}

	// Without WithLogger, each record goes to slog.Default() as it is at
	// the time of the call: the one set before Run, then the one set at
	// LoggerSwitchAt (the oldest timer: first at its instant).
	for i := range tr.Services {
		if s.Logger != LoggerWith {
			for k, l := range tr.Services[i].Logs {
				tr.Services[i].Logs[k].Logger = 1
				if s.LoggerSwitchAt > 0 && l.At >= s.LoggerSwitchAt {
					tr.Services[i].Logs[k].Logger = 2
				}
			}
		}
		sortLogs(tr.Services[i].Logs)
	}
	return exp
}

// runLogs are the log records of a service's Run calls (docs/semantics.md):
// a failure while ctx is live at Error (with the stack of a panic, and
// saying so if its error's Error method panicked); finishing for good at
// Info; once ctx is done, only a panic or Goexit, at Error.
func runLogs(attempts []Attempt) []Log {
	var logs []Log
	for _, a := range attempts {
		switch {
		case a.Canceled && a.Outcome != Panic && a.Outcome != Goexit:
		case a.Outcome == Finished && !a.Canceled:
			logs = append(logs, Log{At: a.End, Level: "INFO"})
		default:
			logs = append(logs, Log{At: a.End, Level: "ERROR", Stack: a.Outcome == Panic,
				Hostile: a.Outcome == Error && a.Detail == hostileDetail})
		}
	}
	return logs
}

// trackerRecords returns what service i's Tracker records, from its
// trace, if it has one: a Worker's ticks, or its own calls of Run.
func trackerRecords(s Schedule, i int, st *ServiceTrace) ([]record, bool) {
	sv := s.Services[i]
	switch {
	case sv.Worker != nil:
		return tickRecords(Name(i), st.Ticks), true
	case sv.Health != nil && sv.Health.Tracker:
		return attemptRecords(sv.Health.Calls, st.Attempts), true
	}
	return nil, false
}

// life is what the model says one service's supervise loop does.
type life struct {
	attempts []Attempt  // the service's calls of Run
	events   []Event    // its Run events
	restarts []Restart  // the backoff decisions
	ticks    []TickCall // a Worker's ticks
}

// supervise is the supervise loop of service i, with Run's ctx cancelled at
// cancelAt (0: before Run).
func supervise(s Schedule, i int, cancelAt time.Duration) life {
	var l life
	if cancelAt == 0 {
		return l // a ctx done at the call: Run starts nothing
	}
	attempts, events, restarts := &l.attempts, &l.events, &l.restarts
	nextTick := 0                   // a Worker's next tick in its script
	backoff := s.settings().Initial // the next restart delay
	overflowed := false             // backoff is a doubling of a delay above MaxInt64/2
	now := time.Duration(0)
	for k := 0; ; k++ {
		// 1. Call Run.
		var a Attempt
		if w := s.Services[i].Worker; w != nil {
			var ticks []TickCall
			a, ticks, nextTick = workerRun(w, Name(i), now, cancelAt, nextTick)
			l.ticks = append(l.ticks, ticks...)
		} else {
			a = attempt(s.Services[i].step(k), Name(i), k+1, now, cancelAt)
		}
		*attempts = append(*attempts, a)
		*events = append(*events,
			Event{At: a.Start, Kind: "AttemptStarted", Attempt: k + 1},
			Event{At: a.End, Kind: "AttemptEnded", Attempt: k + 1, Outcome: a.Outcome, Detail: eventDetail(a.Outcome, a.Detail),
				Duration: a.End - a.Start, Canceled: a.Canceled})
		// 2. ctx done when Run returned: the loop ends. So does finishing
		// for good.
		if a.Canceled || a.Outcome == Finished || a.End == forever {
			return l
		}
		// 4. A run of at least reset starts the doubling again. The
		// setting is the one in force now (SetBackoff may have changed it).
		cur := s.settingsAt(a.End)
		r := Restart{Attempt: k, Setting: cur, Reset: a.End-a.Start >= cur.Reset, Held: backoff}
		if r.Reset {
			backoff, overflowed = cur.Initial, false
		}
		// 5. Wait backoff (jittered), or until ctx is done. The driver's
		// cancel timer is older than the backoff timer, so a wait ending
		// exactly at cancelAt is cut short.
		r.Delay, r.Overflowed = backoff, overflowed
		r.Wait = jittered(backoff, s.Jitter)
		*events = append(*events, Event{At: a.End, Kind: "BackingOff", Attempt: k + 1, Duration: r.Wait})
		restart := addSat(a.End, r.Wait)
		if restart >= cancelAt {
			*restarts = append(*restarts, r)
			return l
		}
		// 6. Double, saturating, capped at maximum.
		r.Restarted = true
		overflowed = backoff > math.MaxInt64/2
		if backoff > cur.Maximum/2 {
			r.Capped = backoff < cur.Maximum
			backoff = cur.Maximum
		} else {
			backoff *= 2
		}
		*restarts = append(*restarts, r)
		now = restart
	}
}

// attempt is the k-th call of Run of service name, made at start.
func attempt(st Step, name string, k int, start, cancelAt time.Duration) Attempt {
	a := Attempt{Start: start}
	switch {
	case st.Wait && cancelAt == forever:
		a.End = forever // dry run: it never ends
	case st.Wait && st.Honour:
		a.End, a.Outcome, a.Detail = cancelAt, Error, "context canceled"
	case st.Wait:
		a.End, a.Outcome, a.Detail = cancelAt+st.Run, st.End, runDetail(name, k, st)
	case st.Honour && st.Run > 0 && cancelAt <= start+st.Run:
		// The cancel timer is older than the service's own timer: at equal
		// times, cancellation wins.
		a.End, a.Outcome, a.Detail = cancelAt, Error, "context canceled"
	default:
		a.End, a.Outcome, a.Detail = start+st.Run, st.End, runDetail(name, k, st)
	}
	a.Canceled = a.End >= cancelAt
	return a
}

// jittered is d shortened by WithJitter: d - Duration(float64(d)*f*r),
// floored at 0, with the draw r clamped into [0, 1] (NaN counts as 0).
// This is the one place of the jitter rule in the sim.
func jittered(d time.Duration, j *Jitter) time.Duration {
	if j == nil {
		return d
	}
	r := j.R
	switch {
	case math.IsNaN(r) || r < 0:
		r = 0
	case r > 1:
		r = 1
	}
	cut := float64(d) * j.Fraction * r
	if cut >= float64(math.MaxInt64) {
		return 0 // the cut is at least d: nothing is left
	}
	return max(d-time.Duration(cut), 0)
}

// addSat is a+b for non-negative a and b, saturating at the largest
// Duration.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// shutdown is the Stop call of the schedule: the report, the Stoppers'
// view of their calls (stored in services) and the Stop events per service.
func shutdown(s Schedule, services []ServiceTrace) (StopTrace, [][]Event) {
	events := make([][]Event, len(s.Services))
	st := StopTrace{Start: s.StopAt, Timeout: s.StopTimeout}

	// n Stoppers, share = timeout/n each, called last registered first.
	n := time.Duration(s.Stoppers())
	if n > 0 {
		st.Budget = s.StopTimeout / n
	}
	share := st.Budget
	now := s.StopAt
	for i := len(s.Services) - 1; i >= 0; i-- {
		sp := s.Services[i].Stopper
		if sp == nil {
			continue
		}
		name := Name(i)
		call := StopCall{Called: now, Deadline: now + share, Returned: Unset}
		switch {
		case sp.Block:
		case sp.Took >= share && sp.Honour && sp.Took > 0:
			// Done at the deadline (or at once if share <= 0), before its
			// own timer: it returns ctx.Err().
			call.Returned, call.Outcome, call.Detail = max(now+share, now), Error, "context deadline exceeded"
		default:
			call.Returned, call.Outcome, call.Detail = now+sp.Took, sp.End, stopDetail(sp, errPlainStop)
		}
		// A Stopper that returns while its ctx is live is in time; one
		// whose ctx is done when it returns (at the very deadline
		// included) or that never returns is abandoned.
		call.CtxDone = call.Returned != Unset && call.Returned >= call.Deadline
		inTime := call.Returned != Unset && !call.CtxDone
		services[i].Stops = []StopCall{call}

		res := StopResult{Service: name, Called: now, Deadline: call.Deadline}
		events[i] = append(events[i], Event{At: now, Kind: "StopCalled", Duration: share})
		// Logged at Error: a failure in time, an abandonment, and the
		// failure of an abandoned call when it ends.
		logs := &services[i].Logs
		if call.Returned != Unset && call.Outcome != Nil {
			*logs = append(*logs, Log{At: call.Returned, Level: "ERROR", Stack: call.Outcome == Panic,
				Hostile: call.Outcome == Error && call.Detail == hostileDetail})
		}
		if inTime {
			res.Elapsed, res.Outcome = call.Returned-now, call.Outcome
			res.Err = stopErrClass(call.Outcome, call.Detail)
			events[i] = append(events[i], Event{At: call.Returned, Kind: "StopEnded", Outcome: call.Outcome,
				Detail: eventDetail(call.Outcome, call.Detail), Duration: res.Elapsed})
			now = call.Returned
		} else {
			// The next Stopper is called at the deadline, or at once if it
			// has passed already.
			res.Abandoned, res.Elapsed, res.Err = true, max(share, 0), "deadline"
			now = max(now+share, now)
			events[i] = append(events[i], Event{At: now, Kind: "StopAbandoned", Duration: share})
			*logs = append(*logs, Log{At: now, Level: "ERROR"})
		}
		st.Results = append(st.Results, res)
	}
	st.End, st.Returned = now, now
	return st, events
}

// eventDetail is an event's Detail for a call that ended with o: the
// text of the error, or the panic value; nothing for Goexit.
func eventDetail(o Outcome, detail string) string {
	if o == Goexit {
		return ""
	}
	return detail
}

// errPlainStop is the error a Stopper of the plain shape returns.
var errPlainStop = errors.New("stop error")

// stopErrClass is the classified StopResult.Err of a Stopper that ended
// in time with outcome o, described by detail.
func stopErrClass(o Outcome, detail string) string {
	switch o {
	case Error, Panic:
		return string(o) + ": " + detail
	case Goexit:
		return "goexit"
	}
	return ""
}

// reported is the health of a service whose Health is a function of time.
func reported(name string, pieces []HealthPiece, at time.Duration) HealthEntry {
	p := pieces[len(pieces)-1]
	for _, q := range pieces {
		if at < q.Until {
			p = q
			break
		}
	}
	if p.Panic {
		return HealthEntry{Name: name, Panicked: true, LastSuccess: Unset, LastFailure: Unset}
	}
	return HealthEntry{Name: name, LastSuccess: p.LastSuccess, LastFailure: p.LastFailure,
		LastError: p.LastError, Failures: p.Failures}
}
