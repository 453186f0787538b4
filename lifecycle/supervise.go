package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"
)

// Run runs every registered service until ctx is done, restarting each one
// that fails, and returns once ctx is done and every Runner has returned.
// Services are started in registration order; none is started, or
// restarted, once ctx is done, so a ctx already done at the call starts
// nothing.
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

	// Start one supervise loop per service, in registration order. A loop
	// started later can be scheduled sooner, so each first waits for the
	// one before it to reach its first call of Run: the Runners are first
	// called in registration order whatever the scheduler does.
	var wg sync.WaitGroup
	initial := m.backoff.Load().initial
	var prev *sync.Mutex
	for _, s := range services {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sv := &supervisor{m: m, s: s, ctx: ctx, wg: &wg, delay: initial, after: prev}
		sv.turn.Lock() // until this loop reaches its first call
		prev = &sv.turn
		go sv.first()
	}

	// Wait for every Runner to return, and for ctx: services that finished
	// for good end their loops before ctx is done.
	wg.Wait()
	<-ctx.Done()
}

// supervisor is the state of one service's supervise loop. Only the loop's
// goroutine touches it (after a Goexit, the goroutine that resumes the
// loop), except turn, which the next service's loop locks to wait its turn.
type supervisor struct {
	m       *Manager
	s       *service
	turn    sync.Mutex  // held until the loop reaches its first call of Run
	after   *sync.Mutex // the previous service's turn, nil for the first
	ctx     context.Context
	wg      *sync.WaitGroup // Done once, when the loop ends
	attempt int             // attempts started so far
	delay   time.Duration   // the next restart delay, before jitter
	start   time.Time       // when the current attempt started
}

// result is how one call of Run ended.
type result struct {
	outcome Outcome
	err     error
	panic   any
	resumed bool // the loop goes on in another goroutine (runtime.Goexit)
}

// loop is the recipe of SPEC §2: run, and after each failure wait and run
// again, until ctx is done.
func (sv *supervisor) loop() {
	for sv.ctx.Err() == nil {
		r := sv.runOnce()
		if r.resumed {
			return // another goroutine carries the loop on
		}
		if !sv.afterAttempt(r) {
			break
		}
	}
	sv.wg.Done()
}

// first waits for the previous service to reach its first call of Run,
// passes the turn on, and runs the loop.
func (sv *supervisor) first() {
	if sv.after != nil {
		sv.after.Lock()
	}
	sv.turn.Unlock()
	sv.loop()
}

// runOnce calls Run once, turning a panic into a result. If Run calls
// runtime.Goexit, this goroutine cannot be saved: the deferred function
// carries the loop on in a new goroutine, and runOnce does not return.
func (sv *supervisor) runOnce() (r result) {
	m := sv.m
	schedpoint.Yield("supervise.run", sv)
	sv.attempt++
	sv.start = m.clock.Now()
	if m.events != nil {
		m.emit(Event{Kind: AttemptStarted, Service: sv.s.name, Time: sv.start, Attempt: sv.attempt})
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			r = result{outcome: OutcomePanic, panic: v,
				err: &PanicError{Service: sv.s.name, Value: v, Stack: debug.Stack()}}
			return
		}
		// runtime.Goexit is unwinding this goroutine. (Or, with
		// GODEBUG=panicnil=1, a recovered panic(nil): then this goroutine
		// returns and leaves the loop to the new one.)
		r = result{outcome: OutcomeGoexit, err: ErrGoexit, resumed: true}
		go sv.resume(r)
	}()
	err := sv.s.runner.Run(sv.ctx)
	// Classify before counting the call as returned: an error whose methods
	// panic (a typed nil pointer, say) is then contained like a panic in Run.
	r = classify(err)
	returned = true
	return r
}

func classify(err error) result {
	switch {
	case err == nil:
		return result{outcome: OutcomeNil}
	case errors.Is(err, ErrFinished):
		return result{outcome: OutcomeFinished, err: err}
	default:
		return result{outcome: OutcomeError, err: err}
	}
}

// resume carries the loop on after a Runner called runtime.Goexit.
func (sv *supervisor) resume(r result) {
	r.resumed = false
	if sv.afterAttempt(r) {
		sv.loop()
		return
	}
	sv.wg.Done()
}

// afterAttempt handles the end of an attempt: it reports true if the service
// is to be run again, after waiting out the restart delay.
func (sv *supervisor) afterAttempt(r result) bool {
	m := sv.m
	ran := m.clock.Since(sv.start)
	canceled := isDone(sv.ctx)
	if m.events != nil {
		m.emit(Event{Kind: AttemptEnded, Service: sv.s.name, Time: sv.start.Add(ran), Attempt: sv.attempt,
			Outcome: r.outcome, Err: r.err, Panic: r.panic, Duration: ran, Canceled: canceled})
	}

	// A Runner that ends once ctx is done has done its job, whatever it
	// returned; but a panic or Goexit is a bug worth a log line.
	if canceled {
		if r.outcome == OutcomePanic || r.outcome == OutcomeGoexit {
			sv.logFailure(r, ran, "lifecycle: service failed during shutdown", 0)
		}
		return false
	}
	if r.outcome == OutcomeFinished {
		m.logAttrs(slog.LevelInfo, "lifecycle: service finished", func() []slog.Attr {
			return []slog.Attr{slog.String("service", sv.s.name), slog.Int("attempt", sv.attempt), slog.Duration("ran", ran)}
		})
		return false
	}

	// A run of at least reset starts the doubling again. The setting is
	// read once per restart, so a SetBackoff made meanwhile applies from
	// here on: to the reset, and to the doubling after the wait.
	b := m.backoff.Load()
	if ran >= b.reset {
		sv.delay = b.initial
	}
	delay := m.jitter.apply(sv.delay)
	sv.logFailure(r, ran, "lifecycle: service failed; restarting", delay)
	if m.events != nil {
		m.emit(Event{Kind: BackingOff, Service: sv.s.name, Time: m.clock.Now(), Attempt: sv.attempt, Duration: delay})
	}

	// Wait, then double the delay for next time, up to maximum.
	schedpoint.Yield("supervise.sleep", sv)
	if !sleep(sv.ctx, m.clock, delay) {
		return false
	}
	sv.delay = min(double(sv.delay), b.maximum)
	return true
}

func (sv *supervisor) logFailure(r result, ran time.Duration, msg string, delay time.Duration) {
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
