package lifecycle

import (
	"context"
	"errors"
	"fmt"
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
// Run ticks at once (or after the first-tick jitter of [WorkerJitter]) and
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
// both are recorded and the worker goes on ticking. A tick that returns an
// error after ctx is done is not recorded (it is most likely the
// cancellation). A tick that returns an error matching [ErrFinished] is
// recorded as a success and ends Run with that error, so the Manager does
// not restart the worker. A tick that panics or calls runtime.Goexit is
// recorded as a failure and then left to unwind: the panic reaches the
// Manager, which logs it with its stack and restarts the worker with
// backoff. A restarted worker starts a new schedule (first tick at once,
// after jitter) and keeps its health.
//
// Run returns ctx.Err() once ctx is done, at once if it is waiting for a
// tick, or as soon as the running tick returns. The function must honour
// ctx for Run to return promptly.
//
// A Worker is safe for concurrent use: Health may be called from any
// goroutine while Run runs.
type Worker struct {
	interval  time.Duration
	fn        func(context.Context) error
	clock     Clock
	jitterMax time.Duration
	rnd       func() float64
	tracker   Tracker
}

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

// WorkerJitter delays the first tick of every call of Run by
// time.Duration(float64(maxDelay) * rnd()), a delay in [0, maxDelay] that
// spreads out a fleet of workers started together; later ticks keep the
// interval from that first one. rnd must return values in [0, 1)
// (out-of-range values are clamped) and be safe for concurrent use if the
// Worker is run concurrently; nil uses the math/rand/v2 global source.
// Inject a fixed or seeded rnd to keep tests exact. WorkerJitter panics if
// maxDelay < 0. Without it, the first tick is immediate.
func WorkerJitter(maxDelay time.Duration, rnd func() float64) WorkerOption {
	if maxDelay < 0 {
		panic(fmt.Sprintf("lifecycle: WorkerJitter(%v): maxDelay must not be negative", maxDelay))
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	return func(w *Worker) { w.jitterMax, w.rnd = maxDelay, rnd }
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
	// Wait out the first-tick jitter; the grid starts where it ends.
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

// firstDelay is the first-tick jitter: max*rnd(), clamped to [0, max].
func (w *Worker) firstDelay() time.Duration {
	if w.jitterMax == 0 {
		return 0
	}
	d := time.Duration(float64(w.jitterMax) * w.rnd())
	return min(max(d, 0), w.jitterMax)
}

// tick calls fn once and records its outcome. It returns ctx.Err() if ctx
// is done when fn returns, the error matching ErrFinished if fn returned
// one, and nil otherwise.
func (w *Worker) tick(ctx context.Context) error {
	// A panic or Goexit is recorded, then left to unwind to the Manager.
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			w.tracker.Failure(fmt.Errorf("lifecycle: tick panicked: %v", v))
			panic(v)
		}
		w.tracker.Failure(ErrGoexit)
	}()
	err := w.fn(ctx)
	returned = true

	switch {
	case err == nil:
		w.tracker.Success()
	case ctx.Err() != nil:
		// Not a failure of the tick: shutdown cut it short.
	case errors.Is(err, ErrFinished):
		w.tracker.Success()
		return err
	default:
		w.tracker.Failure(err)
	}
	return ctx.Err()
}
