package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
	// Ambiguous says why the schedule's trace is not one the Go scheduler
	// cannot change ("" when it is): an ordered shutdown's turn that
	// begins, on a timer of the Manager or a service, at an instant where
	// the service's own timer fires too. The two timers fire in the order
	// they were armed, which for timers armed at one instant by two
	// goroutines is the scheduler's; the generator does not draw such
	// schedules ordered.
	Ambiguous string
	// Ended and GaveUpAt are, per service, when its supervise loop ended
	// and when it gave up (Unset: never), as the reachability counters
	// read them.
	Ended, GaveUpAt []time.Duration

	ops [][]stateOp // each service's changes of state (C9), sorted: the probes' counters read them
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

	// C2 Supervision: one supervise loop per service, told to stop by
	// Run's ctx and (C7.1) by the start of shutdown; C3 or C8 Shutdown.
	tr.Services = make([]ServiceTrace, len(s.Services))
	exp.Restarts = make([][]Restart, len(s.Services))
	lives := make([]life, len(s.Services))
	var stopEvents [][]Event
	var stopOps [][]stateOp // the changes of state shutdown makes (C9.1)
	if s.ordered() {
		lives, tr.Stop, stopEvents, stopOps, exp.Ambiguous = orderedShutdown(s, tr.Services)
	} else {
		tr.Stop, stopEvents, stopOps = shutdown(s, tr.Services)
		// Run calls each service first in registration order: at once,
		// or with a gated start each once the one before is ready or its
		// loop ended; none once ctx is done; every one left at once when
		// shutdown begins (C7.2, C9.4).
		cur := start{at: 0}
		if s.CancelAt == 0 {
			cur.at = Unset
		}
		for i := range s.Services {
			leave := leaving(stopOps[i], cur)
			b := bounds{cancel: s.CancelAt, stop: s.StopAt, stopVis: true, start: cur.at, startVis: cur.vis,
				stopping: leave.at, stoppingVis: leave.vis}
			lives[i] = supervise(s, i, b)
			if s.Gate > 0 && cur.at == s.StopAt && cur.vis && cur.at > 0 && s.Services[i].Stopper != nil && exp.Ambiguous == "" {
				// Run starts the services left at once when an unordered
				// shutdown begins (C7.2), as Shutdown calls their Stop: a
				// Stop call (stopping, abandoned with no budget) before
				// Run's call changes nothing, one after it does; with
				// NotifyReady, one between the call and Ready refuses
				// Ready. Which is the scheduler's.
				exp.Ambiguous = fmt.Sprintf("Run starts %s at %v as Shutdown calls its Stop", Name(i), fmtDur(cur.at))
			}
			var amb string
			cur, amb = nextStart(s, cur, lives[i], s.StopAt, s.CancelAt, true)
			exp.Ambiguous = cmp.Or(exp.Ambiguous, amb)
		}
	}
	for _, l := range lives {
		exp.Ambiguous = cmp.Or(exp.Ambiguous, l.ambiguous)
	}
	tr.RunReturned = s.CancelAt // Run returns once ctx is done ...
	for i, l := range lives {
		exp.Ended, exp.GaveUpAt = append(exp.Ended, l.ended), append(exp.GaveUpAt, l.gaveUp)
		tr.Services[i].Attempts, tr.Services[i].Ticks = l.attempts, l.ticks
		exp.Restarts[i] = l.restarts
		tr.Services[i].Logs = append(l.logs, tr.Services[i].Logs...)
		if s.Services[i].Worker != nil {
			tr.Services[i].Logs = append(tr.Services[i].Logs, tickLogs(Name(i), l.ticks)...)
		}
		tr.Services[i].Events = mergeEvents(l.events, stopEvents[i])
		for _, a := range l.attempts {
			tr.RunReturned = max(tr.RunReturned, a.End) // ... and every Runner has returned.
		}
	}
	if s.Serve {
		// Serve returns once its shutdown is over (C8.5): every loop has
		// ended by then, unless it was abandoned, which Serve does not wait
		// for.
		tr.RunReturned = tr.Stop.End
		tr.ServeErr = serveErr(lives, tr.Stop)
	}
	tr.GaveUp = gaveUp(lives)

	// C9 States: each service's changes, its loop's and shutdown's.
	ops := make([][]stateOp, len(s.Services))
	for i, l := range lives {
		ops[i] = append(slices.Clone(l.ops), stopOps[i]...)
	}
	modelStates(s, ops, tr)
	modelProbes(s, ops, tr) // C10
	modelGiveUpProbes(s, &exp)
	exp.ops = ops
	if s.Stop2 && !s.Serve {
		// A second call does nothing: it waits for the first and returns
		// its report.
		tr.Stop2 = &Stop2Trace{Returned: max(s.Stop2At, tr.Stop.End), SameReport: true}
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
	logs     []Log      // the records its loop logs
	restarts []Restart  // the backoff decisions
	ticks    []TickCall // a Worker's ticks
	// ended is when the loop ended (Unset: never started); byStop says
	// it ended at the instant it was told to stop, because of it: a Run
	// cut short by its ctx, or a restart delay cut short.
	ended  time.Duration
	byStop bool
	gaveUp time.Duration // when it gave up (C7.3), or Unset

	ops []stateOp // its changes of state (C9), but those of shutdown's turns and Stop calls
	// gate is when a gated start may go on to the next service (C9.4):
	// the service first ready, or its loop ended (Unset: never); gateVis
	// says it is in the cascade of a driver's action.
	gate    time.Duration
	gateVis bool
	// readies and timeouts are the instants of its Ready calls and of its
	// attempts' start timeouts, for the ambiguity of a turn on a timer.
	readies, timeouts []time.Duration
	ambiguous         string // why the loop is the scheduler's to decide, if it is
}

// bounds say when one service's supervise loop is told to stop.
type bounds struct {
	cancel time.Duration // its Run's ctx is done from here: Run's ctx, or (C8) its turn; 0: before Run
	// stop is when shutdown begins for it (C7.1): from here an attempt
	// that ends is not a failure, and nothing restarts. In an ordered
	// shutdown it is its turn.
	stop    time.Duration
	noStart bool // Run starts nothing (C7.2: ordered, shutdown began before Run)

	// start is when Run first calls it (0 without a gated start), and
	// startVis says in the cascade of a driver's action (C9.4).
	start    time.Duration
	startVis bool
	// stopVis says the instant it is told to stop, min(cancel, stop), is
	// in the cascade of a driver's action.
	stopVis bool
	// stopping is when shutdown makes it Stopping (its Stop called, or
	// its turn), forever if never; stoppingVis as above (C9.1). The zero
	// value is read as never.
	stopping    time.Duration
	stoppingVis bool
	dry         bool // no one reads its changes of state
}

// supervise is the supervise loop of service i (C2, C7), told to stop by b.
func supervise(s Schedule, i int, b bounds) life {
	l := life{ended: Unset, gaveUp: Unset, gate: Unset}
	if b.cancel == 0 || b.noStart || b.start == Unset {
		return l // a ctx done at the call, or shutdown begun: Run starts nothing
	}
	if b.stopping == 0 {
		b.stopping = forever
	}
	stopAt := min(b.cancel, b.stop)
	sv := &s.Services[i]
	attempts, events, restarts := &l.attempts, &l.events, &l.restarts
	nextTick := 0                   // a Worker's next tick in its script
	backoff := s.settings().Initial // the next restart delay
	overflowed := false             // backoff is a doubling of a delay above MaxInt64/2
	var failures []time.Duration    // when each failure ended, for RestartLimit
	now, nowVis := b.start, b.startVis
	notify := sv.NotifyReady && sv.Worker == nil
	ops := opsLog{off: b.dry}
	// The loop ends at instant t (vis: in a driver's cascade) in state:
	// a gated start may go on (C9.4).
	end := func(t time.Duration, vis bool, state string) life {
		l.ended = t
		ops.add(stateOp{at: t, vis: vis, kind: opEnter, state: state})
		if l.gate == Unset || l.gate > t {
			l.gate, l.gateVis = t, vis
		}
		l.ops = ops.ops
		return l
	}
	for k := 0; ; k++ {
		// 1. Call Run: running, or with NotifyReady starting (C9.1).
		ops.add(stateOp{at: now, vis: nowVis, kind: opStart, n: k + 1, notify: notify})
		if !notify && l.gate == Unset {
			l.gate, l.gateVis = now, nowVis
		}
		var a Attempt
		fired := false // the start timeout cancelled it (C9.4)
		if w := sv.Worker; w != nil {
			var ticks []TickCall
			a, ticks, nextTick = workerRun(w, Name(i), now, b.cancel, nextTick)
			l.ticks = append(l.ticks, ticks...)
		} else {
			st := sv.step(k)
			a = attempt(st, Name(i), k+1, now, b.cancel)
			if notify {
				a, fired = l.readiness(s, Name(i), st, k, now, nowVis, a, b, &ops)
			}
		}
		*attempts = append(*attempts, a)
		// What the Manager makes of it: a start timeout is a failure with
		// ErrStartTimeout, whatever Run returned, unless it panicked or
		// called Goexit: those keep their own ending, and their stack
		// (C9.4).
		m := a
		if fired && a.Outcome != Panic && a.Outcome != Goexit {
			m.Outcome, m.Detail = Error, startTimeoutText(Name(i), s.Gate)
		}
		// A call that returns at once ends in the cascade it began in.
		endVis := nowVis && a.End == a.Start
		// C7.1: an attempt that ends once the service is to stop is not a
		// failure (the event says Canceled), whatever it returned.
		stopping := a.End >= stopAt
		*events = append(*events,
			Event{At: a.Start, Kind: "AttemptStarted", Attempt: k + 1},
			Event{At: a.End, Kind: "AttemptEnded", Attempt: k + 1, Outcome: m.Outcome, Detail: eventDetail(m.Outcome, m.Detail),
				Duration: a.End - a.Start, Canceled: stopping})
		// 2. Told to stop when Run returned: the loop ends. Of such ends,
		// a panic or Goexit is logged at Error, a return while ctx is
		// live (shutdown began, ctx did not end) at Info.
		if stopping || a.End == forever {
			switch {
			case m.Outcome == Panic || m.Outcome == Goexit:
				l.logs = append(l.logs, failureLog(m))
			case a.End < b.cancel:
				l.logs = append(l.logs, Log{At: a.End, Level: "INFO"})
			}
			l.byStop = !fired && a.End == stopAt && a.Start < stopAt && cutShort(sv.step(k), sv.Worker != nil, a)
			if a.End == forever {
				l.ended = forever
				l.ops = ops.ops
				return l
			}
			// Cut short by its ctx's cancellation: in that cascade.
			byCancel := !fired && a.End == b.cancel && a.Start < a.End && cutShort(sv.step(k), sv.Worker != nil, a)
			return end(a.End, endVis || (byCancel && b.stopVis), stStopped)
		}
		// Finishing for good ends the loop, logged at Info.
		if m.Outcome == Finished {
			l.logs = append(l.logs, Log{At: a.End, Level: "INFO"})
			return end(a.End, endVis, stFinished)
		}
		// C9.2: a failure sets LastError and LastFailure, and counts,
		// from 0 again after a run of at least the reset window.
		cur := s.settingsAt(a.End)
		if !b.dry {
			ops.add(stateOp{at: a.End, vis: endVis, kind: opFail, reset: a.End-a.Start >= cur.Reset,
				text: failureText(Name(i), m.Outcome, m.Detail)})
		}
		// C7.3: the failure that makes N within (t-W, t] gives up, with
		// no delay: logged at Error, a GaveUp event, the loop ends.
		if lim := sv.Limit; lim != nil {
			failures = append(failures, a.End)
			n := 0
			for _, t := range failures {
				if t > a.End-lim.Window {
					n++
				}
			}
			if n >= lim.N {
				l.logs = append(l.logs, failureLog(m))
				*events = append(*events, Event{At: a.End, Kind: "GaveUp", Attempt: k + 1, Outcome: m.Outcome,
					Detail: giveUpDetail(lim, m.Outcome, m.Detail)})
				l.gaveUp = a.End
				return end(a.End, endVis, stGaveUp)
			}
		}
		l.logs = append(l.logs, failureLog(m))
		// 4. A run of at least reset starts the doubling again. The
		// setting is the one in force now (SetBackoff may have changed it).
		r := Restart{Attempt: k, Setting: cur, Reset: a.End-a.Start >= cur.Reset, Held: backoff}
		if r.Reset {
			backoff, overflowed = cur.Initial, false
		}
		// 5. Wait backoff (jittered), or until told to stop. The driver's
		// timers are older than the backoff timer, so a wait ending
		// exactly at cancellation, or at the start of shutdown, is cut
		// short; an ordered shutdown's turn cuts it at the turn.
		r.Delay, r.Overflowed = backoff, overflowed
		r.Wait = jittered(backoff, s.Jitter)
		*events = append(*events, Event{At: a.End, Kind: "BackingOff", Attempt: k + 1, Duration: r.Wait})
		restart := addSat(a.End, r.Wait)
		ops.add(stateOp{at: a.End, vis: endVis, kind: opBackoff, until: restart, wait: r.Wait})
		if restart >= stopAt {
			*restarts = append(*restarts, r)
			l.byStop = stopAt != forever
			if !l.byStop {
				l.ended = forever
				l.ops = ops.ops
				return l
			}
			return end(stopAt, b.stopVis, stStopped)
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
		now, nowVis = restart, false
	}
}

// readiness plays the Ready call of attempt k (from 0) of a NotifyReady
// service name, called at now, which without a start timeout ends as a
// says (C9.3); and, with a gated start, the start timeout (C9.4): if the
// attempt is not ready within s.Gate, its ctx is cancelled then. It
// returns the attempt, and whether the start timeout fired.
func (l *life) readiness(s Schedule, name string, st Step, k int, now time.Duration, nowVis bool, a Attempt, b bounds, ops *opsLog) (Attempt, bool) {
	ready := Unset
	if st.Ready != Unset {
		ready = addSat(now, st.Ready)
	}
	// A Ready after the attempt ended (or at its instant, if the driver's
	// cancellation ended it: that comes first) is stale and does nothing.
	// At Run's own end, Ready's timer is the older: it comes first.
	byDriver := a.End == b.cancel && b.stopVis && a.End > now && cutShort(st, false, a)
	accepted := func(end time.Duration, driverEnd bool) bool {
		return ready != Unset && ready != forever && (ready < end || (ready == end && !driverEnd) || ready == now)
	}
	fired := false
	if s.Gate > 0 {
		timeout := addSat(now, s.Gate)
		l.timeouts = append(l.timeouts, timeout)
		// Its Ready stops the start timeout even once shutdown has made
		// it stopping (C9.4).
		readyFirst := accepted(a.End, byDriver) && ready < timeout
		switch {
		case readyFirst || a.End < timeout:
		case a.End == timeout && byDriver:
		case a.End == timeout || (ready == timeout && accepted(a.End, byDriver)):
			l.ambiguous = fmt.Sprintf("%s's attempt %d ends, or is ready, at its start timeout %v: two timers armed at one instant",
				name, k+1, fmtDur(timeout))
		default:
			// Not ready in time: its ctx is cancelled at the timeout.
			fired = true
			a = attempt(st, name, k+1, now, min(b.cancel, timeout))
			a.Canceled = a.End >= timeout || a.End >= b.cancel
		}
	}
	if ready != Unset && ready != forever {
		l.readies = append(l.readies, ready)
		ops.add(stateOp{at: ready, vis: nowVis && ready == now, kind: opReady, n: k + 1})
		if accepted(a.End, byDriver) && ready < b.stopping && l.gate == Unset {
			l.gate, l.gateVis = ready, nowVis && ready == now
		}
	}
	return a, fired
}

// failureLog is the Error record of an attempt that failed (or failed
// once told to stop), with the stack of a panic, saying so if its error's
// Error method panicked.
func failureLog(a Attempt) Log {
	return Log{At: a.End, Level: "ERROR", Stack: a.Outcome == Panic, Hostile: a.Outcome == Error && a.Detail == hostileDetail}
}

// cutShort says whether attempt a, ending at its ctx's cancellation, ended
// because of it, on the goroutines the cancellation woke: it honoured ctx,
// or ignored it and returned at once.
func cutShort(st Step, worker bool, a Attempt) bool {
	return worker || a.Detail == "context canceled" || (st.Wait && st.Run == 0)
}

// giveUpDetail is a GaveUp event's Detail: the limit, and the last
// failure as an AttemptEnded event describes it.
func giveUpDetail(lim *Limit, o Outcome, detail string) string {
	return fmt.Sprintf("%d in %v: %s", lim.N, fmtDur(lim.Window), eventDetail(o, detail))
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
func shutdown(s Schedule, services []ServiceTrace) (StopTrace, [][]Event, [][]stateOp) {
	events := make([][]Event, len(s.Services))
	ops := make([][]stateOp, len(s.Services))
	st := StopTrace{Start: s.StopAt, Timeout: s.StopTimeout}

	// n Stoppers, share = timeout/n each, called last registered first.
	n := time.Duration(s.Stoppers())
	if n > 0 {
		st.Budget = s.StopTimeout / n
	}
	now := s.StopAt
	vis := true // in the cascade of the driver's Shutdown: no timer taken yet
	for i := len(s.Services) - 1; i >= 0; i-- {
		if s.Services[i].Stopper == nil {
			continue
		}
		res, ev, end := stopOne(s, i, now, st.Budget, &services[i])
		events[i] = append(events[i], ev...)
		st.Results = append(st.Results, res)
		// C9.1: stopping from its call, abandoned at its deadline. A call
		// made at 0, before Run, arms its timers before the samples' are:
		// a sample at its end sees what follows.
		early := vis && now == 0
		ops[i] = append(ops[i], stateOp{at: now, vis: vis, kind: opStopping, seq: 1 << 20})
		if res.Abandoned {
			ops[i] = append(ops[i], stateOp{at: end, vis: (vis && end == now) || early, kind: opEnter, state: stAbandoned, seq: 1<<20 + 1})
		}
		vis = (vis && end == now) || early
		now = end
	}
	st.End, st.Returned = now, now
	return st, events, ops
}

// stopOne is the call of service i's Stop at now with budget share: its
// result, its Stop events, and when the Manager is done with it (when it
// returned in time, or its deadline). The Stopper's view of the call and
// its log records go into st.
func stopOne(s Schedule, i int, now, share time.Duration, st *ServiceTrace) (StopResult, []Event, time.Duration) {
	sp := s.Services[i].Stopper
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
	st.Stops = []StopCall{call}

	res := StopResult{Service: Name(i), Called: now, Deadline: call.Deadline}
	events := []Event{{At: now, Kind: "StopCalled", Duration: share}}
	// Logged at Error: a failure in time, an abandonment, and the
	// failure of an abandoned call when it ends.
	if call.Returned != Unset && call.Outcome != Nil {
		st.Logs = append(st.Logs, Log{At: call.Returned, Level: "ERROR", Stack: call.Outcome == Panic,
			Hostile: call.Outcome == Error && call.Detail == hostileDetail})
	}
	if inTime {
		res.Elapsed, res.Outcome = call.Returned-now, call.Outcome
		res.Err = stopErrClass(call.Outcome, call.Detail)
		events = append(events, Event{At: call.Returned, Kind: "StopEnded", Outcome: call.Outcome,
			Detail: eventDetail(call.Outcome, call.Detail), Duration: res.Elapsed})
		return res, events, call.Returned
	}
	// The next Stopper is called at the deadline, or at once if it
	// has passed already.
	res.Abandoned, res.Elapsed, res.Err = true, max(share, 0), "deadline"
	end := max(now+share, now)
	events = append(events, Event{At: end, Kind: "StopAbandoned", Duration: share})
	st.Logs = append(st.Logs, Log{At: end, Level: "ERROR"})
	return res, events, end
}

// orderedShutdown is C8: each service supervised until its turn, and the
// shutdown's turns, last registered first. It returns the loops, the
// report, the Stop events per service and, if the trace is not one the
// Go scheduler cannot change, why (see Expectation.Ambiguous).
func orderedShutdown(s Schedule, services []ServiceTrace) ([]life, StopTrace, [][]Event, [][]stateOp, string) {
	n := len(s.Services)
	lives := make([]life, n)
	events := make([][]Event, n)
	ops := make([][]stateOp, n)
	var dry []life // the dry runs, made once needed
	dryOf := func(i int) life {
		if dry == nil {
			dry = dryLives(s)
		}
		return dry[i]
	}

	// When shutdown begins: the first Shutdown; under Serve, ctx done or
	// the first Essential service giving up (C8.5), whichever is first.
	// Supervision before it does not depend on it.
	start, byDriver := s.StopAt, true
	if s.Serve {
		start = s.CancelAt
		for i, sv := range s.Services {
			if sv.Essential && sv.Limit != nil {
				if g := dryOf(i).gaveUp; g != Unset && g < start {
					start, byDriver = g, false
				}
			}
		}
	}
	st := StopTrace{Start: start, Timeout: s.StopTimeout, Drain: min(s.Drain, max(s.StopTimeout, 0))}
	st.Budget = (s.StopTimeout - st.Drain) / time.Duration(n)
	// C7.2, C8.5: shutdown begun, or Serve's ctx done, before Run: Run
	// starts nothing. (Run's ctx done before it: the same, by C2.9.)
	noStart := start == 0 && byDriver
	now := start + st.Drain
	// inCascade: the turn begins in the cascade of the driver's timer
	// (or before Run), before any timer of the Manager or a service at
	// its instant.
	inCascade := byDriver && st.Drain == 0
	// seen: a sample at the turn's instant sees it (C9): it begins in
	// the cascade of the driver's timer, or of a timer armed by a
	// Shutdown called at 0, before Run, which is older than the
	// samples' (the drain's, a turn's deadline, its Stopper's own).
	seen := inCascade || (!s.Serve && s.StopAt == 0 && st.Drain > 0)
	ambiguous := ""
	if start == 0 && !byDriver {
		// A give-up at 0 escalates while Run is still starting the
		// others: which have started is the scheduler's.
		ambiguous = "an Essential service gives up at 0, while Run starts the others"
	}
	// Run's first calls: none once shutdown began (C7.2, C9.4).
	runCancel := s.CancelAt
	if s.Serve {
		runCancel = forever
	}
	starts, amb := forwardStartsUntil(s, runCancel, min(runCancel, start), byDriver || runCancel <= start)
	ambiguous = cmp.Or(ambiguous, amb)
	for i := n - 1; i >= 0; i-- {
		b, budget := now, st.Budget
		deadline := b + budget
		cancel := b // its turn cancels its ctx; Run's ctx may have first
		if !s.Serve {
			cancel = min(s.CancelAt, b)
		}
		cancelVis := seen || (!s.Serve && s.CancelAt <= b) // the driver's cancel, or the turn
		l := supervise(s, i, bounds{cancel: cancel, stop: cancel, noStart: noStart, start: starts[i].at, startVis: starts[i].vis,
			stopVis: cancelVis, stopping: b, stoppingVis: seen})
		lives[i] = l
		started := l.ended != Unset
		running := started && l.ended >= b // its loop had not ended before its turn
		if ambiguous == "" && !inCascade && (s.Serve || b < s.CancelAt) && l.gaveUp != b {
			if running && dryAt(dryOf(i), b) {
				ambiguous = fmt.Sprintf("%s's turn begins at %v, on a timer, where its own timer fires too", Name(i), fmtDur(b))
			}
		}

		ss := ServiceStop{Service: Name(i), Began: b, Deadline: deadline, RunEnded: l.ended, Stopper: s.Services[i].Stopper != nil}
		// A Run still running at its turn that had not returned before its
		// deadline is abandoned; one that returns at the very instant of
		// its deadline too. One whose loop had ended before its turn has
		// nothing to wait for, even when a negative budget puts the
		// deadline before the turn (C8.3).
		ss.RunAbandoned = running && l.ended >= deadline
		if ss.RunAbandoned && running {
			// Whether the Manager saw an abandoned loop end at the very
			// instant it judged is the scheduler's: the recorder keeps
			// RunEnded only if the loop had ended before the turn.
			ss.RunEnded = Unset
		}
		runDone := b
		if running {
			runDone = l.ended
		}
		events[i] = append(events[i], Event{At: b, Kind: "ServiceStopping", Duration: budget})
		end, stopAbandoned, stopNow := runDone, false, true
		if ss.Stopper {
			res, ev, stopEnd := stopOne(s, i, b, budget, &services[i])
			events[i] = append(events[i], ev...)
			st.Results = append(st.Results, res)
			ss.Stop = res
			stopAbandoned = res.Abandoned
			end = max(end, stopEnd)
			sp := s.Services[i].Stopper
			stopNow = budget <= 0 || (!sp.Block && sp.Took == 0)
		}
		var errs []string
		if ss.RunAbandoned {
			errs = append(errs, "run abandoned")
			services[i].Logs = append(services[i].Logs, Log{At: max(deadline, b), Level: "ERROR"})
		}
		if ss.Stop.Err != "" {
			errs = append(errs, ss.Stop.Err)
		}
		ss.Err = strings.Join(errs, " + ")
		outcome := Outcome("nil")
		if ss.RunAbandoned || stopAbandoned {
			end, outcome = max(deadline, b), "abandoned"
		}
		ss.Elapsed = end - b
		events[i] = append(events[i], Event{At: end, Kind: "ServiceStopped", Outcome: outcome, Duration: ss.Elapsed})
		// C9.1: stopping from its turn, abandoned at its deadline. (Serve
		// is called at 0 after the driver's samples at 0.)
		vis := seen && (b > 0 || !s.Serve)
		early := vis && b == 0 // its timers are older than the samples'
		ops[i] = append(ops[i], stateOp{at: b, vis: vis, kind: opStopping, seq: 1 << 20})
		if ss.RunAbandoned || stopAbandoned {
			ops[i] = append(ops[i], stateOp{at: max(deadline, b), vis: (vis && budget <= 0) || early, kind: opEnter, state: stAbandoned, seq: 1<<20 + 1})
		}
		st.Services = append(st.Services, ss)
		// The next turn begins in this cascade if this one took no timer:
		// its Run ended before its turn or because of it, its Stop (if
		// any) returned at once, and no deadline was waited for.
		runNow := !running || (l.ended == b && l.byStop)
		inCascade = inCascade && end == b && (budget <= 0 || (runNow && stopNow))
		seen = (seen && end == b && (budget <= 0 || (runNow && stopNow))) || early
		now = end
	}
	st.End, st.Returned = now, now
	return lives, st, events, ops, ambiguous
}

// dryAt says whether a dry run's loop does something at instant t: an
// attempt starts or ends, or a Worker's tick.
func dryAt(l life, t time.Duration) bool {
	for _, a := range l.attempts {
		if a.Start == t || a.End == t {
			return true
		}
	}
	for _, c := range l.ticks {
		if c.Start == t || c.End == t {
			return true
		}
	}
	return slices.Contains(l.readies, t) || slices.Contains(l.timeouts, t)
}

// gaveUp is what Manager.GaveUp lists: the services that gave up, by
// instant (ties by name: at one instant their order is the scheduler's).
func gaveUp(lives []life) []string {
	type g struct {
		at time.Duration
		i  int
	}
	var gs []g
	for i, l := range lives {
		if l.gaveUp != Unset {
			gs = append(gs, g{l.gaveUp, i})
		}
	}
	slices.SortFunc(gs, func(a, b g) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.i, b.i)) })
	var out []string
	for _, x := range gs {
		out = append(out, fmt.Sprintf("%s at %v", Name(x.i), fmtDur(x.at)))
	}
	return out
}

// serveErr is Serve's error, classified (C8.5): each give-up, in order,
// then each failure of the report, in stop order.
func serveErr(lives []life, st StopTrace) []string {
	var out []string
	for _, g := range gaveUp(lives) {
		out = append(out, "gave up: "+g)
	}
	for _, ss := range st.Services {
		if ss.RunAbandoned {
			out = append(out, ss.Service+": run abandoned")
		}
		if ss.Stop.Err != "" {
			out = append(out, ss.Service+": "+ss.Stop.Err)
		}
	}
	return out
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
