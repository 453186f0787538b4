package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"
)

// StopReport is what a shutdown did: one [StopResult] per Stopper, in the
// order they were called, and in an ordered shutdown (see
// [WithOrderedShutdown]) one [ServiceStop] per service.
type StopReport struct {
	Timeout time.Duration // the budget given to Stop
	// Budget is each one's share: Timeout divided by the number of
	// Stoppers, or in an ordered shutdown Timeout less Drain divided by
	// the number of services.
	Budget   time.Duration
	Start    time.Time    // when Stop began, on the Manager's Clock
	End      time.Time    // when Stop returned
	Stoppers []StopResult // in call order: reverse registration order

	// For an ordered shutdown only (zero otherwise):
	Drain    time.Duration // how long it drained before stopping anything (see WithDrain)
	Services []ServiceStop // every service, in stop order: reverse registration order
}

// StopResult is how one Stopper's Stop call ended.
type StopResult struct {
	Service  string        // the registration name
	Called   time.Time     // when Stop was called
	Deadline time.Time     // the deadline of the context Stop was given
	Elapsed  time.Duration // how long the Manager waited: until Stop returned, or until its deadline (0 if already passed)

	// Abandoned is set when Stop had not returned before its deadline, as
	// read on the Manager's Clock: the Manager moved on at the deadline and
	// left the call running.
	Abandoned bool
	// Outcome is how Stop ended: OutcomeAbandoned when it was abandoned.
	Outcome Outcome
	// Err is nil when Stop returned nil in time; otherwise it says what went
	// wrong, naming the service: it wraps the error Stop returned, a
	// *PanicError, ErrGoexit, or (when abandoned) context.DeadlineExceeded.
	Err error
}

// Err returns nil if every Stopper returned nil before its deadline (and,
// in an ordered shutdown, every Run returned before its deadline), and
// otherwise an error joining what went wrong, naming each service.
func (r StopReport) Err() error {
	var errs []error
	if r.Services != nil {
		for _, s := range r.Services {
			if s.Err != nil {
				errs = append(errs, s.Err)
			}
		}
		return errors.Join(errs...)
	}
	for _, s := range r.Stoppers {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	return errors.Join(errs...)
}

// Stop shuts the services down: it calls Stop on every registered service
// that implements [Stopper], one at a time, in reverse registration order,
// and returns within timeout on the Manager's Clock whatever the Stoppers,
// the log handler or the events function do.
//
// Each Stopper gets an equal share of timeout, timeout/n for n Stoppers, as
// the deadline of the context it is called with. The next Stopper is called
// as soon as the previous one returns or its deadline passes; a Stopper still
// running at its deadline, as read on the Manager's Clock, is abandoned, left
// to finish on its own goroutine. With timeout <= 0 every Stopper is still
// called, with a context that has already expired. Errors, panics and
// abandoned calls are logged with the service name; use [Manager.Shutdown]
// to receive them.
//
// Stop does not cancel the context given to [Manager.Run]: the caller owns
// it. Stop may be called before, during or after Run. Only the first call
// does anything; a concurrent call waits for the first to finish.
func (m *Manager) Stop(timeout time.Duration) {
	m.Shutdown(timeout)
}

// Shutdown is [Manager.Stop], returning what happened. The first call does
// the shutdown; any later or concurrent call waits for it to finish and
// returns the same report, ignoring its own timeout.
//
// The log lines and events of the shutdown are delivered in order on a
// goroutine of their own, so that a slow handler cannot stretch it;
// Shutdown waits for them to be delivered only while its budget lasts.
func (m *Manager) Shutdown(timeout time.Duration) StopReport {
	// The first call does the work; any other waits for it. Not sync.Once:
	// a goroutine waiting in Once.Do waits on a mutex, which a
	// testing/synctest bubble does not count as durably blocked, so a test
	// of a concurrent Shutdown on virtual time could never move time on.
	schedpoint.Yield("shutdown.first", nil)
	m.stopMu.Lock()
	st, first := m.stopping, m.stopping == nil
	if first {
		st = &stopRun{done: make(chan struct{})}
		m.stopping = st
	}
	m.stopMu.Unlock()
	if first {
		// Nothing a service or a callback does can panic out of shutdown;
		// the deferred close keeps later callers from hanging all the same.
		defer close(st.done)
		st.report = m.shutdown(timeout)
		return st.report
	}
	<-st.done
	return st.report
}

// stopRun is the one shutdown a Manager does.
type stopRun struct {
	done   chan struct{} // closed once report is set
	report StopReport
}

// shutdown is the one shutdown a Manager does. From its first instant
// nothing starts (C3), and unless it is ordered nothing restarts.
func (m *Manager) shutdown(timeout time.Duration) StopReport {
	close(m.shut)
	m.mu.Lock()
	ordered, haltStop := m.ordered, m.haltStop
	m.mu.Unlock()
	if haltStop != nil {
		haltStop()
	}
	if ordered {
		return m.shutdownInOrder(timeout)
	}

	// Divide the budget among the Stoppers and call them, last registered
	// first.
	services, _ := m.snapshot()
	var stoppers []*service
	for _, s := range services {
		if s.stopper() != nil {
			stoppers = append(stoppers, s)
		}
	}
	rep := StopReport{Timeout: timeout, Start: m.clock.Now()}
	if n := len(stoppers); n > 0 {
		rep.Budget = timeout / time.Duration(n)
		rep.Stoppers = make([]StopResult, 0, n)
	}
	for i := len(stoppers) - 1; i >= 0; i-- {
		rep.Stoppers = append(rep.Stoppers, m.stopOne(stoppers[i], m.capped(rep, rep.Budget)))
	}
	m.flush(rep)
	rep.End = m.clock.Now()
	return rep
}

// capped returns budget, cut to what remains of a positive timeout. On
// virtual time a call is never later than Start + k*share, so the cap never
// binds; on a real clock it keeps the time the Manager itself spends from
// stretching the last deadlines past Start + timeout.
func (m *Manager) capped(rep StopReport, budget time.Duration) time.Duration {
	if rep.Timeout <= 0 {
		return budget
	}
	return min(budget, rep.Timeout-m.clock.Since(rep.Start))
}

// flush waits, while the shutdown's budget lasts, for its log lines and
// events to be delivered, so that a program that exits once Shutdown
// returns does not lose them to an ordinary handler.
func (m *Manager) flush(rep StopReport) {
	if idle := m.out.busy(); idle != nil {
		if left := m.capped(rep, rep.Timeout); left > 0 {
			wait(m.clock, left, idle, nil)
		}
	}
}

// stopOne calls s's Stop with the given budget and waits for it to return or
// for its deadline, whichever is first.
func (m *Manager) stopOne(s *service, budget time.Duration) StopResult {
	ctx, cancel := m.clock.WithTimeout(context.Background(), budget)
	defer cancel()
	c := m.startStop(ctx, s, m.clock.Now(), budget)
	schedpoint.Yield("stop.select", nil)
	select {
	case end := <-c.ended:
		return c.result(end)
	case <-ctx.Done():
		return c.result(c.atDeadline())
	}
}

// stopCall is one call of a service's Stop, under way on its own goroutine.
// One verdict per call, taken by whichever goroutine gets there first,
// decides whether it ended in time, so that an error is never both
// unreported and unlogged.
type stopCall struct {
	m        *Manager
	s        *service
	called   time.Time
	deadline time.Time
	budget   time.Duration
	ended    chan stopEnd // has room for the one value the call sends
	decided  atomic.Bool
}

// startStop calls s's Stop with ctx, whose deadline is called + budget.
func (m *Manager) startStop(ctx context.Context, s *service, called time.Time, budget time.Duration) *stopCall {
	c := &stopCall{m: m, s: s, called: called, deadline: called.Add(budget), budget: budget, ended: make(chan stopEnd, 1)}
	s.stopping(m.instant(called))
	m.post(Event{Kind: StopCalled, Service: s.name, Time: called, Duration: budget})
	go m.callStop(ctx, s, c.deadline, c.ended, &c.decided)
	return c
}

// atDeadline is how the call ended, as the Manager sees it when the
// deadline has passed: abandoned, unless the call took the verdict first.
func (c *stopCall) atDeadline() stopEnd {
	if c.decided.CompareAndSwap(false, true) {
		return stopEnd{late: true}
	}
	return <-c.ended // sent right after the call took the verdict
}

// result reports the call that ended so, and logs and posts what it did.
func (c *stopCall) result(end stopEnd) StopResult {
	m, s := c.m, c.s
	res := StopResult{Service: s.name, Called: c.called, Deadline: c.deadline}
	if end.late {
		res.Abandoned = true
		res.Outcome = OutcomeAbandoned
		res.Elapsed = max(c.budget, 0)
		res.Err = fmt.Errorf("lifecycle: Stop of service %q abandoned at its deadline (budget %v): %w",
			s.name, c.budget, context.DeadlineExceeded)
		s.enter(StateAbandoned, m.instant(m.clock.Now()))
		m.postLog(slog.LevelError, "lifecycle: Stop abandoned at its deadline",
			slog.String("service", s.name), slog.Duration("budget", c.budget))
		m.post(Event{Kind: StopAbandoned, Service: s.name, Time: m.clock.Now(), Duration: c.budget})
		return res
	}
	res.Elapsed = m.clock.Since(c.called)
	res.Outcome = end.outcome
	if end.err != nil {
		res.Err = fmt.Errorf("lifecycle: Stop of service %q: %w", s.name, end.err)
		e := end.ending
		m.out.post(func() { m.logStopFailure(s.name, e, "lifecycle: Stop failed") })
	}
	m.post(Event{Kind: StopEnded, Service: s.name, Time: c.called.Add(res.Elapsed),
		Outcome: end.outcome, Err: end.err, Duration: res.Elapsed})
	return res
}

// stopEnd is how one Stop call ended, as seen by its own goroutine.
type stopEnd struct {
	ending
	late bool // the call ended at or after its deadline, or was abandoned
}

// callStop runs on its own goroutine, so that a Stopper that blocks,
// panics or calls runtime.Goexit cannot hold up or take down the Manager.
// ended has room for the one value sent, so an abandoned call still ends.
//
// A call is late if it ends at or after its deadline as read on the
// Manager's Clock, whether or not its context says so yet: on a loaded
// machine the context's timer is delivered late.
func (m *Manager) callStop(ctx context.Context, s *service, deadline time.Time, ended chan<- stopEnd, decided *atomic.Bool) {
	if m.labels {
		pprof.SetGoroutineLabels(s.labelled())
	}
	finish := func(e ending) {
		schedpoint.Yield("stop.verdict", s)
		late := ctx.Err() != nil || !m.clock.Now().Before(deadline)
		if !decided.CompareAndSwap(false, true) {
			late = true // the Manager gave up on it first
		}
		schedpoint.Yield("stop.verdict.after", s)
		ended <- stopEnd{e, late}
		// The Manager has moved on from a late call: log how it ended.
		if late && e.err != nil {
			m.logStopFailure(s.name, e, "lifecycle: abandoned Stop failed after its deadline")
		}
	}
	finish(s.callStop(ctx, finish))
}

// callStop calls s's Stop once and returns how it ended; if Stop calls
// runtime.Goexit, it hands the ending to exit instead of returning.
func (s *service) callStop(ctx context.Context, exit func(ending)) (e ending) {
	defer func() {
		if e.outcome == OutcomeNone {
			e = contained(recover(), s.name)
			stopDidNotReturn(e, exit)
		}
	}()
	return stopEnding(s.stopper().Stop(ctx))
}

// stopDidNotReturn hands on the ending of a Stop call that did not return:
// a panic is contained (callStop returns it), a Goexit goes to exit, from
// the goroutine's last deferred call.
func stopDidNotReturn(e ending, exit func(ending)) {
	if e.outcome == OutcomeGoexit {
		exit(e)
	}
}

// post delivers e to the events function through the outbox.
func (m *Manager) post(e Event) {
	if m.events != nil {
		m.out.post(func() { m.emit(e) })
	}
}

// postLog logs through the outbox.
func (m *Manager) postLog(level slog.Level, msg string, attrs ...slog.Attr) {
	m.out.post(func() { m.logAttrs(level, msg, func() []slog.Attr { return attrs }) })
}

func (m *Manager) logStopFailure(name string, e ending, msg string) {
	m.logAttrs(slog.LevelError, msg, func() []slog.Attr {
		attrs := []slog.Attr{
			slog.String("service", name),
			slog.String("outcome", e.outcome.String()),
			slog.String("error", errorText(e.err)),
		}
		if pe, ok := e.err.(*PanicError); ok {
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
		return attrs
	})
}
