package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// This file is the model of docs/contract.md, C9: each service's state as
// Manager.States reports it, the gated start's first calls, and which
// samples can see a change made at their very instant.

// opKind is a kind of change of a service's state.
type opKind int

const (
	opStart    opKind = iota // a call of Run: Running, or Starting with NotifyReady (C9.1)
	opReady                  // Ready from attempt n: Running if Starting in that attempt (C9.3)
	opFail                   // a failure: the counts of C9.2
	opBackoff                // backing off until until
	opEnter                  // state, unless the state is final (Abandoned may replace Stopped)
	opStopping               // stopping, if starting, running or backing off
)

// stateOp is one change of a service's state at instant at. vis says it
// is made in the cascade of one of the driver's actions at that instant
// (cancellation, Shutdown), or before Run: a sample at the same instant,
// whose timer is younger than the driver's others, sees it. Every other
// change at an instant comes from a timer of the Manager or a service,
// which a sample at that instant precedes.
type stateOp struct {
	at     time.Duration
	vis    bool
	kind   opKind
	n      int    // opStart, opReady: the attempt, from 1
	notify bool   // opStart
	state  string // opEnter
	until  time.Duration
	wait   time.Duration // opBackoff: the delay; at+wait may pass MaxInt64, where until saturates
	reset  bool          // opFail: the attempt ran at least the reset window
	text   string        // opFail: LastError
	seq    int
}

// The states of C9.1, as State.String() names them.
const (
	stRegistered = "registered"
	stStarting   = "starting"
	stRunning    = "running"
	stBackingOff = "backing off"
	stGaveUp     = "gave up"
	stFinished   = "finished"
	stStopping   = "stopping"
	stStopped    = "stopped"
	stAbandoned  = "abandoned"
)

func finalState(s string) bool {
	return s == stGaveUp || s == stFinished || s == stStopped || s == stAbandoned
}

// apply makes op's change to e (until is the current BackoffUntil).
func apply(e *StateEntry, until *time.Duration, op stateOp) {
	set := func(state string) {
		e.State, e.Since, e.Ready = state, op.at, state == stRunning
	}
	switch op.kind {
	case opStart:
		e.Attempts++
		e.Restarts = max(e.Attempts-1, 0)
		set(stRunning)
		if op.notify {
			set(stStarting)
		}
	case opReady:
		if e.State == stStarting && e.Attempts == op.n {
			set(stRunning)
		}
	case opFail:
		if op.reset {
			e.ConsecutiveFailures = 0
		}
		e.ConsecutiveFailures++
		e.LastError, e.LastFailure = op.text, op.at
	case opBackoff:
		set(stBackingOff)
		*until = op.until
	case opEnter:
		if !finalState(e.State) || (op.state == stAbandoned && e.State == stStopped) {
			set(op.state)
		}
	case opStopping:
		if e.State == stStarting || e.State == stRunning || e.State == stBackingOff {
			set(stStopping)
		}
	}
}

// sortOps puts a service's changes in the order they are made: by
// instant, those of the driver's cascades first, then as the model made
// them.
func sortOps(ops []stateOp) {
	slices.SortStableFunc(ops, func(a, b stateOp) int {
		return cmp.Or(cmp.Compare(a.at, b.at), compareBool(b.vis, a.vis), cmp.Compare(a.seq, b.seq))
	})
}

// stateAt is service name's state as a sample at instant at sees it.
func stateAt(name string, ops []stateOp, at time.Duration) StateEntry {
	e := StateEntry{Name: name, State: stRegistered, Since: Unset, LastFailure: Unset, BackoffUntil: Unset}
	until := Unset
	for _, op := range ops {
		if op.at > at || (op.at == at && !op.vis) {
			break
		}
		apply(&e, &until, op)
	}
	if e.State == stBackingOff {
		e.BackoffUntil = until
	}
	return e
}

// opsLog numbers a service's changes as the model makes them.
type opsLog struct {
	ops []stateOp
	off bool // a dry run: no one reads them
}

func (l *opsLog) add(op stateOp) {
	if l.off {
		return
	}
	op.seq = len(l.ops)
	l.ops = append(l.ops, op)
}

// modelStates fills the States samples of the trace from each service's
// changes.
func modelStates(s Schedule, ops [][]stateOp, tr *Trace) {
	for _, o := range ops {
		sortOps(o)
	}
	for _, at := range s.StatesAt {
		sample := StatesSample{At: at, Entries: make([]StateEntry, 0, len(s.Services))}
		for i := range s.Services {
			sample.Entries = append(sample.Entries, stateAt(Name(i), ops[i], at))
		}
		tr.States = append(tr.States, sample)
	}
}

// leaving is when a Stop call first moves a service Run first called at
// first out of starting (stopping, or abandoned), so that a later Ready
// does nothing (C9.3): forever if none does.
func leaving(ops []stateOp, first start) start {
	for _, op := range ops {
		if first.at != Unset && (op.at > first.at || (op.at == first.at && !op.vis)) {
			return start{at: op.at, vis: op.vis}
		}
	}
	return start{at: forever}
}

// start is when Run first calls a service (C2.8, C9.4): at (Unset:
// never), vis if in the cascade of a driver's action.
type start struct {
	at  time.Duration
	vis bool
}

// nextStart is when Run calls the service after one that Run first
// called at prev, whose loop l opens the gate (C9.4) at l.gate. stopAt is
// when an unordered shutdown begins (forever if none, or ordered), after
// which Run stops waiting at gates; limit is when Run stops starting
// anything: its ctx done, or an ordered shutdown begun (at that very
// instant the driver's action comes first). It returns why the instant is
// the scheduler's to decide, if it is.
func nextStart(s Schedule, prev start, l life, stopAt, limit time.Duration, limitByDriver bool) (start, string) {
	if prev.at == Unset {
		return start{at: Unset}, ""
	}
	next := start{at: forever}
	if s.Gate <= 0 {
		next = prev // every loop starts at once
	} else if l.gate != Unset {
		next = start{at: l.gate, vis: l.gateVis}
	}
	if stopAt <= prev.at {
		next = prev // shutdown began: Run no longer waits at gates (C7.2)
	} else if stopAt < next.at || (stopAt == next.at && !next.vis) {
		next = start{at: stopAt, vis: true}
	}
	switch {
	case next.at > limit || next.at == forever:
		return start{at: Unset}, ""
	case next.at == limit && (limitByDriver || next.vis):
		return start{at: Unset}, ""
	case next.at == limit:
		return start{at: Unset}, fmt.Sprintf("Run may or may not start a service at %v, where shutdown begins on a timer", fmtDur(limit))
	}
	return next, ""
}

// forwardStartsUntil returns when Run first calls each service, by runs
// of the loops cut at cancel and never shut down, starting none from
// limit on (an ordered shutdown starts nothing once begun: C7.2); at limit
// itself, none if byDriver, else the scheduler decides (the second
// result says so).
func forwardStartsUntil(s Schedule, cancel, limit time.Duration, byDriver bool) ([]start, string) {
	starts := make([]start, len(s.Services))
	cur := start{at: 0}
	if cancel == 0 || limit == 0 {
		cur.at = Unset
	}
	ambiguous := ""
	for i := range s.Services {
		starts[i] = cur
		if cur.at == Unset {
			continue
		}
		l := supervise(s, i, bounds{cancel: cancel, stop: forever, stopVis: true, start: cur.at, startVis: cur.vis, stopping: forever, dry: true})
		var amb string
		cur, amb = nextStart(s, cur, l, forever, limit, byDriver)
		ambiguous = cmp.Or(ambiguous, amb)
	}
	return starts, ambiguous
}

// dryLife is service i's dry run, as dryLives has it.
func dryLife(s Schedule, i int) life {
	if s.Gate <= 0 {
		return supervise(s, i, bounds{cancel: forever, stop: forever, dry: true})
	}
	return dryLives(s)[i]
}

// dryLives are the services' dry runs: never cancelled, never shut
// down, each first called as the gated start says.
func dryLives(s Schedule) []life {
	lives := make([]life, len(s.Services))
	cur := start{at: 0}
	for i := range s.Services {
		b := bounds{cancel: forever, stop: forever, stopping: forever, start: cur.at, startVis: cur.vis, dry: true}
		if cur.at == Unset {
			b.noStart = true
		}
		lives[i] = supervise(s, i, b)
		cur, _ = nextStart(s, cur, lives[i], forever, forever, true)
	}
	return lives
}
