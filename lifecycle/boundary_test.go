package lifecycle_test

// Tests at boundaries that mutation testing (gremlins) showed no other
// test pins down.

import (
	"context"
	"errors"
	"math"
	"slices"
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
