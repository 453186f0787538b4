package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// extEpoch is virtual 0 in the tests of the extensions. It is far from the
// synctest bubble's own start (2000-01-01), so a time taken from package
// time instead of the injected clock shows.
var extEpoch = time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)

// extQuiet drops the Manager's log output.
var extQuiet = lifecycle.WithLogger(slog.New(slog.DiscardHandler))

// workOnClock blocks for d on clk, or until ctx is done (then it returns
// ctx.Err()), without leaving a timer pending on clk.
func workOnClock(ctx context.Context, clk *fakeclock.Clock, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	ch, stop := clk.NewTimer(d)
	defer stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancelOnClock returns a context that clk cancels at virtual time at.
func cancelOnClock(t *testing.T, clk *fakeclock.Clock, at time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clk.AfterFunc(at-clk.Since(extEpoch), cancel)
	return ctx
}

// workerRun is how one call of Worker.Run ended.
type workerRun struct {
	err      error
	panicked any
	goexit   bool
	ended    time.Duration // virtual time when Run ended
}

// driveWorker calls w.Run(ctx) on a goroutine of the bubble and drives clk
// until it ends.
func driveWorker(clk *fakeclock.Clock, w *lifecycle.Worker, ctx context.Context) workerRun {
	var r workerRun
	done := make(chan struct{})
	go func() {
		defer close(done)
		returned := false
		defer func() {
			r.ended = clk.Since(extEpoch)
			if !returned {
				if r.panicked = recover(); r.panicked == nil {
					r.goexit = true
				}
			}
		}()
		r.err = w.Run(ctx)
		returned = true
	}()
	clk.Drive(done)
	return r
}

// tickLog is a tick function that logs the virtual time of each tick and
// then works for works[i] (the last value repeats) and returns errs[i] (nil
// past the end).
type tickLog struct {
	clk    *fakeclock.Clock
	works  []time.Duration
	errs   []error
	starts []time.Duration
	health []lifecycle.WorkerHealth // the worker's health as each tick starts
	w      *lifecycle.Worker
}

func (tk *tickLog) tick(ctx context.Context) error {
	i := len(tk.starts)
	tk.starts = append(tk.starts, tk.clk.Since(extEpoch))
	if tk.w != nil {
		tk.health = append(tk.health, tk.w.Health())
	}
	var work time.Duration
	if n := len(tk.works); n > 0 {
		work = tk.works[min(i, n-1)]
	}
	if err := workOnClock(ctx, tk.clk, work); err != nil {
		return err
	}
	if i < len(tk.errs) {
		return tk.errs[i]
	}
	return nil
}

func tickSecs(ss ...float64) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = time.Duration(s * float64(time.Second))
	}
	return out
}

func TestWorker_FirstTickImmediateThenOnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk}
		w := lifecycle.NewWorker(10*time.Second, tk.tick, lifecycle.WorkerClock(clk))

		r := driveWorker(clk, w, cancelOnClock(t, clk, 35*time.Second))

		if want := tickSecs(0, 10, 20, 30); !slices.Equal(tk.starts, want) {
			t.Errorf("tick starts %v; want %v", tk.starts, want)
		}
		if !errors.Is(r.err, context.Canceled) || r.ended != 35*time.Second {
			t.Errorf("Run returned %v at %v; want context.Canceled at 35s", r.err, r.ended)
		}
		if n := clk.Pending(); n != 0 {
			t.Errorf("%d timers pending after Run returned; want 0 (a cancelled wait must stop its timer)", n)
		}
	})
}

func TestWorker_WorkShiftsNothingWithinInterval(t *testing.T) {
	// Ticks stay on the grid whatever the work takes below the interval.
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk, works: tickSecs(3, 9.999, 0, 7)}
		w := lifecycle.NewWorker(10*time.Second, tk.tick, lifecycle.WorkerClock(clk))

		driveWorker(clk, w, cancelOnClock(t, clk, 45*time.Second))

		if want := tickSecs(0, 10, 20, 30, 40); !slices.Equal(tk.starts, want) {
			t.Errorf("tick starts %v; want %v", tk.starts, want)
		}
	})
}

func TestWorker_OverrunSkipsTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		// 0: runs to 25 (ticks 10, 20 skipped; next 30), 30: runs to 33
		// (next 40), 40: runs exactly one interval, to 50 (on the grid:
		// next at once), 50: runs 20.5 to 70.5 (60, 70 skipped; next 80).
		tk := &tickLog{clk: clk, works: tickSecs(25, 3, 10, 20.5, 0)}
		w := lifecycle.NewWorker(10*time.Second, tk.tick, lifecycle.WorkerClock(clk))

		driveWorker(clk, w, cancelOnClock(t, clk, 95*time.Second))

		if want := tickSecs(0, 30, 40, 50, 80, 90); !slices.Equal(tk.starts, want) {
			t.Errorf("tick starts %v; want %v", tk.starts, want)
		}
	})
}

func TestWorker_FirstTickJitterExact(t *testing.T) {
	for _, tc := range []struct {
		rnd   float64
		first time.Duration
	}{
		{0, 0},
		{0.25, 2 * time.Second},
		{0.999, 7992 * time.Millisecond},
		{1.5, 8 * time.Second}, // out of range: clamped to max
		{-1, 0},                // out of range: clamped to 0
	} {
		t.Run(fmt.Sprint(tc.rnd), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := fakeclock.New(t, extEpoch)
				tk := &tickLog{clk: clk}
				calls := 0
				rnd := func() float64 { calls++; return tc.rnd }
				w := lifecycle.NewWorker(10*time.Second, tk.tick,
					lifecycle.WorkerClock(clk), lifecycle.WorkerStartSpread(8*time.Second, rnd))

				driveWorker(clk, w, cancelOnClock(t, clk, 25*time.Second))

				want := []time.Duration{tc.first, tc.first + 10*time.Second}
				if tc.first+20*time.Second < 25*time.Second {
					want = append(want, tc.first+20*time.Second)
				}
				if !slices.Equal(tk.starts, want) {
					t.Errorf("tick starts %v; want %v", tk.starts, want)
				}
				if calls != 1 {
					t.Errorf("rnd called %d times; want 1 (first tick only)", calls)
				}
			})
		})
	}
}

func TestWorker_CancelWhileWaitingReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk, works: tickSecs(2)}
		w := lifecycle.NewWorker(time.Minute, tk.tick, lifecycle.WorkerClock(clk))

		r := driveWorker(clk, w, cancelOnClock(t, clk, 15*time.Second))

		if !errors.Is(r.err, context.Canceled) || r.ended != 15*time.Second {
			t.Errorf("Run returned %v at %v; want context.Canceled at 15s", r.err, r.ended)
		}
		if len(tk.starts) != 1 {
			t.Errorf("ticks at %v; want one, at 0s", tk.starts)
		}
		if n := clk.Pending(); n != 0 {
			t.Errorf("%d timers pending after Run returned; want 0", n)
		}
	})
}

func TestWorker_CancelDuringJitterReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk}
		w := lifecycle.NewWorker(time.Minute, tk.tick, lifecycle.WorkerClock(clk),
			lifecycle.WorkerStartSpread(10*time.Second, func() float64 { return 0.5 }))

		r := driveWorker(clk, w, cancelOnClock(t, clk, 3*time.Second))

		if !errors.Is(r.err, context.Canceled) || r.ended != 3*time.Second || len(tk.starts) != 0 {
			t.Errorf("Run returned %v at %v after ticks %v; want context.Canceled at 3s, no tick", r.err, r.ended, tk.starts)
		}
	})
}

func TestWorker_CancelDuringTickIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk, works: tickSecs(1, 8)}
		w := lifecycle.NewWorker(10*time.Second, tk.tick, lifecycle.WorkerClock(clk))

		r := driveWorker(clk, w, cancelOnClock(t, clk, 15*time.Second))

		if !errors.Is(r.err, context.Canceled) || r.ended != 15*time.Second {
			t.Errorf("Run returned %v at %v; want context.Canceled at 15s (the tick honours ctx)", r.err, r.ended)
		}
		want := lifecycle.WorkerHealth{LastSuccess: extEpoch.Add(time.Second)}
		if got := w.Health(); got != want {
			t.Errorf("Health() = %+v; want %+v (the cut-short tick is not recorded)", got, want)
		}
	})
}

func TestWorker_ContextDoneBeforeRunTicksNever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk}
		w := lifecycle.NewWorker(time.Second, tk.tick, lifecycle.WorkerClock(clk))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()

		r := driveWorker(clk, w, ctx)

		if !errors.Is(r.err, context.Canceled) || r.ended != 0 || len(tk.starts) != 0 {
			t.Errorf("Run returned %v at %v after ticks %v; want context.Canceled at 0s, no tick", r.err, r.ended, tk.starts)
		}
	})
}

func TestWorker_HealthFollowsTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
		tk := &tickLog{clk: clk, works: tickSecs(1), errs: []error{nil, a, b, nil, c}}
		w := lifecycle.NewWorker(10*time.Second, tk.tick, lifecycle.WorkerClock(clk))
		tk.w = w

		driveWorker(clk, w, cancelOnClock(t, clk, 50*time.Second))

		at := func(s int) time.Time { return extEpoch.Add(time.Duration(s) * time.Second) }
		want := []lifecycle.WorkerHealth{
			{}, // before the first tick: all zero
			{LastSuccess: at(1)},
			{LastSuccess: at(1), LastFailure: at(11), LastError: "a", ConsecutiveFailures: 1},
			{LastSuccess: at(1), LastFailure: at(21), LastError: "b", ConsecutiveFailures: 2},
			{LastSuccess: at(31), LastFailure: at(21), LastError: "b", ConsecutiveFailures: 0},
		}
		if !slices.Equal(tk.health, want) {
			t.Errorf("health as each tick started:\n got %+v\nwant %+v", tk.health, want)
		}
		final := lifecycle.WorkerHealth{LastSuccess: at(31), LastFailure: at(41), LastError: "c", ConsecutiveFailures: 1}
		if got := w.Health(); got != final {
			t.Errorf("final Health() = %+v; want %+v", got, final)
		}
	})
}

func TestWorker_PanicIsRecordedAndReachesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		n := 0
		w := lifecycle.NewWorker(10*time.Second, func(ctx context.Context) error {
			if n++; n == 3 {
				panic("boom")
			}
			return nil
		}, lifecycle.WorkerClock(clk))

		r := driveWorker(clk, w, context.Background())

		if r.panicked != "boom" || r.ended != 20*time.Second {
			t.Errorf("Run panicked with %#v at %v; want \"boom\" at 20s", r.panicked, r.ended)
		}
		h := w.Health()
		if h.ConsecutiveFailures != 1 || !h.LastFailure.Equal(extEpoch.Add(20*time.Second)) ||
			!strings.Contains(h.LastError, "panicked") || !strings.Contains(h.LastError, "boom") {
			t.Errorf("Health() = %+v; want one failure at 20s whose error says it panicked with boom", h)
		}
	})
}

func TestWorker_GoexitIsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		w := lifecycle.NewWorker(time.Second, func(ctx context.Context) error {
			runtime.Goexit()
			return nil
		}, lifecycle.WorkerClock(clk))

		r := driveWorker(clk, w, context.Background())

		if !r.goexit {
			t.Errorf("Run ended with %+v; want runtime.Goexit to unwind it", r)
		}
		if h := w.Health(); h.ConsecutiveFailures != 1 || h.LastError != lifecycle.ErrGoexit.Error() {
			t.Errorf("Health() = %+v; want one failure with LastError %q", h, lifecycle.ErrGoexit)
		}
	})
}

func TestWorker_FinishedEndsRunAsSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk, works: tickSecs(1),
			errs: []error{errors.New("x"), fmt.Errorf("all rows migrated: %w", lifecycle.ErrFinished)}}
		w := lifecycle.NewWorker(10*time.Second, tk.tick, lifecycle.WorkerClock(clk))

		r := driveWorker(clk, w, context.Background())

		if !errors.Is(r.err, lifecycle.ErrFinished) || r.ended != 11*time.Second {
			t.Errorf("Run returned %v at %v; want an ErrFinished at 11s", r.err, r.ended)
		}
		want := lifecycle.WorkerHealth{LastSuccess: extEpoch.Add(11 * time.Second),
			LastFailure: extEpoch.Add(time.Second), LastError: "x"}
		if got := w.Health(); got != want {
			t.Errorf("Health() = %+v; want %+v", got, want)
		}
	})
}

func TestWorker_OnRealClockPath(t *testing.T) {
	// Without WorkerClock the worker uses package time, which the bubble
	// makes virtual: the real-clock path is exact here too.
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var starts []time.Duration
		w := lifecycle.NewWorker(time.Hour, func(ctx context.Context) error {
			starts = append(starts, time.Since(start))
			select { // overrun: skips the next tick
			case <-time.After(90 * time.Minute):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, lifecycle.WorkerStartSpread(time.Minute, func() float64 { return 0.5 }))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Hour)
		defer cancel()

		err := w.Run(ctx)

		if want := []time.Duration{30 * time.Second, 2*time.Hour + 30*time.Second, 4*time.Hour + 30*time.Second}; !slices.Equal(starts, want) {
			t.Errorf("tick starts %v; want %v", starts, want)
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Hour {
			t.Errorf("Run returned %v after %v; want DeadlineExceeded after 5h", err, time.Since(start))
		}
		if h := w.Health(); !h.LastSuccess.Equal(start.Add(3*time.Hour + 30*time.Minute + 30*time.Second)) {
			t.Errorf("LastSuccess %v; want start+3h30m30s (stamped by package time)", h.LastSuccess)
		}
	})
}

// afterOnlyClock hides NewTimer: a Clock that is not a TimerClock.
type afterOnlyClock struct{ c *fakeclock.Clock }

func (a afterOnlyClock) Now() time.Time                         { return a.c.Now() }
func (a afterOnlyClock) Since(t time.Time) time.Duration        { return a.c.Since(t) }
func (a afterOnlyClock) After(d time.Duration) <-chan time.Time { return a.c.After(d) }
func (a afterOnlyClock) WithTimeout(p context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return a.c.WithTimeout(p, d)
}

func TestWorker_OnClockWithoutTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk, works: tickSecs(12, 1)}
		w := lifecycle.NewWorker(5*time.Second, tk.tick, lifecycle.WorkerClock(afterOnlyClock{clk}))

		r := driveWorker(clk, w, cancelOnClock(t, clk, 22*time.Second))

		if want := tickSecs(0, 15, 20); !slices.Equal(tk.starts, want) || r.ended != 22*time.Second {
			t.Errorf("tick starts %v, Run ended at %v; want %v, 22s", tk.starts, r.ended, want)
		}
		// With After only, the wait cut short by cancellation stays pending.
		if n := clk.Pending(); n != 1 {
			t.Errorf("%d timers pending; want 1 (the abandoned After)", n)
		}
	})
}

func TestWorker_SupervisedByManager(t *testing.T) {
	// A panicking tick reaches the Manager, which restarts the worker after
	// its backoff with a fresh schedule and a fresh first-tick jitter; the
	// worker's health carries over and is listed under its name.
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk, works: tickSecs(1), errs: []error{nil, errors.New("disk full")}}
		jitters := []float64{0, 0.5}
		w := lifecycle.NewWorker(10*time.Second, func(ctx context.Context) error {
			if len(tk.starts) == 2 {
				tk.starts = append(tk.starts, clk.Since(extEpoch))
				panic("corrupt page")
			}
			return tk.tick(ctx)
		}, lifecycle.WorkerClock(clk), lifecycle.WorkerStartSpread(4*time.Second, func() float64 {
			j := jitters[0]
			jitters = jitters[1:]
			return j
		}))
		m := lifecycle.NewManager(lifecycle.WithClock(clk), extQuiet)
		m.Register("indexer", w)

		done := make(chan struct{})
		go func() { defer close(done); m.Run(cancelOnClock(t, clk, 25*time.Second)) }()
		clk.Drive(done)

		// Ticks at 0, 10, 20 (panics); restart at 21 after the 1s backoff;
		// jitter 2s puts its first tick at 23.
		if want := tickSecs(0, 10, 20, 23); !slices.Equal(tk.starts, want) {
			t.Errorf("tick starts %v; want %v", tk.starts, want)
		}
		h := m.Health()
		if len(h) != 1 || h[0].Name != "indexer" || !h[0].LastSuccess.Equal(extEpoch.Add(24*time.Second)) ||
			!h[0].LastFailure.Equal(extEpoch.Add(20*time.Second)) || h[0].ConsecutiveFailures != 0 {
			t.Errorf("Health() = %+v; want indexer, last success 24s, last failure 20s, 0 consecutive", h)
		}
	})
}

func TestNewWorker_ProgrammerErrorsPanic(t *testing.T) {
	fn := func(context.Context) error { return nil }
	for name, f := range map[string]func(){
		"zero interval":     func() { lifecycle.NewWorker(0, fn) },
		"negative interval": func() { lifecycle.NewWorker(-time.Second, fn) },
		"nil func":          func() { lifecycle.NewWorker(time.Second, nil) },
		"nil option":        func() { lifecycle.NewWorker(time.Second, fn, nil) },
		"nil clock":         func() { lifecycle.WorkerClock(nil) },
		"negative jitter":   func() { lifecycle.WorkerStartSpread(-1, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "lifecycle: ") {
					t.Errorf("panic message %q; want a string starting %q", msg, "lifecycle: ")
				}
			}()
			f()
		})
	}
}

func TestWorker_JitterNilRndUsesGlobalSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk}
		w := lifecycle.NewWorker(time.Hour, tk.tick, lifecycle.WorkerClock(clk),
			lifecycle.WorkerStartSpread(time.Minute, nil))

		driveWorker(clk, w, cancelOnClock(t, clk, 90*time.Second))

		if len(tk.starts) != 1 || tk.starts[0] < 0 || tk.starts[0] > time.Minute {
			t.Errorf("tick starts %v; want one tick within [0, 1m]", tk.starts)
		}
	})
}

func TestWorker_OnRealClockCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ticks := 0
		w := lifecycle.NewWorker(time.Hour, func(ctx context.Context) error { ticks++; return nil })
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
		defer cancel()

		err := w.Run(ctx)

		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 90*time.Minute || ticks != 2 {
			t.Errorf("Run returned %v after %v and %d ticks; want DeadlineExceeded after 1h30m and 2 ticks", err, time.Since(start), ticks)
		}
	})
}

func TestWorker_TickFailuresAreLoggedWithTheServiceName(t *testing.T) {
	// Issue 9: a failing tick was recorded but never logged, so a quick
	// start printed nothing while its job failed on every tick.
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		m := lifecycle.NewManager(logs.option())
		boom := errors.New("upstream unavailable")
		m.Register("refresh", lifecycle.NewWorker(10*time.Second, func(context.Context) error { return boom }))
		// A type that embeds a Worker is a Worker to the Manager too.
		type embedded struct{ *lifecycle.Worker }
		m.Register("embedded", embedded{lifecycle.NewWorker(time.Minute, func(context.Context) error { return boom })})
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		m.Run(ctx)
		lines := logs.lines("level=ERROR", `msg="lifecycle: tick failed"`, "service=refresh", "upstream unavailable")
		if len(lines) != 3 || !strings.Contains(lines[2], "consecutive_failures=3") {
			t.Errorf("refresh's tick failures logged as %q; want 3 lines, the last with 3 consecutive failures", lines)
		}
		if lines := logs.lines("tick failed", "service=embedded"); len(lines) != 1 {
			t.Errorf("embedded's tick failures logged as %q; want 1", lines)
		}
	})
}
