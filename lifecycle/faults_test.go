package lifecycle_test

// The faults found by running the library on the real clock under load
// (issue 7), each reproduced here on virtual time with a hand-made Clock,
// context or handler that does what a loaded machine or a hostile callback
// does. Each test failed before its fix.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// lagClock is the bubble's clock, except that the contexts it makes are
// done lag after their deadline: the deadline's timer is delivered late, as
// on a machine whose Ps are busy. Now and Deadline tell the truth.
type lagClock struct{ lag time.Duration }

func (lagClock) Now() time.Time                         { return time.Now() }
func (lagClock) Since(t time.Time) time.Duration        { return time.Since(t) }
func (lagClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c lagClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(d)
	ctx, cancel := context.WithTimeout(parent, d+c.lag)
	return lagCtx{ctx, deadline}, cancel
}

type lagCtx struct {
	context.Context
	deadline time.Time
}

func (c lagCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func TestStop_OverrunJudgedByTheClockNotTheTimer(t *testing.T) {
	// Fault 1: a Stopper that ignores its context and returns 3ms after
	// its 2ms deadline, while the deadline's timer is delivered 10ms late,
	// was reported in time with Elapsed 5ms. Still running at its deadline
	// by the Manager's Clock, it is abandoned.
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(lifecycle.WithClock(lagClock{10 * time.Millisecond}), quiet)
		m.Register("db", stopFunc(func(context.Context) error {
			time.Sleep(5 * time.Millisecond) // keeps the CPU; ignores ctx
			return nil
		}))
		r := m.Shutdown(2 * time.Millisecond).Stoppers[0]
		if !r.Abandoned || !errors.Is(r.Err, context.DeadlineExceeded) || r.Elapsed != 2*time.Millisecond {
			t.Errorf("got Abandoned=%v Err=%v Elapsed=%v; want abandoned at its 2ms deadline",
				r.Abandoned, r.Err, r.Elapsed)
		}
		if r.Outcome != lifecycle.OutcomeAbandoned {
			t.Errorf("Outcome %v; want %v", r.Outcome, lifecycle.OutcomeAbandoned)
		}
	})
}

// panicHandler is a slog.Handler that panics on every record.
type panicHandler struct{ slog.Handler }

func (panicHandler) Enabled(context.Context, slog.Level) bool { return true }
func (panicHandler) Handle(context.Context, slog.Record) error {
	panic("log handler bug")
}

func TestLogHandlerPanic_SupervisionGoesOn(t *testing.T) {
	// Fault 2: a failed attempt's log line panicked on the supervise
	// goroutine and killed the process. Supervision must go on.
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(lifecycle.WithLogger(slog.New(panicHandler{})))
		m.SetBackoff(time.Second, time.Second, time.Hour)
		var calls atomic.Int32
		m.Register("flaky", runFunc(func(ctx context.Context) error {
			if calls.Add(1) <= 2 {
				return errors.New("boom")
			}
			<-ctx.Done()
			return nil
		}))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		m.Run(ctx)
		if got := calls.Load(); got != 3 {
			t.Errorf("Run called %d times; want 3 (two failures, each restarted)", got)
		}
	})
}

func TestLogHandlerPanic_ShutdownReportIsWhole(t *testing.T) {
	// Fault 2: during Shutdown the panic reached the caller, and a later
	// Shutdown got an empty report: the Stopper's error was lost. Every
	// caller gets the whole report, and the caller's goroutine sees no
	// panic.
	for _, tc := range []struct {
		name string
		opts []lifecycle.Option
	}{
		{"logger", []lifecycle.Option{lifecycle.WithLogger(slog.New(panicHandler{}))}},
		{"events", []lifecycle.Option{quiet, lifecycle.WithEvents(func(lifecycle.Event) { panic("events bug") })}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := lifecycle.NewManager(tc.opts...)
				boom := errors.New("flush failed")
				m.Register("db", stopFunc(func(context.Context) error { return boom }))
				first := m.Shutdown(time.Second)
				later := m.Shutdown(time.Second)
				for i, rep := range []lifecycle.StopReport{first, later} {
					if rep.Timeout != time.Second || len(rep.Stoppers) != 1 || !errors.Is(rep.Err(), boom) {
						t.Errorf("report %d: %+v; want the whole report with the Stopper's error", i, rep)
					}
				}
			})
		})
	}
}

func TestEventsPanic_SupervisionGoesOn(t *testing.T) {
	// A panicking events function is a callback bug like a panicking log
	// handler: it must not kill the process or stop supervision.
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet, lifecycle.WithEvents(func(lifecycle.Event) { panic("metrics bug") }))
		m.SetBackoff(time.Second, time.Second, time.Hour)
		var calls atomic.Int32
		m.Register("flaky", runFunc(func(ctx context.Context) error {
			if calls.Add(1) <= 2 {
				panic("service bug")
			}
			<-ctx.Done()
			return nil
		}))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		m.Run(ctx)
		if got := calls.Load(); got != 3 {
			t.Errorf("Run called %d times; want 3", got)
		}
	})
}

// slowHandler is a slog.Handler that takes 20ms (virtual) per record.
type slowHandler struct{ slog.Handler }

func (slowHandler) Enabled(context.Context, slog.Level) bool { return true }
func (slowHandler) Handle(context.Context, slog.Record) error {
	time.Sleep(20 * time.Millisecond)
	return nil
}

func TestStop_SlowLogHandlerDoesNotStretchStop(t *testing.T) {
	// Fault 3: with a handler taking 20ms a record, Shutdown(50ms) returned
	// up to 163ms late: each abandonment was logged on the Manager's
	// goroutine. Stop never overruns its timeout, whatever the handler or
	// the events function does.
	for _, n := range []int{1, 5, 10} {
		for _, tc := range []struct {
			name string
			opt  lifecycle.Option
		}{
			{"logger", lifecycle.WithLogger(slog.New(slowHandler{}))},
			{"events", lifecycle.WithEvents(func(lifecycle.Event) { time.Sleep(20 * time.Millisecond) })},
		} {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				m := lifecycle.NewManager(quiet, tc.opt)
				for i := range n {
					m.Register(string(rune('a'+i)), stopFunc(func(context.Context) error { <-release; return errors.New("late") }))
				}
				start := time.Now()
				rep := m.Shutdown(50 * time.Millisecond)
				if took := time.Since(start); took > 50*time.Millisecond {
					t.Errorf("%s, %d abandoned: Shutdown took %v; want at most its 50ms timeout", tc.name, n, took)
				}
				if len(rep.Stoppers) != n {
					t.Errorf("%d results; want %d", len(rep.Stoppers), n)
				}
				close(release)
				time.Sleep(time.Second) // virtual: the late calls and the slow handler finish
			})
		}
	}
}

func TestWithJitter_FractionOneIsRejected(t *testing.T) {
	// Fault 4: WithJitter(1, rnd) with an rnd returning 1 made every delay
	// 0: a busy loop. A fraction below 1 bounds every wait below by
	// (1-fraction)*d whatever rnd returns.
	msg := panicMessage(t, func() { lifecycle.WithJitter(1, func() float64 { return 1 }) })
	if !strings.HasPrefix(msg, "lifecycle:") {
		t.Errorf("panic %q; want a lifecycle: message", msg)
	}
}

func TestHealthHandler_BlockedReporterBoundedByRequest(t *testing.T) {
	// Fault 6: the handler blocked forever when one reporter blocked. A
	// request whose context ends first gets 503.
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := lifecycle.NewManager(quiet)
		m.Register("stuck", healthFunc(func() lifecycle.WorkerHealth { <-release; return lifecycle.WorkerHealth{} }))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/workers", nil)
		rec := httptest.NewRecorder()
		var wg sync.WaitGroup
		wg.Go(func() { lifecycle.HealthHandler(m).ServeHTTP(rec, req) })
		time.Sleep(time.Second)
		synctest.Wait()
		close(release) // whatever the handler did, let the reporter go
		wg.Wait()
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d; want 503 once the request's context ended", rec.Code)
		}
	})
}
