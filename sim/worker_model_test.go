package sim_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// workerEpoch is virtual 0 of the Worker model check.
var workerEpoch = time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)

// Tick outcomes a schedule can give the Worker's function.
const (
	tickOK = iota
	tickFail
	tickFinished // returns an error wrapping lifecycle.ErrFinished
)

// workerSchedule is one random life of a Worker. Durations are drawn in
// units of 100ms, so work often ends exactly on the tick grid.
type workerSchedule struct {
	interval  time.Duration
	jitterMax time.Duration
	rnd       float64         // what the injected jitter source returns
	works     []time.Duration // tick i works works[i % len]
	outcomes  []int           // and then ends with outcomes[i % len]
	cancel    time.Duration   // when the context is cancelled
}

const workerUnit = 100 * time.Millisecond

func drawWorkerSchedule(t *rapid.T) workerSchedule {
	units := func(lo, hi int, label string) time.Duration {
		return time.Duration(rapid.IntRange(lo, hi).Draw(t, label)) * workerUnit
	}
	s := workerSchedule{interval: units(1, 20, "interval_x100ms")}
	s.jitterMax = units(0, 20, "jitter_max_x100ms")
	s.rnd = rapid.Float64Range(0, 1).Draw(t, "jitter_rnd")
	n := int(s.interval / workerUnit)
	s.works = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) time.Duration {
		return units(0, 3*n+1, "work_x100ms")
	}), 1, 8).Draw(t, "works")
	s.outcomes = rapid.SliceOfN(rapid.Map(rapid.IntRange(0, 9), func(k int) int {
		switch {
		case k == 0:
			return tickFinished
		case k <= 4:
			return tickFail
		}
		return tickOK
	}), 1, 8).Draw(t, "outcomes")
	s.cancel = units(1, 300, "cancel_at_x100ms")
	return s
}

func (s workerSchedule) work(i int) time.Duration { return s.works[i%len(s.works)] }
func (s workerSchedule) outcome(i int) int        { return s.outcomes[i%len(s.outcomes)] }

// workerTrace is what a Worker did, or what the model says it must do.
type workerTrace struct {
	Starts   []time.Duration          // virtual start time of each tick
	Seen     []lifecycle.WorkerHealth // Health() as each tick started
	Final    lifecycle.WorkerHealth   // Health() after Run returned
	Ended    time.Duration            // when Run returned
	Finished bool                     // Run returned ErrFinished, not ctx.Err()
	Pending  int                      // timers left on the clock
}

// workerModel is the Worker's contract, written independently of its code:
// the first tick at jitter = min(max*rnd, max); tick k at the smallest
// first + j*interval (j > k's) not before the end of tick k; a tick's work
// that reaches the cancellation is cut short and not recorded; nothing
// starts at or after the cancellation (its timer was armed first).
func workerModel(s workerSchedule) workerTrace {
	var tr workerTrace
	var h lifecycle.WorkerHealth
	at := func(d time.Duration) time.Time { return workerEpoch.Add(d) }

	first := min(max(time.Duration(float64(s.jitterMax)*s.rnd), 0), s.jitterMax)
	next, k := first, int64(0) // next = first + k*interval
	tr.Ended = s.cancel
	for i := 0; next < s.cancel; i++ {
		tr.Starts = append(tr.Starts, next)
		tr.Seen = append(tr.Seen, h)
		end := next + s.work(i)
		if s.work(i) > 0 && end >= s.cancel {
			break // cut short by the cancellation: not recorded
		}
		switch s.outcome(i) {
		case tickOK:
			h.LastSuccess, h.ConsecutiveFailures = at(end), 0
		case tickFail:
			h.LastFailure, h.LastError = at(end), fmt.Sprintf("tick %d failed", i)
			h.ConsecutiveFailures++
		case tickFinished:
			h.LastSuccess, h.ConsecutiveFailures = at(end), 0
			tr.Ended, tr.Finished, tr.Pending = end, true, 1 // the cancel timer never fired
		}
		if tr.Finished {
			break
		}
		// The next grid point not before end, and after this tick's.
		j := int64(math.Ceil(float64(end-first) / float64(s.interval)))
		k = max(k+1, j)
		next = first + time.Duration(k)*s.interval
	}
	tr.Final = h
	return tr
}

// runWorker runs a real Worker through s on the fake clock; it must be
// called inside a synctest bubble.
func runWorker(t *rapid.T, s workerSchedule) workerTrace {
	var tr workerTrace
	clk := fakeclock.New(t, workerEpoch)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk.AfterFunc(s.cancel, cancel) // armed before any timer of the Worker

	var w *lifecycle.Worker
	i := 0
	w = lifecycle.NewWorker(s.interval, func(ctx context.Context) error {
		tr.Starts = append(tr.Starts, clk.Since(workerEpoch))
		tr.Seen = append(tr.Seen, w.Health())
		n := i
		i++
		if d := s.work(n); d > 0 {
			ch, stop := clk.NewTimer(d)
			defer stop()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		switch s.outcome(n) {
		case tickFail:
			return fmt.Errorf("tick %d failed", n)
		case tickFinished:
			return fmt.Errorf("tick %d: %w", n, lifecycle.ErrFinished)
		}
		return nil
	}, lifecycle.WorkerClock(clk), lifecycle.WorkerJitter(s.jitterMax, func() float64 { return s.rnd }))

	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		err = w.Run(ctx)
		tr.Ended = clk.Since(workerEpoch)
	}()
	clk.Drive(done)

	tr.Final = w.Health()
	tr.Finished = errors.Is(err, lifecycle.ErrFinished)
	tr.Pending = clk.Pending()
	if !tr.Finished && !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v; want context.Canceled or an ErrFinished", err)
	}
	return tr
}

// TestWorkerModel checks the Worker's tick times, its health as each tick
// starts and at the end, when Run returns and with what, against
// workerModel on random schedules.
func TestWorkerModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawWorkerSchedule(t)
		var got workerTrace
		rapid.SyncTest(t, func(t *rapid.T) { got = runWorker(t, s) })
		if diff := cmp.Diff(workerModel(s), got); diff != "" {
			t.Fatalf("Worker differs from the model (-model +worker):\n%s", diff)
		}
	})
}
