package lifecycletest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
	"github.com/lifecyclesim/lifecycle/lifecycletest"
)

var quiet = lifecycle.WithLogger(slog.New(slog.DiscardHandler))

func wantWaiters(t *testing.T, clk *lifecycletest.Clock, when string, want int) {
	t.Helper()
	if got := clk.Waiters(); got != want {
		t.Errorf("%s: Waiters() = %d; want %d", when, got, want)
	}
}

func TestClock_CountsEachWaitUntilItIsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := clock.NewMock()
		clk := lifecycletest.NewClock(mock)
		wantWaiters(t, clk, "new", 0)

		after := clk.After(time.Second)
		_, stop := clk.NewTimer(2 * time.Second)
		_, cancel := clk.WithTimeout(context.Background(), 3*time.Second)
		parent, cancelParent := context.WithCancel(context.Background())
		child, cancelChild := clk.WithTimeout(parent, 10*time.Second)
		defer cancelChild()
		clk.After(0) // over as soon as it is armed
		wantWaiters(t, clk, "armed 1s, 2s, 3s, 10s and 0s", 4)

		cancelParent()
		<-child.Done()
		wantWaiters(t, clk, "the 10s context's parent cancelled", 3)

		mock.Add(time.Second)
		<-after
		wantWaiters(t, clk, "at 1s", 2)

		if !stop() {
			t.Error("stop() of the pending 2s timer = false; want true")
		}
		wantWaiters(t, clk, "the 2s timer stopped", 1)
		if stop() {
			t.Error("second stop() = true; want false")
		}

		cancel()
		wantWaiters(t, clk, "the 3s context cancelled", 0)
	})
}

func TestClock_DeadlineReachedEndsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := clock.NewMock()
		clk := lifecycletest.NewClock(mock)
		ctx, cancel := clk.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, stop := clk.NewTimer(2 * time.Second)
		mock.Add(time.Second)
		<-ctx.Done()
		wantWaiters(t, clk, "at 1s", 1)
		mock.Add(time.Second)
		wantWaiters(t, clk, "at 2s", 0)
		if stop() {
			t.Error("stop() of a timer that fired = true; want false")
		}
	})
}

func TestClock_BlockUntilWakesWhenTheWaitIsArmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := lifecycletest.NewClock(clock.NewMock())
		start := time.Now()
		go func() {
			time.Sleep(5 * time.Second) // virtual
			clk.After(time.Minute)
			time.Sleep(5 * time.Second)
			clk.NewTimer(time.Minute)
		}()
		clk.BlockUntil(1)
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("BlockUntil(1) returned at %v; want 5s, when the wait was armed", got)
		}
		clk.BlockUntil(2)
		if got := time.Since(start); got != 10*time.Second {
			t.Errorf("BlockUntil(2) returned at %v; want 10s", got)
		}
		clk.BlockUntil(0)
		clk.BlockUntil(-1)
	})
}

func TestClock_BlockUntilContextGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := lifecycletest.NewClock(clock.NewMock())
		clk.After(time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if err := clk.BlockUntilContext(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("BlockUntilContext(ctx, 2) with 1 wait = %v; want context.DeadlineExceeded", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("BlockUntilContext returned at %v; want 1s, at ctx's deadline", got)
		}
		if err := clk.BlockUntilContext(ctx, 1); err != nil {
			t.Errorf("BlockUntilContext(done ctx, 1) with 1 wait = %v; want nil", err)
		}
	})
}

func TestClock_StopsTheWrappedTimer(t *testing.T) {
	fake := fakeclock.New(t, time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC))
	clk := lifecycletest.NewClock(fake)
	_, stop := clk.NewTimer(time.Second)
	if got := fake.Pending(); got != 1 {
		t.Fatalf("the wrapped clock has %d timers; want 1", got)
	}
	if !stop() {
		t.Error("stop() = false; want true")
	}
	if got := fake.Pending(); got != 0 {
		t.Errorf("after stop() the wrapped clock has %d timers; want 0", got)
	}
	wantWaiters(t, clk, "stopped", 0)
}

// TestClock_MovesTheManagerWithoutPolling restarts a failing service on
// benbjohnson's Mock: each move waits for the Manager's restart delay, and
// nothing else.
func TestClock_MovesTheManagerWithoutPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := clock.NewMock()
		clk := lifecycletest.NewClock(mock)
		start := mock.Now()
		m := lifecycle.NewManager(lifecycle.WithClock(clk), quiet)
		var attempts []time.Duration // guarded by the Manager: one attempt at a time
		m.Register("flaky", runnerFunc(func(ctx context.Context) error {
			attempts = append(attempts, mock.Since(start))
			return errors.New("connection refused")
		}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()

		for _, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			clk.BlockUntil(1) // the restart delay d is armed
			if got := m.States()[0]; got.State != lifecycle.StateBackingOff || !got.BackoffUntil.Equal(mock.Now().Add(d)) {
				t.Fatalf("at %v: %v until %v; want backing off until %v",
					mock.Since(start), got.State, got.BackoffUntil.Sub(start), mock.Since(start)+d)
			}
			mock.Add(d)
		}
		clk.BlockUntil(1) // the fourth delay, 8s
		cancel()
		<-done
		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
		if !slices.Equal(attempts, want) {
			t.Errorf("attempts at %v; want %v", attempts, want)
		}
		// The Manager stopped the 8s delay it abandoned: nothing is left.
		wantWaiters(t, clk, "after Run returned", 0)
	})
}

func TestNewClock_NilPanics(t *testing.T) {
	defer func() {
		if got, want := fmt.Sprint(recover()), "lifecycletest: NewClock(nil)"; got != want {
			t.Errorf("NewClock(nil) panicked with %q; want %q", got, want)
		}
	}()
	lifecycletest.NewClock(nil)
}
