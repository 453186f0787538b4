package fakeclock_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

// modelTimer is a pending timer of the model; when is an offset from start.
type modelTimer struct {
	id   int
	when time.Duration
	seq  int
}

// clockModel is the model of a Clock: a set of pending timers that fire
// in sorted (deadline, seq) order.
type clockModel struct {
	now     time.Duration // Now() - start
	seq     int
	pending []modelTimer
}

func (m *clockModel) add(id int, when time.Duration) {
	m.seq++
	m.pending = append(m.pending, modelTimer{id, when, m.seq})
}

func (m *clockModel) remove(id int) bool {
	n := len(m.pending)
	m.pending = slices.DeleteFunc(m.pending, func(p modelTimer) bool { return p.id == id })
	return len(m.pending) < n
}

func (m *clockModel) earliest() (modelTimer, bool) {
	if len(m.pending) == 0 {
		return modelTimer{}, false
	}
	return slices.MinFunc(m.pending, func(a, b modelTimer) int {
		return cmp.Or(cmp.Compare(a.when, b.when), cmp.Compare(a.seq, b.seq))
	}), true
}

// pop fires the earliest timer.
func (m *clockModel) pop() modelTimer {
	p, _ := m.earliest()
	m.remove(p.id)
	m.now = p.when
	return p
}

// probe is how the test observes and stops one timer of the real clock.
type probe struct {
	kind    string
	when    time.Duration    // deadline, offset from start
	ch      <-chan time.Time // After and NewTimer
	ctx     context.Context  // WithTimeout
	stop    func() bool      // NewTimer and WithTimeout
	done    bool             // fired and observed, or stopped
	stopped bool
}

// fired is one observed firing: which timer, and Now() - start at that moment.
type fired struct {
	ID int
	At time.Duration
}

// TestClock_FiresInDeadlineSequenceOrder checks random interleavings of
// arming, stopping, stepping and advancing against clockModel.
func TestClock_FiresInDeadlineSequenceOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := fakeclock.New(t, start)
		var m clockModel
		var probes []*probe
		var ctxLog []fired // appended synchronously as context deadlines fire

		for range rapid.IntRange(1, 60).Draw(t, "ops") {
			var wantFired []int // ids, in firing order
			byClock := false    // whether Step or Advance fired them
			switch op := rapid.SampledFrom([]string{"after", "new_timer", "with_timeout", "stop", "step", "advance"}).Draw(t, "op"); op {
			case "after", "new_timer", "with_timeout":
				d := time.Duration(rapid.IntRange(-1, 6).Draw(t, "d_seconds")) * time.Second
				id := len(probes)
				p := &probe{kind: op, when: m.now + max(d, 0)}
				probes = append(probes, p)
				switch op {
				case "after":
					p.ch = c.After(d)
				case "new_timer":
					p.ch, p.stop = c.NewTimer(d)
				case "with_timeout":
					ctx, cancel := c.WithTimeout(context.Background(), d)
					p.ctx = ctx
					p.stop = func() bool { wasPending := ctx.Err() == nil; cancel(); return wasPending }
					if ctx.Err() == nil {
						ctx.(afterFuncer).AfterFunc(func() {
							if ctx.Err() == context.DeadlineExceeded {
								ctxLog = append(ctxLog, fired{id, c.Since(start)})
							}
						})
					}
				}
				if d <= 0 {
					wantFired = []int{id} // zero waits complete during the call
				} else {
					m.add(id, p.when)
				}
			case "stop":
				if len(probes) == 0 {
					break
				}
				id := rapid.IntRange(0, len(probes)-1).Draw(t, "stop_id")
				p := probes[id]
				if p.stop == nil {
					break // After cannot be stopped
				}
				if got, want := p.stop(), m.remove(id); got != want {
					t.Fatalf("stop of timer %d = %v; want %v", id, got, want)
				}
				p.stopped = true
			case "step":
				byClock = true
				_, want := m.earliest()
				if want {
					wantFired = []int{m.pop().id}
				}
				if got := c.Step(); got != want {
					t.Fatalf("Step() = %v; want %v", got, want)
				}
			case "advance":
				byClock = true
				d := time.Duration(rapid.IntRange(0, 4).Draw(t, "advance_seconds")) * time.Second
				target := m.now + d
				for p, ok := m.earliest(); ok && p.when <= target; p, ok = m.earliest() {
					wantFired = append(wantFired, m.pop().id)
				}
				m.now = target
				c.Advance(d)
			}

			// Which timers fired: each exactly once, each carrying its own deadline.
			var gotFired []int
			for id, p := range probes {
				if p.done || p.stopped {
					continue
				}
				if p.ctx != nil {
					p.done = p.ctx.Err() == context.DeadlineExceeded
				} else if v, ok := ready(p.ch); ok {
					if !v.Equal(at(p.when)) {
						t.Fatalf("timer %d received %v; want its deadline %v", id, v, at(p.when))
					}
					p.done = true
				}
				if p.done {
					gotFired = append(gotFired, id)
				}
			}
			if diff := gocmp.Diff(slices.Sorted(slices.Values(wantFired)), gotFired); diff != "" {
				t.Fatalf("timers fired (-want +got):\n%s", diff)
			}
			// Contexts are observed synchronously: check their exact order
			// and that Now() was each one's deadline as it fired.
			var wantCtx []fired
			if byClock {
				for _, id := range wantFired {
					if p := probes[id]; p.ctx != nil {
						wantCtx = append(wantCtx, fired{id, p.when})
					}
				}
			}
			if diff := gocmp.Diff(wantCtx, ctxLog); diff != "" {
				t.Fatalf("context deadlines fired (-want +got):\n%s", diff)
			}
			ctxLog = nil

			if got, want := c.Now(), at(m.now); !got.Equal(want) {
				t.Fatalf("Now() = %v; want %v", got, want)
			}
			if got, want := c.Pending(), len(m.pending); got != want {
				t.Fatalf("Pending() = %d; want %d", got, want)
			}
			next, ok := c.Next()
			wantNext, wantOK := m.earliest()
			if ok != wantOK || (ok && !next.Equal(at(wantNext.when))) {
				t.Fatalf("Next() = %v, %v; want %v, %v", next, ok, at(wantNext.when), wantOK)
			}
		}
	})
}
