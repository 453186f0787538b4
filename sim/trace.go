package sim

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Trace is what happened in one simulation, every time a time.Duration since
// [Epoch]. The model ([Model]) predicts one; the driver ([Simulate])
// records one from the services' side and from the Manager's reports. Its
// rendering by String is canonical: the same schedule must give the same
// text, byte for byte.
type Trace struct {
	Names       []string       // Manager.Names(), just before Run
	Services    []ServiceTrace // by registration index
	RunReturned time.Duration  // when Run returned; Unset: it did not
	Stop        StopTrace      // the first Shutdown call
	Stop2       *Stop2Trace    // the second Shutdown call, if the schedule makes one
	Health      []HealthSample // one per Schedule.HealthAt, in that order
	States      []StatesSample // one per Schedule.StatesAt, in that order
	Probes      []ProbeSample  // one per Schedule.Probes, in that order
	// GiveUpProbes are the liveness probe's answers asked from the
	// GaveUp event (Schedule.GiveUpProbes), by instant, then request.
	GiveUpProbes []ProbeSample
	Misuse       []MisuseResult // one per Schedule.Misuse, in that order

	// GaveUp is Manager.GaveUp() once Run (or Serve) returned: "svc<i> at
	// <instant>" per service that gave up, by instant, ties by name.
	GaveUp []string
	// ServeErr is Serve's error, classified: one line per error it joins
	// ("gave up: svc1 at 3s", "svc0: run abandoned", "svc0: deadline"),
	// give-ups ordered as GaveUp is; empty for nil, or without Serve.
	ServeErr []string

	// StrayLogs are log records that name no registered service.
	StrayLogs []string

	// Stuck says why the simulation could not run to its end (virtual
	// deadlock, runaway); empty when it could.
	Stuck string

	// Canceled is when the driver cancelled Run's ctx, by the clock:
	// CancelAt, or later when time lies (Options.Lies). Not in String:
	// the schedule says it in lockstep.
	Canceled time.Duration

	// LateStopFailures counts, per service, the records "abandoned Stop
	// failed after its deadline" (the failure of a Stop call the Manager
	// had given up on). Not in String, which holds the records themselves;
	// set, like Canceled, only when the model's instants do not hold.
	LateStopFailures []int
}

// ServiceTrace is one service's life: its Run and Stop calls as it saw them,
// and the events the Manager reported about it.
type ServiceTrace struct {
	Attempts []Attempt
	Ticks    []TickCall // a Worker's ticks, as its function saw them
	Stops    []StopCall
	// Events are those of WithEvents for this service: the Run events in
	// the order they were emitted, merged by time with the Stop events
	// (Run events first at equal times).
	Events []Event
	// Logs are the records logged with service=<its name>, ordered by
	// time, then level, then whether they carry a stack.
	Logs []Log
}

// Log is one log record about a service.
type Log struct {
	At    time.Duration
	Level string // slog's level name: "INFO", "ERROR", ...
	Stack bool   // it carries a goroutine stack (a panic's)
	// Hostile: it says that an error's Error method panicked (it carries
	// the panic value).
	Hostile bool
	// Logger is the logger it went to: 0 the one of WithLogger; without
	// it, 1 the slog.Default set before Run, 2 the one set while Run runs
	// (Schedule.LoggerSwitchAt).
	Logger int
	// Tick is, for a Worker's "lifecycle: tick failed" record, the
	// consecutive_failures it gives (at least 1), and Err its error; 0
	// and "" for every other record.
	Tick int
	Err  string
}

// sortLogs puts logs in canonical order: records logged at the same instant
// from different goroutines come in any order.
func sortLogs(logs []Log) {
	slices.SortStableFunc(logs, func(a, b Log) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Level, b.Level), compareBool(a.Stack, b.Stack),
			compareBool(a.Hostile, b.Hostile), cmp.Compare(a.Logger, b.Logger),
			cmp.Compare(a.Tick, b.Tick), cmp.Compare(a.Err, b.Err))
	})
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// Attempt is one call of Run, as the service saw it.
type Attempt struct {
	Start, End time.Duration
	Outcome    Outcome
	Detail     string // the error's text, or the panic value
	Canceled   bool   // ctx was done when the call ended
}

// StopCall is one call of Stop, as the service saw it.
type StopCall struct {
	Called   time.Duration
	Deadline time.Duration // ctx.Deadline()
	Returned time.Duration // Unset: blocked until the simulation ended
	Outcome  Outcome
	Detail   string
	CtxDone  bool // ctx was done when Stop returned
}

// StopTrace is the first Shutdown call: when it returned by the clock, and
// the StopReport it returned.
type StopTrace struct {
	Returned   time.Duration // Unset: it did not return
	Start, End time.Duration
	Timeout    time.Duration
	Budget     time.Duration
	Results    []StopResult // in call order
	// An ordered shutdown's (C8.6): the drain, and each service's turn,
	// in stop order.
	Drain    time.Duration
	Services []ServiceStop
}

// ServiceStop is one ServiceStop of an ordered report. Stop is its
// StopResult, also in Results; Err is classified: "run abandoned", the
// Stop's Err as StopResult.Err says it, or both joined by " + ".
type ServiceStop struct {
	Service         string
	Began, Deadline time.Duration
	RunEnded        time.Duration // Unset: never started
	RunAbandoned    bool
	Stopper         bool
	Stop            StopResult
	Elapsed         time.Duration
	Err             string
}

func (ss ServiceStop) String() string {
	stop := "no Stopper"
	if ss.Stopper {
		stop = "stop {" + ss.Stop.String() + "}"
	}
	return fmt.Sprintf("%s began %v deadline %v run ended %s abandoned=%v %s elapsed %v %q",
		ss.Service, fmtDur(ss.Began), fmtDur(ss.Deadline), fmtStamp(ss.RunEnded), ss.RunAbandoned, stop, fmtDur(ss.Elapsed), ss.Err)
}

// StopResult is one StopResult of the report. Err is classified: "" (nil),
// "error: <the Stopper's error>" (wraps it), "panic: <value>" (a
// *lifecycle.PanicError), "goexit" (lifecycle.ErrGoexit), "deadline"
// (context.DeadlineExceeded); anything else is "other: <text>", and an
// error that does not name the service is "unnamed: <text>".
type StopResult struct {
	Service   string
	Called    time.Duration
	Deadline  time.Duration
	Elapsed   time.Duration
	Abandoned bool
	Outcome   Outcome // "" when abandoned
	Err       string
}

// Stop2Trace is the second Shutdown call: when it returned, and whether its
// report equals the first one's.
type Stop2Trace struct {
	Returned   time.Duration
	SameReport bool
}

// HealthSample is one call of Manager.Health, or one request to
// lifecycle.HealthHandler.
type HealthSample struct {
	At      time.Duration
	Via     string // ViaCall, or the request's method
	HTTP    string // the status and the headers that matter (see serveHealth)
	Nil     bool   // Health returned nil
	Entries []HealthEntry
}

// HealthEntry is one WorkerHealth. The entry of a HealthReporter that may
// panic (not a Tracker) has Panicked set, and LastError cleared, when
// LastError says "panicked".
type HealthEntry struct {
	Name                     string
	Panicked                 bool
	LastSuccess, LastFailure time.Duration // Unset: zero time
	LastError                string
	Failures                 int
	JSON                     string // from a GET: the keys its JSON object has
}

// Event is one lifecycle.Event for a service.
type Event struct {
	At       time.Duration
	Kind     string // the EventKind's name
	Attempt  int
	Outcome  Outcome // AttemptEnded, StopEnded
	Detail   string  // AttemptEnded, StopEnded: the error's text or the panic value
	Duration time.Duration
	Canceled bool
}

// mergeEvents merges a service's Run events and Stop events, each in
// emission order, by time, Run events first at equal times.
func mergeEvents(run, stop []Event) []Event {
	out := make([]Event, 0, len(run)+len(stop))
	for len(run) > 0 || len(stop) > 0 {
		if len(stop) == 0 || (len(run) > 0 && run[0].At <= stop[0].At) {
			out = append(out, run[0])
			run = run[1:]
		} else {
			out = append(out, stop[0])
			stop = stop[1:]
		}
	}
	return out
}

// String renders the trace canonically, one fact per line.
func (t *Trace) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "names %s\n", strings.Join(t.Names, " "))
	for i, s := range t.Services {
		for k, a := range s.Attempts {
			fmt.Fprintf(&b, "%s run#%d %s\n", Name(i), k+1, a)
		}
		for k, c := range s.Ticks {
			fmt.Fprintf(&b, "%s tick#%d %s\n", Name(i), k+1, c)
		}
		for _, c := range s.Stops {
			fmt.Fprintf(&b, "%s stop %s\n", Name(i), c)
		}
		for _, e := range s.Events {
			b.WriteString(Name(i))
			b.WriteString(" event ")
			b.WriteString(e.String())
			b.WriteByte('\n')
		}
		for _, l := range s.Logs {
			fmt.Fprintf(&b, "%s log %s\n", Name(i), l)
		}
	}
	fmt.Fprintf(&b, "run returned %s\n", fmtStamp(t.RunReturned))
	fmt.Fprintf(&b, "shutdown %s\n", t.Stop)
	for _, r := range t.Stop.Results {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	if t.Stop.Drain != 0 || t.Stop.Services != nil {
		fmt.Fprintf(&b, "  drain %v\n", fmtDur(t.Stop.Drain))
	}
	for _, ss := range t.Stop.Services {
		fmt.Fprintf(&b, "  turn %s\n", ss)
	}
	for _, g := range t.GaveUp {
		fmt.Fprintf(&b, "gave up %s\n", g)
	}
	for _, e := range t.ServeErr {
		fmt.Fprintf(&b, "serve error %s\n", e)
	}
	if t.Stop2 != nil {
		fmt.Fprintf(&b, "shutdown again returned %s same=%v\n", fmtStamp(t.Stop2.Returned), t.Stop2.SameReport)
	}
	for _, h := range t.Health {
		fmt.Fprintf(&b, "health %s\n", h)
	}
	for _, m := range t.States {
		fmt.Fprintf(&b, "states %s\n", m)
	}
	for _, p := range t.Probes {
		fmt.Fprintf(&b, "probe %s\n", p)
	}
	for _, p := range t.GiveUpProbes {
		fmt.Fprintf(&b, "probe at a give-up %s\n", p)
	}
	for _, m := range t.Misuse {
		fmt.Fprintf(&b, "misuse %s\n", m)
	}
	for _, l := range t.StrayLogs {
		fmt.Fprintf(&b, "stray log %s\n", l)
	}
	if t.Stuck != "" {
		fmt.Fprintf(&b, "stuck: %s\n", t.Stuck)
	}
	return b.String()
}

func (a Attempt) String() string {
	c := ""
	if a.Canceled {
		c = " canceled"
	}
	return fmt.Sprintf("%v..%v %s %q%s", fmtDur(a.Start), fmtDur(a.End), a.Outcome, a.Detail, c)
}

func (c StopCall) String() string {
	return fmt.Sprintf("called %v deadline %v returned %s %s %q ctxdone=%v",
		fmtDur(c.Called), fmtDur(c.Deadline), fmtStamp(c.Returned), c.Outcome, c.Detail, c.CtxDone)
}

func (s StopTrace) String() string {
	return fmt.Sprintf("returned %s report start %v end %v timeout %v budget %v",
		fmtStamp(s.Returned), fmtDur(s.Start), fmtDur(s.End), fmtDur(s.Timeout), fmtDur(s.Budget))
}

func (r StopResult) String() string {
	return fmt.Sprintf("%s called %v deadline %v elapsed %v abandoned=%v %s %q",
		r.Service, fmtDur(r.Called), fmtDur(r.Deadline), fmtDur(r.Elapsed), r.Abandoned, r.Outcome, r.Err)
}

func (h HealthSample) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "at %v nil=%v", fmtDur(h.At), h.Nil)
	if h.Via != ViaCall {
		fmt.Fprintf(&b, " %s: %s", h.Via, h.HTTP)
	}
	for _, e := range h.Entries {
		b.WriteString(" " + e.String())
	}
	return b.String()
}

func (e HealthEntry) String() string {
	if e.Panicked {
		return fmt.Sprintf("{%s panicked %q json=%s}", e.Name, e.LastError, e.JSON)
	}
	j := ""
	if e.JSON != "" {
		j = " json=" + e.JSON
	}
	return fmt.Sprintf("{%s ok=%s fail=%s %q n=%d%s}", e.Name, fmtStamp(e.LastSuccess), fmtStamp(e.LastFailure), e.LastError, e.Failures, j)
}

func (e Event) String() string {
	// Written out, not with fmt: the most frequent line of a trace.
	b := make([]byte, 0, 64)
	b = append(b, fmtDur(e.At)...)
	b = append(b, ' ')
	b = append(b, e.Kind...)
	if e.Attempt != 0 {
		b = append(b, " #"...)
		b = strconv.AppendInt(b, int64(e.Attempt), 10)
	}
	if e.Outcome != "" {
		b = append(b, ' ')
		b = append(b, e.Outcome...)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, e.Detail)
	}
	b = append(b, " d="...)
	b = append(b, fmtDur(e.Duration)...)
	if e.Canceled {
		b = append(b, " canceled"...)
	}
	return string(b)
}

func (l Log) String() string {
	st := ""
	if l.Stack {
		st = " with stack"
	}
	if l.Hostile {
		st += " saying Error panicked"
	}
	if l.Logger != 0 {
		st += fmt.Sprintf(" to default logger %d", l.Logger)
	}
	if l.Tick != 0 || l.Err != "" {
		st += fmt.Sprintf(" tick failed %q consecutive=%d", l.Err, l.Tick)
	}
	return fmt.Sprintf("%v %s%s", fmtDur(l.At), l.Level, st)
}
