package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// StepLimit is how many timers one simulation may fire before it is
// reported as a runaway.
const StepLimit = 100_000

// Simulate runs the real Manager on schedule s and returns the trace. It
// must be called from a testing/synctest bubble (synctest.Test, or
// rapid.SyncTest inside a rapid property), and creates everything it uses
// inside it. tb receives misuse of the fake clock.
//
// The recipe: register the services; arm the driver's timers (cancel,
// Stop, Health samples) before Run, so that at equal instants they fire
// before any timer of the Manager or the services (those due at 0 are done
// at once, in that order); call Run at virtual 0;
// fire one timer at a time, each once every goroutine is parked
// (synctest.Wait), until Run, Stop and the samples are done and every
// Stopper has returned except those that block; then release those and
// fire any timer left.
func Simulate(tb fakeclock.TB, s Schedule) *Trace {
	return SimulateWith(tb, s, Options{})
}

// SimulateWith is [Simulate] with the driver's timing set by o.
func SimulateWith(tb fakeclock.TB, s Schedule, o Options) *Trace {
	clk := fakeclock.New(tb, Epoch)
	rec := newRecorder(clk, len(s.Services))
	races := o.trackerRaces(s)
	defer o.start(clk, races)()

	opts := []lifecycle.Option{lifecycle.WithClock(clk), lifecycle.WithEvents(o.events(clk, rec.event))}
	switch s.Logger {
	case LoggerWith:
		opts = append(opts, lifecycle.WithLogger(slog.New(&logHandler{rec: rec})))
	case LoggerNil:
		opts = append(opts, lifecycle.WithLogger(nil))
	}
	if j := s.Jitter; j != nil {
		r := j.R
		opts = append(opts, lifecycle.WithJitter(j.Fraction, func() float64 { return r }))
	}
	if s.Ordered {
		opts = append(opts, lifecycle.WithOrderedShutdown())
	}
	if s.ordered() && s.Drain > 0 {
		opts = append(opts, lifecycle.WithDrain(s.Drain))
	}
	if s.Gate > 0 {
		opts = append(opts, lifecycle.WithGatedStart(s.Gate))
	}
	m := lifecycle.NewManager(opts...)
	if s.Logger != LoggerWith {
		// slog.Default is global: set it once the Manager exists (so a
		// Manager that took it at construction misses it), and restore it,
		// with the log package's output that SetDefault redirects. No test
		// of this package runs in parallel with another.
		prev, out, flags := slog.Default(), log.Writer(), log.Flags()
		slog.SetDefault(slog.New(&logHandler{rec: rec, logger: 1}))
		defer func() {
			slog.SetDefault(prev)
			log.SetOutput(out)
			log.SetFlags(flags)
		}()
	}
	handler := lifecycle.HealthHandler(m)
	if b := s.Backoff; b != nil {
		m.SetBackoff(b.Initial, b.Maximum, b.Reset)
	}
	release := make(chan struct{})
	for i := range s.Services {
		sv := &service{idx: i, name: Name(i), plan: &s.Services[i], clk: clk, rec: rec, release: release,
			stopErr: stopErr(s.Services[i].Stopper)}
		if h := sv.plan.Health; h != nil && h.Tracker {
			sv.tracker = &lifecycle.Tracker{Clock: clk}
		}
		rec.stopErrs[i] = sv.stopErr
		rec.mayPanic[sv.name] = sv.plan.Health != nil && !sv.plan.Health.Tracker
		var sopts []lifecycle.ServiceOption
		if l := sv.plan.Limit; l != nil {
			sopts = append(sopts, lifecycle.RestartLimit(l.N, l.Window))
		}
		if sv.plan.Essential {
			sopts = append(sopts, lifecycle.Essential())
		}
		if sv.plan.NotifyReady {
			sopts = append(sopts, lifecycle.NotifyReady())
		}
		m.Register(sv.name, sv.wrap(), sopts...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if len(s.Misuse) > 0 {
		rec.misuse = make([]MisuseResult, len(s.Misuse))
	}
	for j, mu := range s.Misuse {
		if mu.At == 0 {
			rec.misuse[j] = misuse(m, clk, ctx, 0, mu.Kind)
		}
	}
	rec.names = m.Names()

	// The driver's actions, as timers armed oldest first: cancel, Stop,
	// Stop again, Health. Those due at 0 run now instead, one after the
	// other, each left to settle (synctest.Wait): a timer of 0 would start
	// them all at once, in no particular order.
	at := func(t time.Duration, f func()) {
		if t > 0 {
			clk.AfterFunc(t, f)
			return
		}
		go f()
		o.settle()
	}
	arm, atAlone, atApart := func() {}, at, at
	if o.Together {
		at, atAlone, atApart, arm = o.together(clk, races)
	}
	if s.Logger != LoggerWith && s.LoggerSwitchAt > 0 {
		// The oldest timer: at its instant, every log call comes after it.
		clk.AfterFunc(s.LoggerSwitchAt, func() { slog.SetDefault(slog.New(&logHandler{rec: rec, logger: 2})) })
	}
	canceledAt := atomic.Int64{}
	at(s.CancelAt, func() { canceledAt.Store(int64(clk.Since(Epoch))); cancel() })
	var stopsLeft, samplesLeft atomic.Int32
	if !s.Serve {
		stopsLeft.Add(1)
		at(s.StopAt, func() {
			o.label("driver.stop1")
			rep := m.Shutdown(s.StopTimeout)
			rec.shutdown(rep)
			stopsLeft.Add(-1)
		})
	}
	if s.Stop2 && !s.Serve {
		stopsLeft.Add(1)
		timeout2 := s.StopTimeout*2 + 1
		if o.Together && s.Stop2At == s.StopAt {
			timeout2 = s.StopTimeout // either may win: the same report
		}
		at(s.Stop2At, func() {
			o.label("driver.stop2")
			rep := m.Shutdown(timeout2)
			rec.shutdown2(rep)
			stopsLeft.Add(-1)
		})
	}
	if b := s.Rebackoff; b != nil {
		at(s.RebackoffAt, func() { m.SetBackoff(b.Initial, b.Maximum, b.Reset) })
	}
	rec.health = make([]HealthSample, len(s.HealthAt))
	for j, t := range s.HealthAt {
		samplesLeft.Add(1)
		if via := s.via(j); via != ViaCall {
			atAlone(t, func() {
				o.label(fmt.Sprintf("driver.health%d", j))
				rec.sampleHTTP(j, serveHealth(handler, via))
				samplesLeft.Add(-1)
			})
			continue
		}
		atAlone(t, func() {
			o.label(fmt.Sprintf("driver.health%d", j))
			rec.sample(j, m.Health())
			samplesLeft.Add(-1)
		})
	}
	// States samples, after the Health samples (C9), each followed by
	// the probe requests due at its instant (C10); then the other probes,
	// one timer per instant.
	rec.statesSamples = make([]StatesSample, len(s.StatesAt))
	rec.probes = make([]ProbeSample, len(s.Probes))
	withStates, alone := probeGroups(s)
	for j, t := range s.StatesAt {
		samplesLeft.Add(1)
		atApart(t, func() { rec.states(j, m.States()); rec.probeAll(s, m, withStates[j]); samplesLeft.Add(-1) })
	}
	for _, g := range alone {
		samplesLeft.Add(1)
		atApart(s.Probes[g[0]].At, func() { rec.probeAll(s, m, g); samplesLeft.Add(-1) })
	}
	if s.GiveUpProbes {
		rec.onGiveUp = func(name string, at time.Duration) { rec.probeGiveUp(s, m, name, at) }
	}
	for j, mu := range s.Misuse {
		if mu.At > 0 {
			samplesLeft.Add(1)
			at(mu.At, func() {
				r := misuse(m, clk, ctx, mu.At, mu.Kind)
				rec.mu.Lock()
				rec.misuse[j] = r
				rec.mu.Unlock()
				samplesLeft.Add(-1)
			})
		}
	}

	var runDone atomic.Bool
	arm()
	go func() {
		if s.Serve {
			// Serve returns no report: a later Shutdown returns the one
			// its shutdown made (C3.9), at once.
			err := m.Serve(ctx, s.StopTimeout)
			rec.served(err)
			rec.shutdown(m.Shutdown(0))
		} else {
			m.Run(ctx)
		}
		rec.runEnded(m.GaveUp())
		runDone.Store(true)
	}()

	// Drive until Run, Stop and the samples are done, then until every
	// Stopper that does not block has returned; then release the others.
	stuck := drive(clk, o, func() bool {
		return runDone.Load() && stopsLeft.Load() == 0 && samplesLeft.Load() == 0
	}, func() string {
		var missing []string
		if !runDone.Load() {
			missing = append(missing, "Run has not returned")
		}
		if stopsLeft.Load() != 0 {
			missing = append(missing, "Shutdown has not returned")
		}
		if n := samplesLeft.Load(); n != 0 {
			missing = append(missing, fmt.Sprintf("%d Health samples not taken", n))
		}
		return strings.Join(missing, ", ")
	})
	if stuck == "" {
		stuck = drive(clk, o, func() bool { return rec.stopBodies.Load() == 0 }, func() string {
			return fmt.Sprintf("%d Stop calls have not returned", rec.stopBodies.Load())
		})
	}
	// Release the Stoppers that block, and fire what is left (nothing, in
	// a correct run), so that every goroutine can end with the bubble and
	// whatever a faulty Manager still does gets into the trace.
	close(release)
	if more := drive(clk, o, func() bool { return clk.Pending() == 0 }, func() string { return "timers still pending" }); stuck == "" {
		stuck = more
	}
	tr := rec.trace()
	if o.Lies != nil || o.ClockThread {
		tr.Canceled = time.Duration(canceledAt.Load())
		tr.LateStopFailures = rec.lateStopFailures()
	}
	tr.Stuck = strings.TrimPrefix(tr.Stuck+"; "+stuck, "; ")
	tr.Stuck = strings.TrimSuffix(tr.Stuck, "; ")
	return tr
}

// drive fires the clock's timers one at a time, each once every goroutine
// of the bubble is parked, until done reports true. It returns why it
// could not get there (nothing left to fire, or StepLimit timers fired),
// or "".
//
// With a scheduler (o.Sched), each quiescence first releases one goroutine
// parked at a scheduling point, if any is, and time moves only when none
// is (or when the scheduler picks the clock, with o.ClockThread).
func drive(clk *fakeclock.Clock, o Options, done func() bool, missing func() string) string {
	for steps := 0; ; steps++ {
		synctest.Wait()
		if o.Sched != nil && o.Sched.Next(o.clockReady(clk)) {
			continue
		}
		if done() && (o.Sched == nil || o.Sched.Parked() == 0) {
			return ""
		}
		if steps >= StepLimit {
			return fmt.Sprintf("runaway: %d timers fired by %v: %s", steps, fmtDur(clk.Since(Epoch)), missing())
		}
		if !clk.Step() {
			return fmt.Sprintf("deadlock at %v, nothing left to fire: %s", fmtDur(clk.Since(Epoch)), missing())
		}
	}
}

// ClockThreadReach is how far, at most, the clock may move in one step
// while goroutines are parked (Options.ClockThread): a goroutine is
// descheduled for a while, not for the 2^62 ns of a huge backoff wait,
// which would carry every stamp past what a Duration holds.
const ClockThreadReach = time.Hour

// clockReady reports whether the scheduler may choose the clock: with
// o.ClockThread, when a timer is due within ClockThreadReach.
func (o Options) clockReady(clk *fakeclock.Clock) bool {
	if !o.ClockThread {
		return false
	}
	return clk.Pending() > 0 && clk.Reach() <= ClockThreadReach
}

// recorder collects the trace from the services, the Manager's events and
// the driver. It is safe for concurrent use.
type recorder struct {
	clk        *fakeclock.Clock
	index      map[string]int  // service name -> index
	stopErrs   []error         // the error each service's Stop returns
	stopBodies atomic.Int32    // Stop calls running that will return by themselves
	mayPanic   map[string]bool // services whose Health may panic

	mu          sync.Mutex // guards the fields below
	names       []string
	attempts    [][]Attempt
	ticks       [][]TickCall
	stops       [][]StopCall
	runEvents   [][]Event
	stopEvents  [][]Event
	strays      []string // events for no known service
	logs        [][]Log
	strayLogs   []string // log records naming no known service
	runReturned time.Duration
	gaveUp      []string
	serveErr    []string
	report      *lifecycle.StopReport
	stopAt      time.Duration // when the first Shutdown returned
	report2     *lifecycle.StopReport
	stop2At     time.Duration
	health      []HealthSample
	misuse      []MisuseResult
	lateStop    []int // per service: records of an abandoned Stop's failure

	statesSamples []StatesSample
	probes        []ProbeSample
	giveUpProbes  []ProbeSample
	onGiveUp      func(name string, at time.Duration) // set before Run, if any
}

func newRecorder(clk *fakeclock.Clock, n int) *recorder {
	r := &recorder{clk: clk, index: map[string]int{}, stopErrs: make([]error, n), mayPanic: map[string]bool{},
		attempts: make([][]Attempt, n), ticks: make([][]TickCall, n), stops: make([][]StopCall, n),
		runEvents: make([][]Event, n), stopEvents: make([][]Event, n), logs: make([][]Log, n),
		runReturned: Unset, lateStop: make([]int, n)}
	for i := range n {
		r.index[Name(i)] = i
	}
	return r
}

// now is the virtual time.
func (r *recorder) now() time.Duration { return r.clk.Since(Epoch) }

func (r *recorder) attempt(i int, a Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[i] = append(r.attempts[i], a)
}

func (r *recorder) tickCall(i int, c TickCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ticks[i] = append(r.ticks[i], c)
}

func (r *recorder) stopCall(i int, c StopCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stops[i] = append(r.stops[i], c)
}

// runEnded records that Run (or Serve) returned, and what
// Manager.GaveUp() lists then.
func (r *recorder) runEnded(gaveUp []error) {
	now := r.now()
	var list []string
	var ats []time.Duration
	for _, err := range gaveUp {
		var gu *lifecycle.GiveUpError
		if !errors.As(err, &gu) {
			list, ats = append(list, fmt.Sprintf("not a *GiveUpError: %T %s", err, describe(err))), append(ats, -1)
			continue
		}
		at := gu.At.Sub(Epoch)
		list, ats = append(list, fmt.Sprintf("%s at %v", gu.Service, fmtDur(at))), append(ats, at)
	}
	sortByInstant(list, ats)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runReturned = now
	r.gaveUp = list
}

// sortByInstant sorts lines by their instants, ties by text: services
// that give up at one instant do so in the order the Go scheduler runs
// them.
func sortByInstant(lines []string, ats []time.Duration) {
	idx := make([]int, len(lines))
	for k := range idx {
		idx[k] = k
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if ats[a] != ats[b] {
			return cmp.Compare(ats[a], ats[b])
		}
		return strings.Compare(lines[a], lines[b])
	})
	sorted := make([]string, len(lines))
	for k, j := range idx {
		sorted[k] = lines[j]
	}
	copy(lines, sorted)
}

// served records Serve's error, classified: each error it joins, flattened
// (errors.Join), as a line naming the service.
func (r *recorder) served(err error) {
	var lines, gave []string
	var ats []time.Duration
	for _, e := range leaves(err) {
		var gu *lifecycle.GiveUpError
		if errors.As(e, &gu) {
			gave, ats = append(gave, fmt.Sprintf("gave up: %s at %v", gu.Service, fmtDur(gu.At.Sub(Epoch)))), append(ats, gu.At.Sub(Epoch))
			continue
		}
		name := "?"
		if m := namedService.FindStringSubmatch(describe(e)); m != nil {
			name = m[1]
		}
		lines = append(lines, name+": "+r.classifyTurnErr(name, e))
	}
	sortByInstant(gave, ats)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serveErr = append(gave, lines...)
}

// namedService finds the service an error of the Manager names.
var namedService = regexp.MustCompile(`service "(svc\d+)"`)

// leaves flattens the errors that err joins (errors.Join, at any depth).
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// classifyTurnErr classifies one error of an ordered shutdown's turn: the
// abandonment of Run, or what a StopResult's Err is.
func (r *recorder) classifyTurnErr(name string, err error) string {
	if errors.Is(err, context.DeadlineExceeded) && strings.Contains(describe(err), "Run of service") {
		return "run abandoned"
	}
	var stopErr error
	if i, ok := r.index[name]; ok {
		stopErr = r.stopErrs[i]
	}
	return classifyStopErr(name, err, stopErr)
}

func (r *recorder) shutdown(rep lifecycle.StopReport) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report, r.stopAt = &rep, now
}

func (r *recorder) shutdown2(rep lifecycle.StopReport) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report2, r.stop2At = &rep, now
}

func (r *recorder) sample(j int, hs []lifecycle.WorkerHealth) {
	s := HealthSample{At: r.now(), Nil: hs == nil, Entries: []HealthEntry{}}
	for _, h := range hs {
		e := HealthEntry{Name: h.Name, LastSuccess: unstamp(h.LastSuccess), LastFailure: unstamp(h.LastFailure),
			LastError: h.LastError, Failures: h.ConsecutiveFailures}
		if r.mayPanic[h.Name] && strings.Contains(h.LastError, "panicked") {
			e.Panicked, e.LastError = true, ""
		}
		s.Entries = append(s.Entries, e)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.health[j] = s
}

// sampleHTTP records sample j, taken through the health endpoint.
func (r *recorder) sampleHTTP(j int, s HealthSample) {
	s.At = r.now()
	for k, e := range s.Entries {
		if r.mayPanic[e.Name] && strings.Contains(e.LastError, "panicked") {
			s.Entries[k].Panicked, s.Entries[k].LastError = true, ""
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.health[j] = s
}

// event records a lifecycle.Event; it is the WithEvents function.
func (r *recorder) event(e lifecycle.Event) {
	if e.Kind == lifecycle.GaveUp && r.onGiveUp != nil {
		r.onGiveUp(e.Service, e.Time.Sub(Epoch))
	}
	ev := Event{At: e.Time.Sub(Epoch), Kind: e.Kind.String(), Attempt: e.Attempt, Duration: e.Duration, Canceled: e.Canceled}
	switch e.Kind {
	case lifecycle.AttemptEnded, lifecycle.StopEnded:
		ev.Outcome, ev.Detail = outcomeOf(e)
	case lifecycle.GaveUp:
		ev.Outcome, ev.Detail = giveUpOf(e)
	case lifecycle.ServiceStopped:
		ev.Outcome = Outcome(e.Outcome.String())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[e.Service]
	switch {
	case !ok:
		r.strays = append(r.strays, fmt.Sprintf("%q %s", e.Service, ev))
	case streamOf(e.Kind) == runStream:
		r.runEvents[i] = append(r.runEvents[i], ev)
	case streamOf(e.Kind) == stopStream:
		r.stopEvents[i] = append(r.stopEvents[i], ev)
	default:
		r.strays = append(r.strays, fmt.Sprintf("unclassified kind %s", ev))
	}
}

// outcomeOf maps an ended event's Outcome and Err to the sim's terms. An
// Err that does not fit the Outcome shows in Detail. A panic's value is
// read from the *lifecycle.PanicError in Err (errors.As), its one place.
func outcomeOf(e lifecycle.Event) (Outcome, string) {
	bad := func(o Outcome) (Outcome, string) {
		return o, fmt.Sprintf("bad Err %T %s", e.Err, describe(e.Err))
	}
	switch e.Outcome {
	case lifecycle.OutcomeNil:
		if e.Err != nil {
			return bad(Nil)
		}
		return Nil, ""
	case lifecycle.OutcomeError:
		if e.Err == nil || errors.Is(e.Err, lifecycle.ErrFinished) {
			return bad(Error)
		}
		return Error, describe(e.Err)
	case lifecycle.OutcomeFinished:
		if !errors.Is(e.Err, lifecycle.ErrFinished) {
			return bad(Finished)
		}
		return Finished, describe(e.Err)
	case lifecycle.OutcomePanic:
		var pe *lifecycle.PanicError
		if !errors.As(e.Err, &pe) || pe.Service != e.Service {
			return bad(Panic)
		}
		return Panic, fmt.Sprint(pe.Value)
	case lifecycle.OutcomeGoexit:
		if !errors.Is(e.Err, lifecycle.ErrGoexit) {
			return bad(Goexit)
		}
		return Goexit, ""
	}
	return Outcome(e.Outcome.String()), ""
}

// giveUpOf maps a GaveUp event to the sim's terms: the last failure's
// outcome, and a Detail that gives the limit of its *lifecycle.GiveUpError
// and the failure as an AttemptEnded event would describe it. An Err that
// is not a *GiveUpError about this failure shows in Detail.
func giveUpOf(e lifecycle.Event) (Outcome, string) {
	var gu *lifecycle.GiveUpError
	if !errors.As(e.Err, &gu) {
		return Outcome(e.Outcome.String()), fmt.Sprintf("bad Err %T %s", e.Err, describe(e.Err))
	}
	o, detail := outcomeOf(lifecycle.Event{Service: e.Service, Outcome: e.Outcome, Err: gu.Last})
	if gu.Service != e.Service || !gu.At.Equal(e.Time) || (gu.Last != nil && !errors.Is(gu, gu.Last)) {
		detail = fmt.Sprintf("bad GiveUpError for %q at %v (%s)", gu.Service, fmtDur(gu.At.Sub(Epoch)), detail)
	}
	return o, fmt.Sprintf("%d in %v: %s", gu.Failures, fmtDur(gu.Window), detail)
}

// trace returns what was recorded, in canonical form.
func (r *recorder) trace() *Trace {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr := &Trace{Names: r.names, RunReturned: r.runReturned, Stop: StopTrace{Returned: Unset}, Health: r.health,
		Misuse: r.misuse, GaveUp: r.gaveUp, ServeErr: r.serveErr, States: r.statesSamples,
		Probes: r.probes, GiveUpProbes: sortProbes(r.giveUpProbes)}
	tr.Services = make([]ServiceTrace, len(r.attempts))
	for i := range tr.Services {
		tr.Services[i] = ServiceTrace{Attempts: r.attempts[i], Ticks: r.ticks[i], Stops: r.stops[i],
			Events: mergeEvents(r.runEvents[i], r.stopEvents[i]), Logs: r.logs[i]}
		sortLogs(tr.Services[i].Logs)
	}
	tr.StrayLogs = r.strayLogs
	if r.report != nil {
		tr.Stop = r.stopTrace(*r.report)
		tr.Stop.Returned = r.stopAt
	}
	if r.report2 != nil {
		tr.Stop2 = &Stop2Trace{Returned: r.stop2At, SameReport: reflect.DeepEqual(r.report, r.report2)}
	}
	if len(r.strays) > 0 {
		tr.Stuck = "events for unknown services or of unclassified kinds: " + strings.Join(r.strays, "; ")
	}
	return tr
}

// stopTrace converts a StopReport, classifying each error.
func (r *recorder) stopTrace(rep lifecycle.StopReport) StopTrace {
	st := StopTrace{Start: unstamp(rep.Start), End: unstamp(rep.End), Timeout: rep.Timeout, Budget: rep.Budget}
	for _, x := range rep.Stoppers {
		res := StopResult{Service: x.Service, Called: unstamp(x.Called), Deadline: unstamp(x.Deadline),
			Elapsed: x.Elapsed, Abandoned: x.Abandoned}
		var stopErr error
		if i, ok := r.index[x.Service]; ok {
			stopErr = r.stopErrs[i]
		}
		if !x.Abandoned {
			res.Outcome = Outcome(x.Outcome.String())
		}
		res.Err = classifyStopErr(x.Service, x.Err, stopErr)
		st.Results = append(st.Results, res)
	}
	st.Drain = rep.Drain
	k := 0 // the next of Stoppers
	for _, x := range rep.Services {
		ss := ServiceStop{Service: x.Service, Began: unstamp(x.Began), Deadline: unstamp(x.Deadline), RunEnded: unstamp(x.RunEnded),
			RunAbandoned: x.RunAbandoned, Stopper: x.Stopper, Elapsed: x.Elapsed}
		if ss.RunAbandoned && ss.RunEnded >= ss.Began {
			// A loop that ends at the instant the Manager judges it (a
			// Run that returns at once when Stop(0) cancels it) may or may
			// not be seen as ended: the Go scheduler decides. Kept only
			// when it ended before its turn.
			ss.RunEnded = Unset
		}
		var errs []string
		for _, e := range leaves(x.Err) {
			errs = append(errs, r.classifyTurnErr(x.Service, e))
		}
		ss.Err = strings.Join(errs, " + ")
		if x.Stopper {
			// The same StopResult as in Stoppers, in the same order.
			if k < len(st.Results) && k < len(rep.Stoppers) && reflect.DeepEqual(x.Stop, rep.Stoppers[k]) {
				ss.Stop = st.Results[k]
			} else {
				ss.Stop.Err = "not the StopResult of Stoppers"
			}
			k++
		}
		st.Services = append(st.Services, ss)
	}
	return st
}

// classifyStopErr names what a StopResult's Err wraps; see [StopResult].
func classifyStopErr(name string, err, stopErr error) string {
	var pe *lifecycle.PanicError
	switch {
	case err == nil:
		return ""
	case !strings.Contains(describe(err), name):
		return "unnamed: " + describe(err)
	case errors.As(err, &pe):
		return "panic: " + fmt.Sprint(pe.Value)
	case errors.Is(err, lifecycle.ErrGoexit):
		return "goexit"
	case stopErr != nil && errors.Is(err, stopErr):
		return "error: " + describe(stopErr)
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return "other: " + describe(err)
}

// lateStopFailure is the message of the record of an abandoned Stop call
// that failed once it ended (after its deadline).
const lateStopFailure = "lifecycle: abandoned Stop failed after its deadline"

func (r *recorder) lateStopFailures() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lateStop)
}

// logHandler is the Manager's slog.Handler: it records each record against
// the service its "service" attribute names.
type logHandler struct {
	rec    *recorder
	logger int // Log.Logger of what it records
	attrs  []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	service, stack, hostile := "", false, false
	visit := func(a slog.Attr) bool {
		v := a.Value.Resolve()
		if a.Key == "service" {
			service = v.String()
		}
		if v.Kind() == slog.KindString && strings.Contains(v.String(), "goroutine ") {
			stack = true
		}
		if v.Kind() == slog.KindString && strings.Contains(v.String(), hostilePanic) {
			hostile = true
		}
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	l := Log{At: h.rec.now(), Level: r.Level.String(), Stack: stack, Hostile: hostile, Logger: h.logger}
	if r.Message == tickFailed {
		l.Tick, l.Err = tickAttrs(r)
	}

	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if i, ok := h.rec.index[service]; ok {
		h.rec.logs[i] = append(h.rec.logs[i], l)
		if r.Message == lateStopFailure {
			h.rec.lateStop[i]++
		}
	} else {
		h.rec.strayLogs = append(h.rec.strayLogs, fmt.Sprintf("%s %q service=%q", l, r.Message, service))
	}
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{rec: h.rec, logger: h.logger, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
