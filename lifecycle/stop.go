package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"
)

// StopReport is what a shutdown did: one [StopResult] per Stopper, in the
// order they were called.
type StopReport struct {
	Timeout  time.Duration // the budget given to Stop
	Budget   time.Duration // each Stopper's share: Timeout divided by the number of Stoppers
	Start    time.Time     // when Stop began, on the Manager's Clock
	End      time.Time     // when Stop returned
	Stoppers []StopResult  // in call order: reverse registration order
}

// StopResult is how one Stopper's Stop call ended.
type StopResult struct {
	Service  string        // the registration name
	Called   time.Time     // when Stop was called
	Deadline time.Time     // the deadline of the context Stop was given
	Elapsed  time.Duration // how long the Manager waited: until Stop returned, or until its deadline (0 if already passed)

	// Abandoned is set when Stop had not returned while its context was
	// live: the Manager moved on at the deadline and left the call running.
	Abandoned bool
	// Outcome is how Stop ended, when it was not abandoned.
	Outcome Outcome
	// Err is nil when Stop returned nil in time; otherwise it says what went
	// wrong, naming the service: it wraps the error Stop returned, a
	// *PanicError, ErrGoexit, or (when abandoned) context.DeadlineExceeded.
	Err error
}

// Err returns nil if every Stopper returned nil before its deadline, and
// otherwise an error joining every StopResult's Err.
func (r StopReport) Err() error {
	var errs []error
	for _, s := range r.Stoppers {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	return errors.Join(errs...)
}

// stopRun is the one shutdown a Manager does.
type stopRun struct {
	done   chan struct{} // closed when report is set
	report StopReport
}

// Stop shuts the services down: it calls Stop on every registered service
// that implements [Stopper], one at a time, in reverse registration order,
// and returns within timeout on the Manager's Clock whatever the Stoppers do.
//
// Each Stopper gets an equal share of timeout, timeout/n for n Stoppers, as
// the deadline of the context it is called with. The next Stopper is called
// as soon as the previous one returns or its deadline passes; a Stopper still
// running at its deadline is abandoned, left to finish on its own goroutine.
// With timeout <= 0 every Stopper is still called, with a context that has
// already expired. Errors, panics and abandoned calls are logged with the
// service name; use [Manager.Shutdown] to receive them.
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
func (m *Manager) Shutdown(timeout time.Duration) StopReport {
	// The first call does the work; any other waits for it.
	schedpoint.Yield("shutdown.first", nil)
	m.stopMu.Lock()
	if st := m.stopping; st != nil {
		m.stopMu.Unlock()
		<-st.done
		return st.report
	}
	st := &stopRun{done: make(chan struct{})}
	m.stopping = st
	m.stopMu.Unlock()
	defer close(st.done)

	// Divide the budget among the Stoppers and call them, last registered
	// first.
	services, _ := m.snapshot()
	var stoppers []*service
	for _, s := range services {
		if s.stopper != nil {
			stoppers = append(stoppers, s)
		}
	}
	rep := StopReport{Timeout: timeout, Start: m.clock.Now()}
	if n := len(stoppers); n > 0 {
		rep.Budget = timeout / time.Duration(n)
		rep.Stoppers = make([]StopResult, 0, n)
	}
	for i := len(stoppers) - 1; i >= 0; i-- {
		// On virtual time a call is never later than Start + k*share, so the
		// cap never binds; on a real clock it keeps the time the Manager
		// itself spends (logging, event callbacks) from stretching the last
		// deadlines past Start + timeout.
		budget := rep.Budget
		if timeout > 0 {
			budget = min(budget, timeout-m.clock.Since(rep.Start))
		}
		rep.Stoppers = append(rep.Stoppers, m.stopOne(stoppers[i], budget))
	}
	rep.End = m.clock.Now()
	st.report = rep
	return rep
}

// stopEnd is how one Stop call ended, as seen by its own goroutine.
type stopEnd struct {
	outcome Outcome
	err     error // as returned, or a *PanicError or ErrGoexit
	panic   any
	late    bool // the call's context was done when it ended
}

// stopOne calls s's Stop with the given budget and waits for it to return or
// for its deadline, whichever is first.
func (m *Manager) stopOne(s *service, budget time.Duration) StopResult {
	called := m.clock.Now()
	ctx, cancel := m.clock.WithTimeout(context.Background(), budget)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if m.events != nil {
		m.emit(Event{Kind: StopCalled, Service: s.name, Time: called, Duration: budget})
	}

	ended := make(chan stopEnd, 1)
	v := new(verdict)
	go m.callStop(ctx, deadline, s, ended, v)

	res := StopResult{Service: s.name, Called: called, Deadline: deadline}
	var end stopEnd
	schedpoint.Yield("stop.select", nil)
	select {
	case end = <-ended:
	case <-ctx.Done():
		// The deadline passed; the call may have ended in time an instant
		// before. One verdict, taken by whichever goroutine gets there first,
		// decides, so an error is never both unreported and unlogged.
		if v.CompareAndSwap(undecided, abandoned) {
			end.late = true
		} else {
			end = <-ended // sent right after the call claimed "in time"
		}
	}

	// A call that ended after its context expired overran: whether it
	// returned at the very instant of the deadline or after, it is reported
	// as abandoned, the same either way.
	if end.late {
		res.Abandoned = true
		res.Elapsed = max(budget, 0)
		res.Err = fmt.Errorf("lifecycle: Stop of service %q abandoned at its deadline (budget %v): %w",
			s.name, budget, context.DeadlineExceeded)
		m.logAttrs(slog.LevelError, "lifecycle: Stop abandoned at its deadline", func() []slog.Attr {
			return []slog.Attr{slog.String("service", s.name), slog.Duration("budget", budget)}
		})
		if m.events != nil {
			m.emit(Event{Kind: StopAbandoned, Service: s.name, Time: m.clock.Now(), Duration: budget})
		}
		return res
	}
	res.Elapsed = m.clock.Since(called)
	res.Outcome = end.outcome
	if end.err != nil {
		res.Err = fmt.Errorf("lifecycle: Stop of service %q: %w", s.name, end.err)
		m.logStopFailure(s.name, end, "lifecycle: Stop failed")
	}
	if m.events != nil {
		m.emit(Event{Kind: StopEnded, Service: s.name, Time: called.Add(res.Elapsed),
			Outcome: end.outcome, Err: end.err, Panic: end.panic, Duration: res.Elapsed})
	}
	return res
}

// A verdict on one Stop call: undecided until the call ends in time or
// the Manager gives up on it at the deadline, whichever happens first.
type verdict = atomic.Int32

const (
	undecided int32 = iota
	inTime
	abandoned
)

// callStop runs on its own goroutine, so that a Stopper that blocks,
// panics or calls runtime.Goexit cannot hold up or take down the Manager.
// ended has room for the one value sent, so an abandoned call still ends.
func (m *Manager) callStop(ctx context.Context, deadline time.Time, s *service, ended chan<- stopEnd, v *verdict) {
	var end stopEnd
	returned := false
	defer func() {
		if !returned {
			if v := recover(); v != nil {
				end = stopEnd{outcome: OutcomePanic, panic: v,
					err: &PanicError{Service: s.name, Value: v, Stack: debug.Stack()}}
			} else {
				end = stopEnd{outcome: OutcomeGoexit, err: ErrGoexit}
			}
		}
		schedpoint.Yield("stop.verdict", s)
		end.late = ctx.Err() != nil || !m.clock.Now().Before(deadline) || !v.CompareAndSwap(undecided, inTime)
		schedpoint.Yield("stop.verdict.after", s)
		ended <- end
		// The Manager has moved on from a late call: log how it ended.
		if end.late && end.err != nil {
			m.logStopFailure(s.name, end, "lifecycle: abandoned Stop failed after its deadline")
		}
	}()
	err := s.stopper.Stop(ctx)
	returned = true
	if err != nil {
		end = stopEnd{outcome: OutcomeError, err: err}
	}
}

func (m *Manager) logStopFailure(name string, end stopEnd, msg string) {
	m.logAttrs(slog.LevelError, msg, func() []slog.Attr {
		attrs := []slog.Attr{
			slog.String("service", name),
			slog.String("outcome", end.outcome.String()),
			slog.String("error", errorText(end.err)),
		}
		if pe, ok := end.err.(*PanicError); ok {
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
		return attrs
	})
}
