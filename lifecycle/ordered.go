package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"
)

// ServiceStop is how one service's turn in an ordered shutdown ended (see
// [WithOrderedShutdown]).
type ServiceStop struct {
	Service  string    // the registration name
	Began    time.Time // when its turn began: its context cancelled, its Stop called
	Deadline time.Time // Began plus its share of the budget

	// RunEnded is when its supervise loop ended: its Run returned, or a
	// restart delay was cut short. It is zero if Run never started it, and
	// may be before Began for a service that finished or gave up.
	RunEnded time.Time
	// RunAbandoned is set when its Run had not returned before the
	// deadline, as read on the Manager's Clock: the shutdown moved on and
	// left it running.
	RunAbandoned bool

	// Stopper says whether the service implements [Stopper]; if so, Stop
	// says how its Stop call ended, and it is in [StopReport.Stoppers] too.
	Stopper bool
	Stop    StopResult

	Elapsed time.Duration // how long its turn took: until Run and Stop both ended, or the deadline

	// Err is nil if Run and Stop both ended in time and Stop returned nil;
	// otherwise it joins what went wrong, naming the service.
	Err error
}

// shutdownInOrder is the ordered shutdown: drain, then each service in
// reverse registration order, with an equal share of what is left of the
// budget.
func (m *Manager) shutdownInOrder(timeout time.Duration) StopReport {
	services, _ := m.snapshot()
	rep := StopReport{Timeout: timeout, Start: m.clock.Now()}

	// Drain: nothing is cancelled yet, but nothing starts and readiness
	// says not ready. It counts inside the budget.
	if d := min(m.drain, max(timeout, 0)); d > 0 {
		wait(m.clock, d, nil, nil)
		rep.Drain = d
	}

	if n := len(services); n > 0 {
		rep.Budget = (timeout - rep.Drain) / time.Duration(n)
		rep.Services = make([]ServiceStop, 0, n)
	}
	var timer *time.Timer // on the real clock, the one every turn waits on
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for i := len(services) - 1; i >= 0; i-- {
		ss := m.stopService(services[i], m.capped(rep, rep.Budget), &timer)
		rep.Services = append(rep.Services, ss)
		if ss.Stopper {
			rep.Stoppers = append(rep.Stoppers, ss.Stop)
		}
	}
	m.flush(rep)
	rep.End = m.clock.Now()
	return rep
}

// awaitRunAndStop is the wait of a turn whose service has a Stopper: it
// calls Stop with a context that expires at the turn's deadline, rem from
// now (the turn began at began with budget), and waits until Stop has
// ended and ended (nil: no Run to wait for) is closed, or until the
// deadline, recording how Stop ended in res.
func (m *Manager) awaitRunAndStop(s *service, res *ServiceStop, ended <-chan struct{}, began time.Time, budget, rem time.Duration) {
	ctx, cancel := m.clock.WithTimeout(context.Background(), rem)
	defer cancel()
	call := m.startStop(ctx, s, began, budget)
	stopped := call.ended

	schedpoint.Yield("stop.select", nil)
	// The Stop result is taken as soon as Stop ends, so that its Elapsed
	// and its events say when it returned, not when the turn ended.
	for ended != nil || stopped != nil {
		select {
		case <-ended:
			ended = nil
		case end := <-stopped:
			res.Stop, stopped = call.result(end), nil
		case <-ctx.Done():
			if stopped != nil {
				res.Stop, stopped = call.result(call.atDeadline()), nil
			}
			ended = nil
		}
	}
}

// awaitEnd returns a channel closed once s's loop is over, x being its
// svExtra in an ordered shutdown.
func (s *service) awaitEnd(x *svExtra) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.ended == nil {
		x.ended = make(chan struct{})
		if x.over {
			close(x.ended)
		}
	}
	return x.ended
}

// stopService is one service's turn: cancel its context and call its Stop,
// then wait until its Run and its Stop have both ended, or until the
// deadline. On the real clock, a turn without a Stop waits on *timer,
// which the shutdown's turns share.
func (m *Manager) stopService(s *service, budget time.Duration, timer **time.Timer) ServiceStop {
	began := m.clock.Now()
	res := ServiceStop{Service: s.name, Began: began, Deadline: began.Add(budget), Stopper: s.stopper() != nil}
	m.post(Event{Kind: ServiceStopping, Service: s.name, Time: began, Duration: budget})
	s.stopping(m.instant(began))

	// Cancel its Run, and call its Stop.
	m.mu.Lock()
	var x *svExtra // nil: Run has not set the service up
	if m.running && s.x.ordered() {
		x = s.x
	}
	m.mu.Unlock()
	var loopEnded, ended <-chan struct{} // nil: no Run to wait for
	if x != nil {
		x.sctx.cancel(context.Canceled)
		if x.launch.CompareAndSwap(unlaunched, claimed) {
			x = nil // Run had not started its loop, and now never will
		} else {
			loopEnded = s.awaitEnd(x)
			ended = loopEnded
		}
	}
	// What is left until the deadline: time spent since the turn began
	// (on a clock that jumps, or a busy machine) comes off the wait.
	rem := budget - m.clock.Since(began)
	if s.stopper() == nil {
		// Wait for Run alone, or for the deadline: a timer, where a
		// Stopper's turn needs a context that expires then (most of a
		// turn's cost, BenchmarkStartCancelOrderedPaired).
		schedpoint.Yield("stop.select", nil)
		// (No wait of 0 or less: a mock clock may fire it only once
		// advanced.)
		if ended != nil && rem > 0 {
			if m.real {
				waitReusing(timer, rem, ended)
			} else {
				wait(m.clock, rem, ended, nil)
			}
		}
	} else {
		m.awaitRunAndStop(s, &res, ended, began, budget, rem)
	}

	// Judge by the Clock: a Run that ended at or after the deadline was
	// still running at it, however late the deadline's timer came.
	if x != nil {
		select {
		case <-loopEnded:
			// Still running when its turn began (a loop that ended before
			// has nothing to wait for, even when a negative budget puts
			// the deadline before the turn), and not ended before the
			// deadline.
			s.mu.Lock()
			res.RunEnded = x.endedAt
			s.mu.Unlock()
			res.RunAbandoned = !res.RunEnded.IsZero() && !res.RunEnded.Before(began) && !res.RunEnded.Before(res.Deadline)
		default:
			res.RunAbandoned = true
		}
	}
	var errs []error
	if res.RunAbandoned {
		s.enter(StateAbandoned, m.instant(m.clock.Now()))
		errs = append(errs, fmt.Errorf("lifecycle: Run of service %q abandoned at its deadline (budget %v): %w",
			s.name, budget, context.DeadlineExceeded))
		m.postLog(slog.LevelError, "lifecycle: Run abandoned at its deadline",
			slog.String("service", s.name), slog.Duration("budget", budget))
	}
	if res.Stopper {
		errs = append(errs, res.Stop.Err)
	}
	res.Err = errors.Join(errs...)

	res.Elapsed = max(budget, 0)
	if !res.RunAbandoned && !res.Stop.Abandoned {
		res.Elapsed = m.clock.Since(began)
	}
	outcome := OutcomeNil
	if res.RunAbandoned || res.Stop.Abandoned {
		outcome = OutcomeAbandoned
	}
	m.post(Event{Kind: ServiceStopped, Service: s.name, Time: began.Add(res.Elapsed), Duration: res.Elapsed, Outcome: outcome})
	return res
}
