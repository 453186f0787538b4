package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A Checker checks one rule of docs/contract.md against a simulation's trace. It
// returns nil, or an error with one line per violation, all of them.
type Checker struct {
	Rule  string
	Check func(s Schedule, exp *Expectation, got *Trace) error
}

// Checkers are the rules the simulation holds, in the order a failure
// lists them.
var Checkers = []Checker{
	{"the simulation runs to its end", checkFinished},
	{"Names lists the registrations in order", checkNames},
	{"every attempt's start, end and outcome, per service, exactly", checkAttempts},
	{"nothing starts after cancellation", checkNoStartAfterCancel},
	{"no restart once shutdown has begun; ordered, none from a service's turn, nor any start once it began (C7.1, C7.2)", checkNoRestartAfterShutdown},
	{"Run returns only after every Runner returned, when the model says", checkRunReturn},
	{"a Worker ticks on its grid from its spread first tick, skipping the times a slow tick overran", checkTicks},
	{"Stoppers are called once each, in reverse registration order", checkStopOrder},
	{"each Stopper's deadline is its call time + timeout/n", checkDeadlines},
	{"the next Stopper is called when the previous returned, never after its deadline", checkNextCall},
	{"Stop takes no more than its timeout", checkStopBudget},
	{"ordered: every service's turn in reverse order, after the drain, each at the end of the previous, with (timeout-drain)/n; its ctx cancelled and its Stop called at its start; its Run awaited until its deadline (C8.2-C8.4)", checkTurns},
	{"the StopReport is what the model says", checkReport},
	{"a second Stop waits for the first and returns its report", checkStop2},
	{"GaveUp() and Serve's error are what the model says (C7, C8.5)", checkGaveUpAndServe},
	{"Health: order, names and values", checkHealth},
	{"the health endpoint answers with the status, headers and JSON keys of the contract", checkHealthHTTP},
	{"programmer errors panic with a message that starts with lifecycle: and names the service, and change nothing", checkMisuse},
	{"States: every service's state, since when, readiness and counts, exactly (C9.1-C9.3)", checkStates},
	{"probes: status, headers and body lines of liveness and readiness, exactly (C10)", checkProbes},
	{"the tracker contract", checkTracker},
	{"events agree with the services' own trace", checkEventsAgree},
	{"events are what the model says", checkEventsModel},
	{"failures, panics (with stack) and overruns are logged with the service name", checkLogs},
}

// violations collects the violations of one rule.
type violations []string

func (v *violations) add(format string, args ...any) { *v = append(*v, fmt.Sprintf(format, args...)) }

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return errors.New(strings.Join(v, "\n"))
}

// Check runs every checker on got and returns an error listing, rule by
// rule, every violation, or nil.
func Check(s Schedule, exp *Expectation, got *Trace) error {
	var b strings.Builder
	for _, c := range Checkers {
		if err := c.Check(s, exp, got); err != nil {
			fmt.Fprintf(&b, "violated: %s\n", c.Rule)
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}

func checkFinished(_ Schedule, _ *Expectation, got *Trace) error {
	if got.Stuck != "" {
		return errors.New(got.Stuck)
	}
	return nil
}

func checkNames(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	if len(got.Names) != len(s.Services) {
		v.add("Names() = %q; want %d names", got.Names, len(s.Services))
	}
	for i, n := range got.Names {
		if n != Name(i) {
			v.add("Names()[%d] = %q; want %q", i, n, Name(i))
		}
	}
	return v.err()
}

func checkAttempts(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for i, want := range exp.Trace.Services {
		var have []Attempt
		if i < len(got.Services) {
			have = got.Services[i].Attempts
		}
		for k := range max(len(want.Attempts), len(have)) {
			switch {
			case k >= len(have):
				v.add("%s run#%d: missing; want %s", Name(i), k+1, want.Attempts[k])
			case k >= len(want.Attempts):
				v.add("%s run#%d: got %s; want no such attempt", Name(i), k+1, have[k])
			case have[k] != want.Attempts[k]:
				v.add("%s run#%d: got %s; want %s", Name(i), k+1, have[k], want.Attempts[k])
			}
		}
	}
	return v.err()
}

func checkTicks(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for i, want := range exp.Trace.Services {
		var have []TickCall
		if i < len(got.Services) {
			have = got.Services[i].Ticks
		}
		for k := range max(len(want.Ticks), len(have)) {
			switch {
			case k >= len(have):
				v.add("%s tick#%d: missing; want %s", Name(i), k+1, want.Ticks[k])
			case k >= len(want.Ticks):
				v.add("%s tick#%d: got %s; want no such tick", Name(i), k+1, have[k])
			case have[k] != want.Ticks[k]:
				v.add("%s tick#%d: got %s; want %s", Name(i), k+1, have[k], want.Ticks[k])
			}
		}
	}
	return v.err()
}

func checkNoStartAfterCancel(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	for i, st := range got.Services {
		for k, a := range st.Attempts {
			if a.Start >= s.CancelAt && !s.Serve { // Serve's ctx does not reach the services (C8.5)
				v.add("%s run#%d started at %v; ctx was cancelled at %v", Name(i), k+1, fmtDur(a.Start), fmtDur(s.CancelAt))
			}
		}
	}
	return v.err()
}

func checkNoRestartAfterShutdown(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	for i, st := range got.Services {
		stopAt := stoppedAt(s, got, i)
		for k, a := range st.Attempts {
			switch {
			case s.ordered() && got.Stop.Returned != Unset && got.Stop.Start == 0:
				v.add("%s run#%d started at %v; shutdown began before Run, which then starts nothing (C7.2)", Name(i), k+1, fmtDur(a.Start))
			// C7.2: unordered, Run still calls each service once: at 0,
			// or with a gated start those left when Stop began, then.
			case a.Start >= stopAt && !(k == 0 && !s.ordered() && (a.Start == 0 || (s.Gate > 0 && a.Start == s.StopAt))):
				v.add("%s run#%d started at %v; it was told to stop at %v", Name(i), k+1, fmtDur(a.Start), fmtDur(stopAt))
			}
		}
	}
	return v.err()
}

func checkRunReturn(s Schedule, exp *Expectation, got *Trace) error {
	var v violations
	if got.RunReturned == Unset {
		return errors.New("Run did not return")
	}
	abandoned := false
	for _, ss := range got.Stop.Services {
		abandoned = abandoned || ss.RunAbandoned
	}
	switch {
	case s.Serve && got.RunReturned != got.Stop.End:
		v.add("Serve returned at %v; its shutdown ended at %v", fmtDur(got.RunReturned), fmtDur(got.Stop.End))
	case !s.Serve && got.RunReturned < s.CancelAt:
		v.add("Run returned at %v, before its ctx was cancelled at %v", fmtDur(got.RunReturned), fmtDur(s.CancelAt))
	}
	for i, st := range got.Services {
		for k, a := range st.Attempts {
			if a.End > got.RunReturned && !(s.Serve && abandoned) { // Serve does not wait for an abandoned Run
				v.add("Run returned at %v, before %s run#%d returned at %v", fmtDur(got.RunReturned), Name(i), k+1, fmtDur(a.End))
			}
		}
	}
	if got.RunReturned != exp.Trace.RunReturned {
		v.add("Run returned at %v; want %v", fmtDur(got.RunReturned), fmtDur(exp.Trace.RunReturned))
	}
	return v.err()
}

// stopCalls returns every Stop call as the services saw it, and whose it
// was, by service.
func stopCalls(got *Trace) (calls []StopCall, who []int) {
	for i, st := range got.Services {
		for _, c := range st.Stops {
			calls, who = append(calls, c), append(who, i)
		}
	}
	return calls, who
}

func checkStopOrder(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	var want []string // model of the call order
	for i := len(s.Services) - 1; i >= 0; i-- {
		if s.Services[i].Stopper != nil {
			want = append(want, Name(i))
		}
	}
	var order []string
	for _, r := range got.Stop.Results {
		order = append(order, r.Service)
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		v.add("report lists Stoppers %q; want %q (reverse registration order)", order, want)
	}
	for i, st := range got.Services {
		switch {
		case s.Services[i].Stopper == nil && len(st.Stops) > 0:
			v.add("%s: Stop called but it is not a Stopper", Name(i))
		case s.Services[i].Stopper != nil && len(st.Stops) != 1:
			v.add("%s: Stop called %d times; want once", Name(i), len(st.Stops))
		}
	}
	// As the services saw it: a later Stopper in the order is never called
	// before an earlier one.
	prev := time.Duration(-1 << 62)
	for _, name := range want {
		i := serviceIndex(name)
		if i >= len(got.Services) || len(got.Services[i].Stops) == 0 {
			continue
		}
		c := got.Services[i].Stops[0].Called
		if c < prev {
			v.add("%s's Stop called at %v, before the previous Stopper's at %v", name, fmtDur(c), fmtDur(prev))
		}
		prev = c
	}
	return v.err()
}

// serviceIndex is the index of a service named by [Name], or -1.
func serviceIndex(name string) int {
	var i int
	if _, err := fmt.Sscanf(name, "svc%d", &i); err != nil || Name(i) != name {
		return -1
	}
	return i
}

// share is each Stopper's budget: timeout/n over the Stoppers (C3.1); in
// an ordered shutdown, what the drain leaves over all n services (C8.3).
func share(s Schedule) time.Duration {
	if s.ordered() {
		return (s.StopTimeout - drain(s)) / time.Duration(len(s.Services))
	}
	if n := s.Stoppers(); n > 0 {
		return s.StopTimeout / time.Duration(n)
	}
	return 0
}

// drain is how long an ordered shutdown drains: WithDrain's, within the
// budget (C8.4).
func drain(s Schedule) time.Duration {
	if !s.ordered() {
		return 0
	}
	return min(s.Drain, max(s.StopTimeout, 0))
}

func checkDeadlines(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	sh := share(s)
	calls, who := stopCalls(got)
	for j, c := range calls {
		if c.Deadline != c.Called+sh {
			v.add("%s's Stop called at %v with deadline %v; want %v (+ %v/%d)", Name(who[j]), fmtDur(c.Called),
				fmtDur(c.Deadline), fmtDur(c.Called+sh), fmtDur(s.StopTimeout), s.Stoppers())
		}
	}
	if got.Stop.Budget != sh {
		v.add("report's Budget %v; want %v", fmtDur(got.Stop.Budget), fmtDur(sh))
	}
	for _, r := range got.Stop.Results {
		if r.Deadline != r.Called+sh {
			v.add("report: %s called at %v with deadline %v; want %v", r.Service, fmtDur(r.Called), fmtDur(r.Deadline), fmtDur(r.Called+sh))
		}
	}
	return v.err()
}

func checkNextCall(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	var order []int // Stoppers, in reverse registration order
	for i := len(s.Services) - 1; i >= 0; i-- {
		if s.Services[i].Stopper != nil && i < len(got.Services) && len(got.Services[i].Stops) > 0 {
			order = append(order, i)
		}
	}
	for j := 1; j < len(order); j++ {
		prev, next := got.Services[order[j-1]].Stops[0], got.Services[order[j]].Stops[0]
		if limit := max(prev.Deadline, prev.Called); next.Called > limit && !s.ordered() { // ordered: checkTurns
			v.add("%s's Stop called at %v, after %s's deadline %v", Name(order[j]), fmtDur(next.Called), Name(order[j-1]), fmtDur(limit))
		}
		if prev.Returned != Unset && !prev.CtxDone && (next.Called < prev.Returned || (next.Called != prev.Returned && !s.ordered())) {
			v.add("%s's Stop called at %v; %s's returned in time at %v", Name(order[j]), fmtDur(next.Called), Name(order[j-1]), fmtDur(prev.Returned))
		}
	}
	return v.err()
}

func checkTurns(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	turns := got.Stop.Services
	if !s.ordered() {
		if turns != nil || got.Stop.Drain != 0 {
			v.add("unordered Stop reported %d turns and a drain of %v", len(turns), fmtDur(got.Stop.Drain))
		}
		return v.err()
	}
	if got.Stop.Returned == Unset {
		return nil // checkStopBudget reports it
	}
	if got.Stop.Drain != drain(s) {
		v.add("drained %v; want %v", fmtDur(got.Stop.Drain), fmtDur(drain(s)))
	}
	sh := share(s)
	if got.Stop.Budget != sh {
		v.add("Budget %v; want (timeout - drain)/n = %v", fmtDur(got.Stop.Budget), fmtDur(sh))
	}
	if len(turns) != len(s.Services) {
		v.add("%d turns; want one per service, %d", len(turns), len(s.Services))
	}
	next := got.Stop.Start + got.Stop.Drain
	for k, ss := range turns {
		i := len(s.Services) - 1 - k
		if ss.Service != Name(i) {
			v.add("turn %d is %s's; want %s's (reverse registration order)", k, ss.Service, Name(i))
			continue
		}
		if ss.Began != next {
			v.add("%s's turn began at %v; want %v, when the one before ended", ss.Service, fmtDur(ss.Began), fmtDur(next))
		}
		if ss.Deadline != ss.Began+sh {
			v.add("%s's deadline %v; want its turn's start %v + %v", ss.Service, fmtDur(ss.Deadline), fmtDur(ss.Began), fmtDur(sh))
		}
		if ss.Elapsed < 0 || ss.Elapsed > max(sh, 0) {
			v.add("%s's turn took %v; its budget is %v", ss.Service, fmtDur(ss.Elapsed), fmtDur(sh))
		}
		end := ss.Began + ss.Elapsed
		next = end
		if i >= len(got.Services) {
			continue
		}
		st := got.Services[i]
		if ss.Stopper != (s.Services[i].Stopper != nil) {
			v.add("%s: Stopper %v in its turn; want %v", ss.Service, ss.Stopper, s.Services[i].Stopper != nil)
		}
		for _, c := range st.Stops {
			if c.Called != ss.Began || c.Deadline != ss.Deadline {
				v.add("%s's Stop called at %v with deadline %v; its turn began at %v with deadline %v", ss.Service,
					fmtDur(c.Called), fmtDur(c.Deadline), fmtDur(ss.Began), fmtDur(ss.Deadline))
			}
			if c.Returned != Unset && !c.CtxDone && c.Returned > end {
				v.add("%s's Stop returned in time at %v, after its turn ended at %v", ss.Service, fmtDur(c.Returned), fmtDur(end))
			}
		}
		for k, a := range st.Attempts {
			// Its ctx is cancelled at its turn (or before, by Run's).
			if a.Detail == "context canceled" && a.End > ss.Began {
				v.add("%s run#%d saw its ctx cancelled at %v, after its turn began at %v", ss.Service, k+1, fmtDur(a.End), fmtDur(ss.Began))
			}
			// Its Run is awaited: none still running once its turn
			// ended, unless abandoned; one running at the deadline is.
			if a.End > end && !ss.RunAbandoned {
				v.add("%s run#%d returned at %v, after its turn ended at %v, yet not reported abandoned", ss.Service, k+1, fmtDur(a.End), fmtDur(end))
			}
			if a.Start < ss.Began && a.End >= ss.Began && a.End >= ss.Deadline && !ss.RunAbandoned {
				v.add("%s run#%d was running at its turn and its deadline %v (until %v), yet not reported abandoned", ss.Service, k+1, fmtDur(ss.Deadline), fmtDur(a.End))
			}
		}
		// A loop that ended before its turn is never abandoned.
		if ss.RunEnded != Unset && ss.RunEnded < ss.Began && ss.RunAbandoned {
			v.add("%s's Run ended at %v, before its turn at %v, yet was reported abandoned", ss.Service, fmtDur(ss.RunEnded), fmtDur(ss.Began))
		}
		if n := len(st.Attempts); n > 0 && ss.RunEnded != Unset && ss.RunEnded < st.Attempts[n-1].End {
			v.add("%s's Run ended at %v, before its last call returned at %v", ss.Service, fmtDur(ss.RunEnded), fmtDur(st.Attempts[n-1].End))
		}
	}
	if got.Stop.End != next {
		v.add("the report ends at %v; the last turn ended at %v", fmtDur(got.Stop.End), fmtDur(next))
	}
	return v.err()
}

// shutdownAt is when shutdown begins: the first Shutdown; under Serve,
// its ctx done or the first Essential service giving up, as the model
// says (C8.5).
func shutdownAt(s Schedule, exp *Expectation) time.Duration {
	if s.Serve {
		return exp.Trace.Stop.Start
	}
	return s.StopAt
}

func checkStopBudget(s Schedule, exp *Expectation, got *Trace) error {
	var v violations
	if got.Stop.Returned == Unset {
		return errors.New("Stop did not return")
	}
	start := shutdownAt(s, exp)
	took := got.Stop.Returned - start
	if limit := max(s.StopTimeout, 0); took > limit {
		v.add("Stop(%v) called at %v returned at %v, after %v", fmtDur(s.StopTimeout), fmtDur(start), fmtDur(got.Stop.Returned), fmtDur(took))
	}
	if got.Stop.Start != start || got.Stop.End != got.Stop.Returned {
		v.add("report spans %v..%v; Stop was called at %v and returned at %v", fmtDur(got.Stop.Start), fmtDur(got.Stop.End), fmtDur(start), fmtDur(got.Stop.Returned))
	}
	if got.Stop.Timeout != s.StopTimeout {
		v.add("report's Timeout %v; want %v", fmtDur(got.Stop.Timeout), fmtDur(s.StopTimeout))
	}
	return v.err()
}

func checkReport(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	want, have := exp.Trace.Stop.Results, got.Stop.Results
	for k := range max(len(want), len(have)) {
		switch {
		case k >= len(have):
			v.add("result %d: missing; want %s", k, want[k])
		case k >= len(want):
			v.add("result %d: got %s; want none", k, have[k])
		case have[k] != want[k]:
			v.add("result %d: got %s; want %s", k, have[k], want[k])
		}
	}
	if got.Stop.End != exp.Trace.Stop.End {
		v.add("report's End %v; want %v", fmtDur(got.Stop.End), fmtDur(exp.Trace.Stop.End))
	}
	return v.err()
}

func checkGaveUpAndServe(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	if !slices.Equal(got.GaveUp, exp.Trace.GaveUp) {
		v.add("GaveUp() lists %q; want %q", got.GaveUp, exp.Trace.GaveUp)
	}
	if !slices.Equal(got.ServeErr, exp.Trace.ServeErr) {
		v.add("Serve returned %q; want %q", got.ServeErr, exp.Trace.ServeErr)
	}
	return v.err()
}

func checkStop2(_ Schedule, exp *Expectation, got *Trace) error {
	switch want, have := exp.Trace.Stop2, got.Stop2; {
	case want == nil && have == nil:
	case want == nil || have == nil:
		return fmt.Errorf("second Stop: got %v; want %v", have, want)
	case *have != *want:
		return fmt.Errorf("second Stop returned at %v with the same report %v; want at %v, true",
			fmtStamp(have.Returned), have.SameReport, fmtStamp(want.Returned))
	}
	return nil
}

func checkHealth(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for j, want := range exp.Trace.Health {
		if j >= len(got.Health) {
			v.add("sample %d at %v: missing", j, fmtDur(want.At))
			continue
		}
		have := got.Health[j]
		if have.Nil {
			v.add("sample at %v: Health returned nil", fmtDur(want.At))
		}
		if len(have.Entries) != len(want.Entries) {
			v.add("sample at %v: %d entries; want %d", fmtDur(want.At), len(have.Entries), len(want.Entries))
		}
		for k := range min(len(have.Entries), len(want.Entries)) {
			h, w := have.Entries[k], want.Entries[k]
			alt, ok := exp.HealthAlt[[2]int{j, k}]
			if h != w && (!ok || h != alt) {
				if ok {
					v.add("sample at %v, entry %d: got %s; want %s or %s", fmtDur(want.At), k, h, w, alt)
				} else {
					v.add("sample at %v, entry %d: got %s; want %s", fmtDur(want.At), k, h, w)
				}
			}
		}
	}
	return v.err()
}

func checkHealthHTTP(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for j, want := range exp.Trace.Health {
		if j >= len(got.Health) {
			continue // checkHealth reports it
		}
		if have := got.Health[j]; have.Via != want.Via || have.HTTP != want.HTTP {
			v.add("sample %d at %v by %q: answered %s; want %s", j, fmtDur(want.At), want.Via, have.HTTP, want.HTTP)
		}
	}
	return v.err()
}

func checkMisuse(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for j, want := range exp.Trace.Misuse {
		if j >= len(got.Misuse) {
			v.add("misuse %d (%s): not made", j, want.Kind)
			continue
		}
		have := got.Misuse[j]
		have.Message = ""
		if have != want {
			v.add("%s; want %s (message %q)", have, want, got.Misuse[j].Message)
		}
	}
	return v.err()
}

// checkTracker holds each Tracker sample against the service's own trace:
// a success sets LastSuccess and resets the count, a failure sets
// LastFailure and LastError and adds one; zero until the first event.
func checkTracker(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	for j, sample := range got.Health {
		k := 0
		for i, sv := range s.Services {
			if !sv.reports() {
				continue
			}
			if k >= len(sample.Entries) {
				break
			}
			e := sample.Entries[k]
			e.JSON = ""
			k++
			if i >= len(got.Services) {
				continue
			}
			records, ok := trackerRecords(s, i, &got.Services[i])
			if !ok {
				continue
			}
			before := tracked(Name(i), records, func(end time.Duration) bool { return end < sample.At })
			after := tracked(Name(i), records, func(end time.Duration) bool { return end <= sample.At })
			if e != before && e != after {
				v.add("sample %d at %v: %s's tracker shows %s; its calls of Run say %s", j, fmtDur(sample.At), Name(i), e, before)
			}
		}
	}
	return v.err()
}

// checkEventsAgree holds the events against the services' own trace and
// the StopReport.
func checkEventsAgree(s Schedule, _ *Expectation, got *Trace) error {
	var v violations
	results := map[string]StopResult{}
	for _, r := range got.Stop.Results {
		results[r.Service] = r
	}
	for i, st := range got.Services {
		var want []Event // what the trace says the events must be
		var run, stop []Event
		for _, e := range st.Events {
			if isStopEvent(e) {
				stop = append(stop, e)
			} else {
				run = append(run, e)
			}
		}
		// Run events: started, ended, and backing off exactly when a next
		// attempt follows the backoff (or none could).
		stopAt := stoppedAt(s, got, i)
		var failures []time.Duration
		for k, a := range st.Attempts {
			stopping := a.End >= stopAt // C7.1: not a failure
			// C9.4: an attempt not ready within the start timeout is a
			// failure with ErrStartTimeout, whatever Run returned.
			if timeout := startTimeoutText(Name(i), s.Gate); s.Gate > 0 && s.Services[i].NotifyReady && a.End-a.Start >= s.Gate &&
				len(want)+1 < len(run) && run[len(want)+1].Kind == "AttemptEnded" && run[len(want)+1].Detail == timeout {
				a.Outcome, a.Detail = Error, timeout
			}
			want = append(want,
				Event{At: a.Start, Kind: "AttemptStarted", Attempt: k + 1},
				Event{At: a.End, Kind: "AttemptEnded", Attempt: k + 1, Outcome: a.Outcome,
					Detail: eventDetail(a.Outcome, a.Detail), Duration: a.End - a.Start, Canceled: stopping})
			if stopping || a.Outcome == Finished {
				continue
			}
			// C7.3: the failure that makes N within (t-W, t] gives up.
			if lim := s.Services[i].Limit; lim != nil {
				failures = append(failures, a.End)
				if within(failures, a.End, lim.Window) >= lim.N {
					want = append(want, Event{At: a.End, Kind: "GaveUp", Attempt: k + 1, Outcome: a.Outcome,
						Detail: giveUpDetail(lim, a.Outcome, a.Detail)})
					continue
				}
			}
			b := Event{At: a.End, Kind: "BackingOff", Attempt: k + 1}
			if k+1 < len(st.Attempts) {
				b.Duration = st.Attempts[k+1].Start - a.End
			} else {
				// No attempt followed: any delay reaching cancellation will do.
				if n := len(want); n < len(run) && run[n].Kind == "BackingOff" {
					b.Duration = run[n].Duration
				}
				if addSat(a.End, max(b.Duration, 0)) < stopAt {
					v.add("%s run#%d: backing off %v from %v ends before it was told to stop at %v, yet no attempt followed",
						Name(i), k+1, fmtDur(b.Duration), fmtDur(a.End), fmtDur(stopAt))
				}
			}
			want = append(want, b)
		}
		diffEvents(&v, Name(i), "Run", want, run)

		// Stop events: called, then ended in time or abandoned; in an
		// ordered shutdown, inside the service's turn (C8.6).
		want = nil
		var turn *ServiceStop
		for k, ss := range got.Stop.Services {
			if ss.Service == Name(i) {
				turn = &got.Stop.Services[k]
			}
		}
		if turn != nil {
			want = append(want, Event{At: turn.Began, Kind: "ServiceStopping", Duration: turn.Deadline - turn.Began})
		}
		for _, c := range st.Stops {
			r := results[Name(i)]
			want = append(want, Event{At: c.Called, Kind: "StopCalled", Duration: c.Deadline - c.Called})
			if r.Abandoned {
				want = append(want, Event{At: max(c.Deadline, c.Called), Kind: "StopAbandoned", Duration: c.Deadline - c.Called})
			} else {
				want = append(want, Event{At: c.Returned, Kind: "StopEnded", Outcome: c.Outcome,
					Detail: eventDetail(c.Outcome, c.Detail), Duration: c.Returned - c.Called})
			}
		}
		if turn != nil {
			o := Outcome("nil")
			if turn.RunAbandoned || turn.Stop.Abandoned {
				o = "abandoned"
			}
			want = append(want, Event{At: turn.Began + turn.Elapsed, Kind: "ServiceStopped", Outcome: o, Duration: turn.Elapsed})
		}
		diffEvents(&v, Name(i), "Stop", want, stop)
	}
	return v.err()
}

// within counts the failures (end instants) in the half-open window
// (t-w, t].
func within(failures []time.Duration, t, w time.Duration) int {
	n := 0
	for _, f := range failures {
		if f > t-w && f <= t {
			n++
		}
	}
	return n
}

// stoppedAt is when service i is told to stop, by the schedule and the
// report: Run's ctx cancelled, or shutdown begun (C7.1); in an ordered
// shutdown, its turn (C8.2) or Run's ctx (not under Serve).
func stoppedAt(s Schedule, got *Trace, i int) time.Duration {
	if !s.ordered() {
		return min(s.CancelAt, s.StopAt)
	}
	at := forever
	if !s.Serve {
		at = s.CancelAt
	}
	for _, ss := range got.Stop.Services {
		if ss.Service == Name(i) {
			at = min(at, ss.Began)
		}
	}
	return at
}

// diffEvents adds a violation for each event of have that differs from want.
func diffEvents(v *violations, name, stream string, want, have []Event) {
	for k := range max(len(want), len(have)) {
		switch {
		case k >= len(have):
			v.add("%s %s event %d: missing; want %s", name, stream, k, want[k])
		case k >= len(want):
			v.add("%s %s event %d: got %s; want none", name, stream, k, have[k])
		case have[k] != want[k]:
			v.add("%s %s event %d: got %s; want %s", name, stream, k, have[k], want[k])
		}
	}
}

func checkEventsModel(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for i, want := range exp.Trace.Services {
		var have []Event
		if i < len(got.Services) {
			have = got.Services[i].Events
		}
		diffEvents(&v, Name(i), "all", want.Events, have)
	}
	return v.err()
}

func checkLogs(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for _, l := range got.StrayLogs {
		v.add("a record that names no service: %s", l)
	}
	for i, want := range exp.Trace.Services {
		var have []Log
		if i < len(got.Services) {
			have = got.Services[i].Logs
		}
		for k := range max(len(want.Logs), len(have)) {
			switch {
			case k >= len(have):
				v.add("%s log %d: missing; want %s", Name(i), k, want.Logs[k])
			case k >= len(want.Logs):
				v.add("%s log %d: got %s; want none", Name(i), k, have[k])
			case have[k] != want.Logs[k]:
				v.add("%s log %d: got %s; want %s", Name(i), k, have[k], want.Logs[k])
			}
		}
	}
	return v.err()
}
