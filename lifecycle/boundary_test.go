package lifecycle_test

// Tests at boundaries that mutation testing (gremlins) showed no other
// test pins down.

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

func TestBackoff_DoublingJustBelowSaturation(t *testing.T) {
	// MaxInt64/2 doubles to MaxInt64-1 exactly; only a larger delay
	// saturates to MaxInt64.
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		var log eventLog
		m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
		m.SetBackoff(math.MaxInt64/2, math.MaxInt64, time.Hour)
		m.Register("flaky", extRunner(func(context.Context) error { return errors.New("flaky") }))
		runManager(t, clk, m, math.MaxInt64/2+1)

		var delays []time.Duration
		for _, e := range log.evs {
			if e.Kind == lifecycle.BackingOff {
				delays = append(delays, e.Duration)
			}
		}
		if want := []time.Duration{math.MaxInt64 / 2, math.MaxInt64 - 1}; !slices.Equal(delays, want) {
			t.Errorf("delays %v; want %v", delays, want)
		}
	})
}

func TestWorker_OverrunEndingOnTheGridTicksAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		// 0: runs two whole intervals, to 20: on the grid, so the next tick
		// is at once (10 is skipped, 20 is not).
		tk := &tickLog{clk: clk, works: tickSecs(20, 0)}
		w := lifecycle.NewWorker(10*time.Second, tk.tick, lifecycle.WorkerClock(clk))

		driveWorker(clk, w, cancelOnClock(t, clk, 35*time.Second))

		if want := tickSecs(0, 20, 30); !slices.Equal(tk.starts, want) {
			t.Errorf("tick starts %v; want %v", tk.starts, want)
		}
	})
}

func TestWorkerJitter_ZeroMaxIsNoJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		tk := &tickLog{clk: clk}
		w := lifecycle.NewWorker(10*time.Second, tk.tick,
			lifecycle.WorkerClock(clk), lifecycle.WorkerStartSpread(0, func() float64 { return 0.5 }))

		driveWorker(clk, w, cancelOnClock(t, clk, 15*time.Second))

		if want := tickSecs(0, 10); !slices.Equal(tk.starts, want) {
			t.Errorf("tick starts %v; want %v", tk.starts, want)
		}
	})
}

func TestWorkerStartSpread_HugeDrawsClampToTheMaximum(t *testing.T) {
	// float64(max)*r overflowed the Duration conversion for r = +Inf or
	// 1e300: on amd64 the first tick came at once instead of at max.
	for _, r := range []float64{math.Inf(1), 1e300, 2} {
		synctest.Test(t, func(t *testing.T) {
			clk := fakeclock.New(t, extEpoch)
			tk := &tickLog{clk: clk}
			w := lifecycle.NewWorker(10*time.Second, tk.tick,
				lifecycle.WorkerClock(clk), lifecycle.WorkerStartSpread(2*time.Second, func() float64 { return r }))

			driveWorker(clk, w, cancelOnClock(t, clk, 15*time.Second))

			if want := tickSecs(2, 12); !slices.Equal(tk.starts, want) {
				t.Errorf("rnd %v: tick starts %v; want %v", r, tk.starts, want)
			}
		})
	}
}

func TestTimes_ExactBeyondTheRangeOfStateInstants(t *testing.T) {
	// States keep times as nanoseconds since NewManager, which saturate
	// 292 years on. Events and an ordered turn's RunEnded carry the
	// clock's readings as they are, exact however far the clock has gone:
	// a RunEnded cut back to the epoch plus 292 years would fall before
	// its own turn began, and whether the turn called the Run abandoned
	// would be up to the scheduler (docs/semantics.md, "Times").
	clk := fakeclock.New(t, time.Unix(0, 0))
	var mu sync.Mutex
	var starts []time.Time
	m := lifecycle.NewManager(quiet, lifecycle.WithClock(clk), lifecycle.WithOrderedShutdown(),
		lifecycle.WithEvents(func(e lifecycle.Event) {
			if e.Kind == lifecycle.AttemptStarted {
				mu.Lock()
				starts = append(starts, e.Time)
				mu.Unlock()
			}
		}))
	const century = 100 * 365 * 24 * time.Hour
	for range 3 {
		clk.Advance(century) // 300 years: past the last instant, MaxInt64 ns on
	}
	far := clk.Now()
	started := make(chan struct{})
	m.Register("svc", runFunc(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	<-started
	rep := m.Shutdown(time.Second)
	cancel()
	<-done

	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 1 || !starts[0].Equal(far) {
		t.Errorf("AttemptStarted at %v; want once, at the clock's reading %v", starts, far)
	}
	if s := rep.Services[0]; !s.RunEnded.Equal(far) || s.RunAbandoned {
		t.Errorf("turn: RunEnded %v, abandoned %v; want %v, not abandoned", s.RunEnded, s.RunAbandoned, far)
	}
}
