package lifecycletest_test

import (
	"context"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"pgregory.net/rapid"

	"github.com/lifecyclesim/lifecycle/lifecycletest"
)

// TestClock_WaitersProperty: on any sequence of waits armed (After,
// NewTimer, WithTimeout), stopped, cancelled and of time moved on,
// Waiters() is the number of waits armed, not stopped or cancelled, whose
// deadline has not been reached: a model kept beside the clock. Each check
// runs in a synctest bubble: benbjohnson's Mock.Add sleeps a millisecond
// of real time per call, which the bubble makes virtual.
func TestClock_WaitersProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { rapid.SyncTest(t, waitersProperty) })
}

func waitersProperty(t *rapid.T) {
	{
		mock := clock.NewMock()
		c := lifecycletest.NewClock(mock)
		type wait struct {
			deadline time.Time
			stop     func() // nil: After's wait cannot be stopped
			stopped  bool
		}
		var waits []*wait
		for range rapid.IntRange(1, 30).Draw(t, "steps") {
			d := time.Duration(rapid.IntRange(0, 5).Draw(t, "d")) * time.Second
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0:
				c.After(d)
				waits = append(waits, &wait{deadline: mock.Now().Add(d)})
			case 1:
				_, stop := c.NewTimer(d)
				waits = append(waits, &wait{deadline: mock.Now().Add(d), stop: func() { stop() }})
			case 2:
				_, cancel := c.WithTimeout(context.Background(), d)
				waits = append(waits, &wait{deadline: mock.Now().Add(d), stop: cancel})
			case 3:
				if len(waits) > 0 {
					w := waits[rapid.IntRange(0, len(waits)-1).Draw(t, "which")]
					if w.stop != nil {
						w.stop()
						w.stopped = true
					}
				}
			case 4:
				mock.Add(d)
			}
			want := 0
			for _, w := range waits {
				if !w.stopped && mock.Now().Before(w.deadline) {
					want++
				}
			}
			if got := c.Waiters(); got != want {
				t.Fatalf("Waiters() = %d; the model says %d", got, want)
			}
		}
		for _, w := range waits {
			if w.stop != nil {
				w.stop()
			}
		}
	}
}
