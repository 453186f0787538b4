package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Worker is a periodic background service: it calls a function on a fixed
// interval and keeps the outcome of every call (a tick) in a [Tracker]. It is
// a [Runner] and a [HealthReporter], so registered with a [Manager] it is
// supervised and listed by [Manager.Health]. Create one with [NewWorker].
//
// # Schedule
//
// Run ticks at once (or after the first-tick spread of [WorkerStartSpread]) and
// then on a grid: the k-th tick is due at first + k*interval, where first is
// when the first tick started. A tick that outlasts the interval does not
// make ticks pile up: the ticks whose time passed while it ran are skipped,
// and the next tick is the first grid time not before the end of the slow
// one (at once if the slow tick ended exactly on the grid). Ticks never run
// concurrently.
//
// # Outcomes
//
// A tick that returns nil is a success, one that returns an error a failure;
// both are recorded and the worker goes on ticking. Registered with a
// [Manager], a failed tick is logged at Error with the service name, the
// error and the count of consecutive failures. A tick that returns an
// error after ctx is done is not recorded (it is most likely the
// cancellation). A tick that returns an error matching [ErrFinished] is
// recorded as a success and ends Run with that error, so the Manager does
// not restart the worker. A tick that panics or calls runtime.Goexit is
// recorded as a failure and then left to unwind: the panic reaches the
// Manager, which logs it with its stack and restarts the worker with
// backoff. A restarted worker starts a new schedule (first tick at once,
// after its start spread) and keeps its health.
//
// Run returns ctx.Err() once ctx is done, at once if it is waiting for a
// tick, or as soon as the running tick returns. The function must honour
// ctx for Run to return promptly.
//
// A Worker is safe for concurrent use: Health may be called from any
// goroutine while Run runs.
type Worker struct {
	interval time.Duration
	fn       func(context.Context) error
	clock    Clock
	spread   time.Duration
	rnd      func() float64
	tracker  Tracker

	// Set by Manager.Register, before Run: where tick failures are logged,
	// and under which name.
	mgr  *Manager
	name string
}

// bind tells the Worker the Manager it is registered with, and its name
// there, so that its tick failures are logged as Run failures are.
func (w *Worker) bind(m *Manager, name string) { w.mgr, w.name = m, name }

// A WorkerOption configures a [Worker] at construction; see [NewWorker].
type WorkerOption func(*Worker)

// WorkerClock makes the Worker take its tick times, its waits and the times
// it records from c instead of package time. Use the Manager's clock, so
// that a fake clock controls both. It panics if c is nil.
func WorkerClock(c Clock) WorkerOption {
	if c == nil {
		panic("lifecycle: WorkerClock(nil)")
	}
	return func(w *Worker) { w.clock = c }
}

// WorkerStartSpread delays the first tick of every call of Run by
// time.Duration(float64(maxDelay) * rnd()), a delay in [0, maxDelay] that
// spreads out a fleet of workers started together; later ticks keep the
// interval from that first one. rnd must return values in [0, 1)
// (out-of-range values are clamped) and be safe for concurrent use if the
// Worker is run concurrently; nil uses the math/rand/v2 global source.
// Inject a fixed or seeded rnd to keep tests exact. WorkerStartSpread panics if
// maxDelay < 0. Without it, the first tick is immediate.
//
// It is not [WithJitter], which shortens restart delays by a fraction:
// this spreads first ticks over a span of time.
func WorkerStartSpread(maxDelay time.Duration, rnd func() float64) WorkerOption {
	if maxDelay < 0 {
		panic(fmt.Sprintf("lifecycle: WorkerStartSpread(%v): maxDelay must not be negative", maxDelay))
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	return func(w *Worker) { w.spread, w.rnd = maxDelay, rnd }
}

// NewWorker returns a Worker that calls fn every interval, on the real clock
// unless [WorkerClock] says otherwise. It panics if interval <= 0, fn is nil
// or an option is nil.
func NewWorker(interval time.Duration, fn func(ctx context.Context) error, opts ...WorkerOption) *Worker {
	if interval <= 0 {
		panic(fmt.Sprintf("lifecycle: NewWorker(%v): interval must be positive", interval))
	}
	if fn == nil {
		panic("lifecycle: NewWorker with a nil func")
	}
	w := &Worker{interval: interval, fn: fn, clock: realClock{}}
	for _, opt := range opts {
		if opt == nil {
			panic("lifecycle: NewWorker given a nil WorkerOption")
		}
		opt(w)
	}
	w.tracker.Clock = w.clock
	return w
}

// Health returns the outcome of the ticks so far, by the contract of
// [Tracker]. It implements [HealthReporter]; Name is left empty for the
// Manager to fill in.
func (w *Worker) Health() WorkerHealth { return w.tracker.Health() }

// Run ticks until ctx is done, as described on [Worker], and then returns
// ctx.Err(). It returns early only with an error matching [ErrFinished]
// from the function. It implements [Runner].
func (w *Worker) Run(ctx context.Context) error {
	// Wait out the first-tick spread; the grid starts where it ends.
	if !sleep(ctx, w.clock, w.firstDelay()) {
		return ctx.Err()
	}
	next := w.clock.Now()
	for {
		// Tick, then find the next grid time not before the tick's end.
		if err := w.tick(ctx); err != nil {
			return err
		}
		next = next.Add(w.interval)
		late := w.clock.Since(next)
		if late > 0 {
			skip := late / w.interval
			if late%w.interval != 0 {
				skip++
			}
			next = next.Add(skip * w.interval)
			late -= skip * w.interval
		}
		if !sleep(ctx, w.clock, -late) {
			return ctx.Err()
		}
	}
}

// firstDelay is the first-tick spread: max*r, with rnd's draw r clamped
// into [0, 1] (NaN to 0) before it is scaled, so that no draw can overflow
// the conversion to a Duration.
func (w *Worker) firstDelay() time.Duration {
	if w.spread == 0 {
		return 0
	}
	return min(time.Duration(float64(w.spread)*clampDraw(w.rnd())), w.spread)
}

// call calls fn once and returns how it ended. A panic or Goexit is
// recorded by w.failed and carried on: a panic is raised again with the
// same value, while the panicking frames are still on the stack, so that
// whoever recovers it further up sees the value and the stack as they
// were.
func (w *Worker) call(ctx context.Context) (e ending) {
	defer func() {
		if e.outcome == OutcomeNone {
			v := recover()
			e = contained(v, "")
			w.failed(e)
			if v != nil {
				panic(v)
			}
		}
	}()
	return runEnding(w.fn(ctx))
}

// tick calls fn once and records its outcome. It returns ctx.Err() if ctx
// is done when fn returns, the error matching ErrFinished if fn returned
// one, and nil otherwise. A panic or Goexit is recorded as a failure and
// left to unwind, with its value and stack as they were.
func (w *Worker) tick(ctx context.Context) error {
	e := w.call(ctx)
	switch {
	case e.outcome == OutcomeNil:
		w.tracker.Success()
	case ctx.Err() != nil:
		// Not a failure of the tick: shutdown cut it short.
	case e.outcome == OutcomeFinished:
		w.tracker.Success()
		return e.err
	default:
		w.tracker.Failure(e.err)
		w.logFailure(e.err)
	}
	return ctx.Err()
}

// logFailure logs a tick that returned an error, with the service name, if
// the Worker is registered with a Manager. (A tick's panic or Goexit
// reaches the Manager, which logs it as a failure of Run.)
func (w *Worker) logFailure(err error) {
	m := w.mgr
	if m == nil {
		return
	}
	m.logAttrs(slog.LevelError, "lifecycle: tick failed", func() []slog.Attr {
		return []slog.Attr{slog.String("service", w.name), slog.String("error", errorText(err)),
			slog.Int("consecutive_failures", w.tracker.Health().ConsecutiveFailures)}
	})
}

// failed records a tick that panicked or called runtime.Goexit.
func (w *Worker) failed(e ending) {
	if pe, ok := e.err.(*PanicError); ok {
		w.tracker.Failure(fmt.Errorf("lifecycle: tick panicked: %v", pe.Value))
		return
	}
	w.tracker.Failure(e.err)
}

// WorkerJitter is the old name of [WorkerStartSpread].
//
// Deprecated: use WorkerStartSpread; "jitter" is [WithJitter]'s word for
// shortening restart delays.
func WorkerJitter(maxDelay time.Duration, rnd func() float64) WorkerOption {
	return WorkerStartSpread(maxDelay, rnd)
}
