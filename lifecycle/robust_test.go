package lifecycle_test

// Failures that only real scheduling or hostile values produce: found in
// review, each test written to fail before its fix.

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// stopCtxClock is the bubble's clock (package time, virtual inside a
// synctest bubble), except that it hands out the context ctx makes for
// each Stop call.
type stopCtxClock struct {
	ctx func(parent context.Context, deadline time.Time) context.Context
}

func (stopCtxClock) Now() time.Time                         { return time.Now() }
func (stopCtxClock) Since(t time.Time) time.Duration        { return time.Since(t) }
func (stopCtxClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (k stopCtxClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return k.ctx(parent, time.Now().Add(d)), func() {}
}

// raceCtx is a Stop context whose deadline passes in the instant after
// the Stopper's goroutine first asks Err (and is told it is live), and
// which lets the Manager run before that goroutine goes on: the race a
// real clock can produce at a tiny budget.
type raceCtx struct {
	context.Context
	deadline time.Time
	done     chan struct{}
	mu       sync.Mutex
	err      error
	asked    bool
}

func (c *raceCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *raceCtx) Done() <-chan struct{}       { return c.done }
func (c *raceCtx) Err() error {
	c.mu.Lock()
	err, first := c.err, !c.asked
	c.asked = true
	c.mu.Unlock()
	if first && err == nil {
		c.mu.Lock()
		c.err = context.DeadlineExceeded
		c.mu.Unlock()
		close(c.done)
		synctest.Wait() // the Manager sees the deadline and acts on it
	}
	return err
}

func TestStop_ErrorNotLostWhenDeadlineRacesReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		clk := stopCtxClock{func(parent context.Context, deadline time.Time) context.Context {
			return &raceCtx{Context: parent, deadline: deadline, done: make(chan struct{})}
		}}
		m := lifecycle.NewManager(lifecycle.WithClock(clk),
			lifecycle.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		boom := errors.New("BOOM from Stop")
		m.Register("db", stopFunc(func(context.Context) error { return boom }))

		rep := m.Shutdown(time.Second)
		time.Sleep(time.Second) // virtual: the abandoned call finishes

		// Either verdict is allowed at the instant of the deadline, but
		// the error must reach the caller: in the report, or in a log.
		r := rep.Stoppers[0]
		if !errors.Is(r.Err, boom) && !strings.Contains(logs.String(), "BOOM") {
			t.Errorf("report %+v and logs %q: the Stopper's error is in neither", r, logs.String())
		}
	})
}

// lateCtx is a Stop context whose deadline has passed (Err reports it)
// while the Manager has not yet seen Done close: the window a real clock
// opens between a deadline passing and its waiters running.
type lateCtx struct {
	context.Context
	deadline time.Time
	done     chan struct{}
	mu       sync.Mutex
	err      error
}

func (c *lateCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *lateCtx) Done() <-chan struct{}       { return c.done }
func (c *lateCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *lateCtx) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = context.DeadlineExceeded
}

func TestStop_ReturnAfterDeadlinePassedIsAbandoned(t *testing.T) {
	// The Stopper returns once its deadline has passed, before the Manager
	// has noticed: its context was done when it returned, so it is
	// reported abandoned (docs/semantics.md), whichever goroutine is first.
	synctest.Test(t, func(t *testing.T) {
		ctx := &lateCtx{done: make(chan struct{})}
		defer close(ctx.done)
		clk := stopCtxClock{func(parent context.Context, deadline time.Time) context.Context {
			ctx.Context, ctx.deadline = parent, deadline
			return ctx
		}}
		m := lifecycle.NewManager(lifecycle.WithClock(clk), quiet)
		m.Register("db", stopFunc(func(context.Context) error { ctx.expire(); return nil }))

		rep := m.Shutdown(time.Second)
		if r := rep.Stoppers[0]; !r.Abandoned || !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Errorf("result %+v; want abandoned, with an error matching context.DeadlineExceeded", r)
		}
	})
}

// wakeLateCtx is a Stop context whose deadline passes just as the Manager
// starts waiting: its Done first lets the Stopper's goroutine finish (in
// time, with the context live), then expires. The Manager's select then
// finds both the result and Done ready and picks either at random.
type wakeLateCtx struct {
	context.Context
	deadline time.Time
	done     chan struct{}
	mu       sync.Mutex
	err      error
}

func (c *wakeLateCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *wakeLateCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *wakeLateCtx) Done() <-chan struct{} {
	synctest.Wait() // the Stopper returns, and its goroutine ends
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = context.DeadlineExceeded
		close(c.done)
	}
	return c.done
}

func TestStop_InTimeVerdictSurvivesLateWakeup(t *testing.T) {
	// The call ended while its context was live, so it is in time, and its
	// error is reported, even when the Manager wakes for the deadline.
	// Each round the Manager's select picks the deadline half the time:
	// a Manager that trusts the wake-up fails all 64 with odds 2^-64.
	for range 64 {
		synctest.Test(t, func(t *testing.T) {
			clk := stopCtxClock{func(parent context.Context, deadline time.Time) context.Context {
				return &wakeLateCtx{Context: parent, deadline: deadline, done: make(chan struct{})}
			}}
			m := lifecycle.NewManager(lifecycle.WithClock(clk), quiet)
			boom := errors.New("BOOM from Stop")
			m.Register("db", stopFunc(func(context.Context) error { return boom }))

			r := m.Shutdown(time.Second).Stoppers[0]
			if r.Abandoned || !errors.Is(r.Err, boom) {
				t.Fatalf("result %+v; want in time, with the Stopper's error", r)
			}
		})
	}
}

// nilErr is an error type whose methods dereference the receiver, so a
// typed nil *nilErr returned as an error panics when formatted.
type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }
func (e *nilErr) Unwrap() error { return errors.New(e.msg) }

// nilMsgErr panics only when formatted: errors.Is passes it by.
type nilMsgErr struct{ msg string }

func (e *nilMsgErr) Error() string { return e.msg }

func TestManager_ErrorWhoseMethodsPanicIsContained(t *testing.T) {
	var typedNil *nilErr
	var typedNilMsg *nilMsgErr
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		m := lifecycle.NewManager(lifecycle.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		calls := 0
		m.Register("run", runFunc(func(ctx context.Context) error {
			switch calls++; calls {
			case 1:
				return typedNil // its Unwrap panics as Run's error is classified
			case 2:
				return typedNilMsg // its Error panics as the failure is logged
			}
			<-ctx.Done()
			return nil
		}))
		m.Register("stop", stopFunc(func(context.Context) error { return typedNil }))
		m.Register("health", healthFunc(func() lifecycle.WorkerHealth { panic(typedNil) }))

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Run(ctx)
		if calls != 3 {
			t.Errorf("Run called %d times; want 3 (two failures restarted)", calls)
		}
		h := m.Health()
		if len(h) != 1 || !strings.Contains(h[0].LastError, "panicked") {
			t.Errorf("Health() = %+v; want the health entry saying it panicked", h)
		}
		rep := m.Shutdown(time.Second)
		if len(rep.Stoppers) != 1 || rep.Stoppers[0].Service != "stop" || rep.Stoppers[0].Err == nil {
			t.Errorf("report %+v; want the Stopper's error reported", rep.Stoppers)
		}
		for _, want := range []string{`"service":"run"`, `"service":"stop"`, `"service":"health"`} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("logs lack %s:\n%s", want, logs.String())
			}
		}
	})
}

// healthFunc is an idle Runner whose Health is the function.
type healthFunc func() lifecycle.WorkerHealth

func (healthFunc) Run(ctx context.Context) error    { <-ctx.Done(); return nil }
func (f healthFunc) Health() lifecycle.WorkerHealth { return f() }

func TestStop_SlowCallbacksDoNotStretchDeadlines(t *testing.T) {
	// Time the Manager spends in its own logging and event callbacks must
	// not push a Stopper's deadline past Start + timeout.
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer time.Sleep(5 * time.Second) // virtual: the slow sink finishes
		defer close(release)
		m := lifecycle.NewManager(quiet, lifecycle.WithEvents(func(e lifecycle.Event) {
			if e.Kind == lifecycle.StopAbandoned {
				time.Sleep(time.Second) // a slow metrics sink
			}
		}))
		for _, name := range []string{"a", "b", "c"} {
			m.Register(name, stopFunc(func(context.Context) error { <-release; return nil }))
		}
		rep := m.Shutdown(3 * time.Second)
		limit := rep.Start.Add(rep.Timeout)
		for _, r := range rep.Stoppers {
			if r.Deadline.After(limit) {
				t.Errorf("%s: deadline %v after Start + timeout %v", r.Service, r.Deadline.Sub(rep.Start), rep.Timeout)
			}
		}
	})
}

// tickingClock moves 1ms on at every reading, as a real clock moves while
// the Manager works; its contexts are package context's (real timers).
type tickingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}
func (c *tickingClock) Since(t time.Time) time.Duration        { return c.Now().Sub(t) }
func (c *tickingClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c *tickingClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

func TestStop_ZeroTimeoutBudgetsStayZeroOnAMovingClock(t *testing.T) {
	// Capping budgets at what remains of a positive timeout must not turn
	// Stop(0)'s budgets of 0 negative as the clock moves.
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var budgets []time.Duration
		m := lifecycle.NewManager(lifecycle.WithClock(&tickingClock{}), quiet, lifecycle.WithEvents(func(e lifecycle.Event) {
			if e.Kind == lifecycle.StopCalled {
				mu.Lock()
				budgets = append(budgets, e.Duration)
				mu.Unlock()
			}
		}))
		for _, name := range []string{"a", "b", "c"} {
			m.Register(name, stopFunc(func(context.Context) error { return nil }))
		}
		m.Shutdown(0)
		synctest.Wait()
		if want := []time.Duration{0, 0, 0}; !slices.Equal(budgets, want) {
			t.Errorf("StopCalled budgets %v; want %v", budgets, want)
		}
	})
}
