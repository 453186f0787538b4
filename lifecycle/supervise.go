package lifecycle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Run runs every registered service until ctx is done, restarting each one
// that fails, and returns once ctx is done and every Runner has returned.
//
// Run starts one goroutine per service, in registration order; which Runner
// is first called first is up to the scheduler. Every call of a Runner is
// made after a check that found ctx live, and once a service's goroutine has
// seen ctx done it starts nothing more: a ctx already done at the call
// starts nothing, and a call whose check came just before cancel() may
// begin while cancel() returns, with a ctx that is already done.
//
// A Runner's failure (an error, a nil return, a panic or runtime.Goexit while
// ctx is live) is logged with the service name and the service is restarted
// after a backoff delay (see [Manager.SetBackoff]); nothing a Runner does can
// take the Manager down. Run does not return before ctx is done, even if
// every service has finished for good (see [ErrFinished]).
//
// Run may be called only once; a second call panics. Register panics once
// Run has been called.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		panic("lifecycle: Manager.Run called twice")
	}
	m.running = true
	services := m.services
	m.mu.Unlock()

	// Start one supervise loop per service, in registration order.
	var wg sync.WaitGroup
	initial := m.backoff.Load().initial
	for _, s := range services {
		if isDone(ctx) {
			break
		}
		wg.Add(1)
		sv := &supervisor{m: m, s: s, ctx: ctx, wg: &wg, delay: initial}
		go sv.loop(nil)
	}

	// Wait for every Runner to return, and for ctx: services that finished
	// for good end their loops before ctx is done.
	wg.Wait()
	<-ctx.Done()
}

// supervisor is the state of one service's supervise loop. Only the loop's
// goroutine touches it (after a Goexit, the goroutine that carries the
// loop on).
type supervisor struct {
	m       *Manager
	s       *service
	ctx     context.Context
	wg      *sync.WaitGroup // Done once, when the loop ends
	attempt int             // attempts started so far
	delay   time.Duration   // the next restart delay, before jitter
	start   time.Time       // when the current attempt started
}

// loop is the recipe of supervision (docs/contract.md, C2): run, and after
// each failure wait and run again, until ctx is done. If a Runner calls
// runtime.Goexit, its goroutine cannot be saved: the loop goes on in a new
// goroutine, given the attempt's ending as after. Either way, the loop ends
// here, once.
func (sv *supervisor) loop(after *ending) {
	for {
		var e ending
		if after != nil {
			e, after = *after, nil
		} else {
			if isDone(sv.ctx) {
				break
			}
			e = sv.runOnce()
		}
		if !sv.afterAttempt(e) {
			break
		}
	}
	sv.wg.Done()
}

// runOnce calls Run once and returns how it ended. If Run calls
// runtime.Goexit, runOnce does not return: a new goroutine carries the loop
// on.
func (sv *supervisor) runOnce() ending {
	m := sv.m
	sv.attempt++
	sv.start = m.clock.Now()
	if m.events != nil {
		m.emit(Event{Kind: AttemptStarted, Service: sv.s.name, Time: sv.start, Attempt: sv.attempt})
	}
	return guard(sv.s.name, sv.call, sv.goexited, false)
}

func (sv *supervisor) call() ending { return runEnding(sv.s.runner.Run(sv.ctx)) }

func (sv *supervisor) goexited(e ending) { go sv.loop(&e) }

// afterAttempt handles the end of an attempt: it reports true if the service
// is to be run again, after waiting out the restart delay.
func (sv *supervisor) afterAttempt(e ending) bool {
	m := sv.m
	ran := m.clock.Since(sv.start)
	canceled := isDone(sv.ctx)
	if m.events != nil {
		m.emit(Event{Kind: AttemptEnded, Service: sv.s.name, Time: sv.start.Add(ran), Attempt: sv.attempt,
			Outcome: e.outcome, Err: e.err, Duration: ran, Canceled: canceled})
	}

	// A Runner that ends once ctx is done has done its job, whatever it
	// returned; but a panic or Goexit is a bug worth a log line.
	if canceled {
		if e.outcome == OutcomePanic || e.outcome == OutcomeGoexit {
			sv.logFailure(e, ran, "lifecycle: service failed during shutdown", 0)
		}
		return false
	}
	if e.outcome == OutcomeFinished {
		m.logAttrs(slog.LevelInfo, "lifecycle: service finished", func() []slog.Attr {
			return []slog.Attr{slog.String("service", sv.s.name), slog.Int("attempt", sv.attempt), slog.Duration("ran", ran)}
		})
		return false
	}

	// The setting is read once per failure, so a SetBackoff made meanwhile
	// applies from here on: to the reset, and to the doubling.
	wait, kept := m.backoff.Load().next(sv.delay, ran)
	wait = m.jitter.apply(wait)
	sv.logFailure(e, ran, "lifecycle: service failed; restarting", wait)
	if m.events != nil {
		m.emit(Event{Kind: BackingOff, Service: sv.s.name, Time: m.clock.Now(), Attempt: sv.attempt, Duration: wait})
	}
	if !sleep(sv.ctx, m.clock, wait) {
		return false
	}
	sv.delay = kept
	return true
}

func (sv *supervisor) logFailure(r ending, ran time.Duration, msg string, delay time.Duration) {
	sv.m.logAttrs(slog.LevelError, msg, func() []slog.Attr {
		attrs := []slog.Attr{
			slog.String("service", sv.s.name),
			slog.Int("attempt", sv.attempt),
			slog.String("outcome", r.outcome.String()),
			slog.Duration("ran", ran),
		}
		if r.err != nil {
			attrs = append(attrs, slog.String("error", errorText(r.err)))
		}
		if delay > 0 {
			attrs = append(attrs, slog.Duration("restart_in", delay))
		}
		if pe, ok := r.err.(*PanicError); ok {
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
		return attrs
	})
}

// isDone reports whether ctx is done, as ctx.Err() != nil does, but without
// a lock: once a cancelCtx is cancelled, its Err receives from Done, which
// locks the channel, and every service that ends at one cancellation would
// contend for that lock (BenchmarkStartCancel, docs/performance.md).
func isDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
