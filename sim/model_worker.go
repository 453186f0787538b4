package sim

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// workerRun is the model of one call of a Worker's Run, made at start,
// with ctx cancelled at cancelAt, the script's ticks from next on (by
// index). It returns the attempt, the ticks, and the index of the next
// tick. The rules, from the Worker's contract:
//
//   - the first tick comes after Spread*R (R clamped into [0, 1]; NaN as
//     0), then tick k is due at first + k*interval;
//   - after a tick, the next is the first grid time (after its own) not
//     before the tick's end: at once if it ended on the grid;
//   - a wait, or a tick's work, that reaches cancelAt is cut short (the
//     driver's cancel timer is older): Run returns ctx.Err() then;
//   - a success or failure goes on ticking; ErrFinished (in any shape)
//     ends Run with it; a panic or Goexit unwinds through Run.
func workerRun(p *WorkerPlan, name string, start, cancelAt time.Duration, next int) (Attempt, []TickCall, int) {
	a := Attempt{Start: start}
	var ticks []TickCall
	canceled := func(at time.Duration) (Attempt, []TickCall, int) {
		if cancelAt == forever {
			at = forever // dry run: it never ends
		}
		a.End, a.Outcome, a.Detail, a.Canceled = at, Error, "context canceled", true
		return a, ticks, next
	}
	first := start + spread(p)
	if first > start && first >= cancelAt {
		return canceled(cancelAt)
	}
	due, k := first, time.Duration(0) // due = first + k*interval
	for {
		if next >= len(p.Ticks) {
			// The script is used up: the tick waits for cancellation.
			ticks = append(ticks, TickCall{Start: due, End: cancelAt})
			return canceled(cancelAt)
		}
		t := p.Ticks[next]
		next++
		end := due + t.Work
		if t.Work > 0 && end >= cancelAt {
			ticks = append(ticks, TickCall{Start: due, End: cancelAt})
			return canceled(cancelAt)
		}
		ticks = append(ticks, TickCall{Start: due, End: end, Outcome: t.End, Detail: tickDetail(name, next, t)})
		switch t.End {
		case Finished, Panic, Goexit:
			a.End, a.Outcome, a.Detail = end, t.End, ticks[len(ticks)-1].Detail
			return a, ticks, next
		}
		// The next grid time after this tick's, not before its end.
		late := (end - first + p.Interval - 1) / p.Interval
		k = max(k+1, late)
		due = first + k*p.Interval
		if due >= cancelAt {
			return canceled(cancelAt)
		}
	}
}

// spread is the delay before a Worker's first tick.
func spread(p *WorkerPlan) time.Duration {
	if p.Spread == 0 {
		return 0
	}
	r := p.R
	switch {
	case math.IsNaN(r) || r < 0:
		r = 0
	case r > 1:
		r = 1
	}
	return min(time.Duration(float64(p.Spread)*r), p.Spread)
}

// record is one outcome a Tracker recorded: a success, or a failure with
// its LastError.
type record struct {
	At   time.Duration
	OK   bool
	Text string
}

// tickRecords are the outcomes a Worker's Tracker records for its ticks:
// a tick cut short by ctx records nothing; a success or ErrFinished a
// success; a failure its error's text; a panic and a Goexit a failure
// whose text says so.
func tickRecords(name string, ticks []TickCall) []record {
	var out []record
	for _, c := range ticks {
		switch c.Outcome {
		case "":
		case Nil, Finished:
			out = append(out, record{At: c.End, OK: true})
		case Panic:
			out = append(out, record{At: c.End, Text: fmt.Sprintf("lifecycle: tick panicked: %s", c.Detail)})
		case Goexit:
			out = append(out, record{At: c.End, Text: lifecycle.ErrGoexit.Error()})
		default:
			out = append(out, record{At: c.End, Text: c.Detail})
		}
	}
	return out
}

// attemptRecords are the outcomes a service records in its own Tracker,
// with the given calls, at the end of each attempt.
func attemptRecords(calls TrackerCalls, attempts []Attempt) []record {
	var out []record
	for _, a := range attempts {
		r := record{At: a.End, OK: a.Outcome == Nil, Text: a.Detail}
		if !r.OK && calls == TrackFailureNil {
			r.Text = "unknown error" // Failure(nil)
		}
		out = append(out, r)
	}
	return out
}

// tracked is the health of a service whose Tracker recorded the records
// for which upTo(at) holds: a success sets LastSuccess and resets the
// count; a failure sets LastFailure and LastError and adds one.
func tracked(name string, records []record, upTo func(time.Duration) bool) HealthEntry {
	h := HealthEntry{Name: name, LastSuccess: Unset, LastFailure: Unset}
	for _, r := range records {
		if !upTo(r.At) {
			break
		}
		if r.OK {
			h.LastSuccess, h.Failures = r.At, 0
		} else {
			h.LastFailure, h.LastError = r.At, r.Text
			h.Failures++
		}
	}
	return h
}

// tickFailed is the message of the record a Worker bound to a Manager
// logs for a tick that returned an error while its ctx was live.
const tickFailed = "lifecycle: tick failed"

// tickAttrs reads a tick failed record: its consecutive_failures (-1 if
// missing or not an integer) and its error ("<missing>" if missing).
func tickAttrs(r slog.Record) (int, string) {
	n, text := -1, "<missing>"
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.Resolve()
		switch {
		case a.Key == "consecutive_failures" && v.Kind() == slog.KindInt64:
			n = int(v.Int64())
		case a.Key == "error":
			text = v.String()
		}
		return true
	})
	return n, text
}

// tickLogs are the records a Worker registered with the Manager logs for
// its ticks (issue 9, item 4): one at Error for each tick that returned an
// error while its ctx was live, with its error and the count of
// consecutive failures its Tracker then gives. None for a success, an
// ErrFinished, a tick cut short by ctx, nor for a panic or Goexit: those
// unwind to the Manager, which logs them as failures of Run.
func tickLogs(name string, ticks []TickCall) []Log {
	var out []Log
	n := 0 // consecutive failures, as the Tracker counts them
	for _, c := range ticks {
		switch c.Outcome {
		case "":
		case Nil, Finished:
			n = 0
		case Panic, Goexit:
			n++
		default:
			n++
			out = append(out, Log{At: c.End, Level: "ERROR", Tick: n, Err: c.Detail})
		}
	}
	return out
}
