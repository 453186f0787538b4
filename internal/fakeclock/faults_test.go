package fakeclock_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

// lateBy returns a late function holding back every timer of kind k by n
// Steps, and nothing else.
func lateBy(k fakeclock.Kind, n int) func(fakeclock.Kind, time.Time) int {
	return func(got fakeclock.Kind, _ time.Time) int {
		if got == k {
			return n
		}
		return 0
	}
}

// stepUntil steps c until done reports true, failing if nothing is left.
func stepUntil(t *testing.T, c *fakeclock.Clock, what string, done func() bool) {
	t.Helper()
	for !done() {
		if !c.Step() {
			t.Fatalf("nothing left to step, and %s has not happened", what)
		}
	}
}

func TestSetLate_ContextDeadlinePassesBeforeItIsDelivered(t *testing.T) {
	c := fakeclock.New(t, start)
	c.SetLate(lateBy(fakeclock.ContextTimer, 1))
	ctx, cancel := c.WithTimeout(context.Background(), time.Second)
	defer cancel()
	own := c.After(time.Second) // created after the context: fires after it

	// A Stopper's own timer at its deadline: delivered with ctx still live.
	var gotOwn bool
	stepUntil(t, c, "the own timer", func() bool { _, gotOwn = ready(own); return gotOwn })
	if got, want := c.Now(), at(time.Second); !got.Equal(want) || ctx.Err() != nil {
		t.Errorf("at the own timer: Now() = %v, ctx.Err() = %v; want %v, nil (deadline held back)", got, ctx.Err(), want)
	}
	if got := c.Pending(); got != 1 {
		t.Errorf("Pending() = %d; want 1 (the held deadline)", got)
	}
	stepUntil(t, c, "the deadline", func() bool { return ctx.Err() != nil })
	if ctx.Err() != context.DeadlineExceeded {
		t.Errorf("ctx.Err() after the delivery = %v; want DeadlineExceeded", ctx.Err())
	}
	if c.Step() {
		t.Errorf("Step with nothing left = true")
	}
}

func TestSetLate_NowMovesPastAHeldDeadline(t *testing.T) {
	c := fakeclock.New(t, start)
	c.SetLate(lateBy(fakeclock.ContextTimer, 1))
	ctx, cancel := c.WithTimeout(context.Background(), time.Second)
	defer cancel()
	later := c.After(3 * time.Second)

	stepUntil(t, c, "the deadline", func() bool { return ctx.Err() != nil })
	if got, want := c.Now(), at(3*time.Second); !got.Equal(want) {
		t.Errorf("deadline of 1s delivered at Now() = %v; want %v, one instant late", got, want)
	}
	if _, ok := ready(later); ok {
		t.Errorf("the 3s timer came before the held delivery; want the delivery first at its instant")
	}
	if next, ok := c.Next(); !ok || !next.Equal(at(3*time.Second)) {
		t.Errorf("Next() = %v, %v; want %v, true", next, ok, at(3*time.Second))
	}
}

func TestSetLate_HeldChannelTimerStopsAsFired(t *testing.T) {
	c := fakeclock.New(t, start)
	c.SetLate(lateBy(fakeclock.ChanTimer, 1))
	ch, stop := c.NewTimer(time.Second)
	c.Step() // moves Now() to 1s
	c.Step() // takes the timer and holds it back
	if !c.Now().Equal(at(time.Second)) || c.Pending() != 1 {
		t.Fatalf("after two Steps: Now() = %v, Pending() = %d; want %v, 1", c.Now(), c.Pending(), at(time.Second))
	}
	if stop() {
		t.Errorf("stop() of a held timer = true; want false: its instant has passed")
	}
	for c.Step() {
	}
	if _, ok := ready(ch); ok {
		t.Errorf("stopped held timer delivered a value")
	}
}

func TestSetLate_ChannelReceivesItsOwnDeadline(t *testing.T) {
	c := fakeclock.New(t, start)
	c.SetLate(lateBy(fakeclock.ChanTimer, 1))
	ch := c.After(time.Second)
	c.After(2 * time.Second)
	var v time.Time
	var ok bool
	stepUntil(t, c, "the delivery", func() bool { v, ok = ready(ch); return ok })
	if !v.Equal(at(time.Second)) || !c.Now().Equal(at(2*time.Second)) {
		t.Errorf("received %v at Now() = %v; want %v at %v", v, c.Now(), at(time.Second), at(2*time.Second))
	}
}

func TestSetLate_NilIsTheDefault(t *testing.T) {
	c := fakeclock.New(t, start)
	c.SetLate(lateBy(fakeclock.ChanTimer, 3))
	c.SetLate(nil)
	ch := c.After(time.Second)
	c.Step()
	if _, ok := ready(ch); !ok {
		t.Errorf("timer not delivered by its Step after SetLate(nil)")
	}
}

func TestPause_MovesTimeWithoutDelivering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		ctx, cancel := c.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var sawNow time.Time
		var sawErr error
		done := make(chan struct{})
		go func() { // a Stopper that keeps the CPU for 3s, then returns
			defer close(done)
			c.Pause("stopper", 3*time.Second)
			sawNow, sawErr = c.Now(), ctx.Err()
		}()
		synctest.Wait()
		if got := c.Pending(); got != 2 {
			t.Errorf("Pending() with a Pause waiting = %d; want 2", got)
		}
		c.Step() // serves the pause first
		<-done
		if want := at(3 * time.Second); !sawNow.Equal(want) || sawErr != nil {
			t.Errorf("after the pause: Now() = %v, ctx.Err() = %v; want %v, nil", sawNow, sawErr, want)
		}
		c.Step() // the deadline, delivered late
		if ctx.Err() != context.DeadlineExceeded {
			t.Errorf("ctx.Err() = %v; want DeadlineExceeded", ctx.Err())
		}
	})
}

func TestPause_ServedInKeyOrderWhateverTheArrival(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			c := fakeclock.New(t, start)
			var mu sync.Mutex
			var order []string
			var wg sync.WaitGroup
			for _, k := range []string{"c", "a", "b"} {
				wg.Go(func() {
					c.Pause(k, time.Second)
					mu.Lock()
					order = append(order, k+"@"+c.Since(start).String())
					mu.Unlock()
				})
			}
			for synctest.Wait(); c.Pending() > 0; synctest.Wait() {
				c.Step()
			}
			wg.Wait()
			if diff := cmp.Diff([]string{"a@1s", "b@2s", "c@3s"}, order); diff != "" {
				t.Errorf("pauses served (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFaults_DriveIsDeterministic runs one faulty world many times: the
// same late function and pauses give the same observations every time.
func TestFaults_DriveIsDeterministic(t *testing.T) {
	var first []string
	for run := range 20 {
		var got []string
		synctest.Test(t, func(t *testing.T) {
			c := fakeclock.New(t, start)
			n := 0
			c.SetLate(func(fakeclock.Kind, time.Time) int { n++; return n % 3 })
			var mu sync.Mutex
			log := func(s string) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, s+"@"+c.Since(start).String())
			}
			var wg sync.WaitGroup
			for i, name := range []string{"x", "y", "z"} {
				wg.Go(func() {
					ctx, cancel := c.WithTimeout(context.Background(), time.Duration(i+1)*time.Second)
					defer cancel()
					for k := range 3 {
						select {
						case <-c.After(700 * time.Millisecond):
							c.Pause(name+string(rune('0'+k)), 100*time.Millisecond)
							log(name + " tick")
						case <-ctx.Done():
							log(name + " done")
							return
						}
					}
				})
				synctest.Wait() // arm in a fixed order: equal deadlines fire by creation
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			c.Drive(done)
		})
		slices.Sort(got) // goroutines woken together log in either order
		if run == 0 {
			first = got
		} else if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("run %d differs from run 0 (-run0 +run%d):\n%s", run, run, diff)
		}
	}
}
