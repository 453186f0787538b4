package fakeclock_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

func TestNew_StripsMonotonicReading(t *testing.T) {
	c := fakeclock.New(t, time.Now())
	if s := c.Now().String(); strings.Contains(s, "m=") {
		t.Errorf("Now() = %s; want no monotonic reading", s)
	}
}

func TestNowSinceUntil(t *testing.T) {
	c := fakeclock.New(t, start)
	c.Advance(90 * time.Second)
	if got, want := c.Now(), at(90*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v; want %v", got, want)
	}
	if got, want := c.Since(start), 90*time.Second; got != want {
		t.Errorf("Since(start) = %v; want %v", got, want)
	}
	if got, want := c.Until(at(2*time.Minute)), 30*time.Second; got != want {
		t.Errorf("Until(start+2m) = %v; want %v", got, want)
	}
}

func TestStep_SameDeadlineFiresInCreationOrder(t *testing.T) {
	c := fakeclock.New(t, start)
	chs := []<-chan time.Time{c.After(time.Second), c.After(time.Second), c.After(time.Second)}
	early := c.After(500 * time.Millisecond) // created last, due first

	for i, want := range []<-chan time.Time{early, chs[0], chs[1], chs[2]} {
		if !c.Step() {
			t.Fatalf("Step %d = false; want true", i)
		}
		for j, ch := range append([]<-chan time.Time{early}, chs...) {
			_, got := ready(ch)
			if wantReady := ch == want; got != wantReady {
				t.Errorf("after Step %d, channel %d ready = %v; want %v", i, j, got, wantReady)
			}
		}
	}
	if c.Step() {
		t.Errorf("Step with nothing pending = true; want false")
	}
}

func TestStep_SetsNowToTheDeadlineAndSendsIt(t *testing.T) {
	c := fakeclock.New(t, start)
	ch := c.After(3 * time.Second)
	if next, ok := c.Next(); !ok || !next.Equal(at(3*time.Second)) {
		t.Errorf("Next() = %v, %v; want %v, true", next, ok, at(3*time.Second))
	}
	c.Step()
	if got, want := c.Now(), at(3*time.Second); !got.Equal(want) {
		t.Errorf("Now() after Step = %v; want %v", got, want)
	}
	if v, ok := ready(ch); !ok || !v.Equal(at(3*time.Second)) {
		t.Errorf("received %v, %v; want %v, true", v, ok, at(3*time.Second))
	}
	if _, ok := c.Next(); ok {
		t.Errorf("Next() ok with nothing pending")
	}
}

func TestAdvance_SetsNowToEachTimersOwnDeadline(t *testing.T) {
	c := fakeclock.New(t, start)
	// Channels receive their own deadline, not the time advanced to.
	chs := map[time.Duration]<-chan time.Time{}
	for _, d := range []time.Duration{3 * time.Second, time.Second, 2 * time.Second} {
		chs[d] = c.After(d)
	}
	// Context callbacks run synchronously as each deadline fires, so they
	// see Now() at that moment.
	var seen []time.Duration
	for _, d := range []time.Duration{2500 * time.Millisecond, 1500 * time.Millisecond} {
		ctx, cancel := c.WithTimeout(t.Context(), d)
		defer cancel()
		ctx.(afterFuncer).AfterFunc(func() { seen = append(seen, c.Since(start)) })
	}

	c.Advance(5 * time.Second)

	for d, ch := range chs {
		if v, ok := ready(ch); !ok || !v.Equal(at(d)) {
			t.Errorf("timer of %v received %v, %v; want %v, true", d, v, ok, at(d))
		}
	}
	if diff := cmp.Diff([]time.Duration{1500 * time.Millisecond, 2500 * time.Millisecond}, seen); diff != "" {
		t.Errorf("Now() seen by context callbacks (-want +got):\n%s", diff)
	}
	if got, want := c.Now(), at(5*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v; want %v", got, want)
	}
}

func TestAdvanceTo_FiresTimersArmedWhileAdvancing(t *testing.T) {
	c := fakeclock.New(t, start)
	ctx, cancel := c.WithTimeout(t.Context(), time.Second)
	defer cancel()
	var second <-chan time.Time
	ctx.(afterFuncer).AfterFunc(func() { second = c.After(time.Second) })

	c.AdvanceTo(at(2 * time.Second))

	if v, ok := ready(second); !ok || !v.Equal(at(2*time.Second)) {
		t.Errorf("timer armed at 1s received %v, %v; want %v, true", v, ok, at(2*time.Second))
	}
}

func TestAdvance_LeavesLaterTimersPending(t *testing.T) {
	c := fakeclock.New(t, start)
	ch := c.After(2 * time.Second)
	c.Advance(time.Second)
	if _, ok := ready(ch); ok {
		t.Errorf("timer of 2s fired after Advance(1s)")
	}
	if got := c.Pending(); got != 1 {
		t.Errorf("Pending() = %d; want 1", got)
	}
	c.Advance(time.Second)
	if _, ok := ready(ch); !ok {
		t.Errorf("timer of 2s did not fire after Advance(2s)")
	}
}

func TestNewTimer_StopRemovesAndDrains(t *testing.T) {
	c := fakeclock.New(t, start)

	ch, stop := c.NewTimer(time.Second)
	if got := c.Pending(); got != 1 {
		t.Fatalf("Pending() = %d; want 1", got)
	}
	if !stop() {
		t.Errorf("stop() before firing = false; want true")
	}
	if got := c.Pending(); got != 0 {
		t.Errorf("Pending() after stop = %d; want 0", got)
	}
	if stop() {
		t.Errorf("second stop() = true; want false")
	}
	c.Advance(2 * time.Second)
	if _, ok := ready(ch); ok {
		t.Errorf("stopped timer delivered a value")
	}

	// Fired but unread: stop reports false and drains the stale value.
	ch, stop = c.NewTimer(time.Second)
	c.Step()
	if stop() {
		t.Errorf("stop() after firing = true; want false")
	}
	if _, ok := ready(ch); ok {
		t.Errorf("stop did not drain the fired value")
	}
}

func TestAfterFunc_RunsOnFireAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		var mu sync.Mutex
		var ran []string
		record := func(name string) func() {
			return func() { mu.Lock(); defer mu.Unlock(); ran = append(ran, name+"@"+c.Since(start).String()) }
		}

		stopA := c.AfterFunc(time.Second, record("a"))
		stopB := c.AfterFunc(2*time.Second, record("b"))
		if !stopB() {
			t.Errorf("stop of pending AfterFunc = false; want true")
		}
		c.Step()
		synctest.Wait()
		if stopA() {
			t.Errorf("stop of fired AfterFunc = true; want false")
		}
		c.Advance(time.Minute)
		synctest.Wait()
		if diff := cmp.Diff([]string{"a@1s"}, ran); diff != "" {
			t.Errorf("callbacks run (-want +got):\n%s", diff)
		}
	})
}

func TestZeroAndNegativeDurations_CompleteDuringTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		c.Advance(time.Second)
		now := c.Now()

		for _, d := range []time.Duration{0, -time.Second} {
			if v, ok := ready(c.After(d)); !ok || !v.Equal(now) {
				t.Errorf("After(%v) holds %v, %v; want %v, true", d, v, ok, now)
			}
			ch, stop := c.NewTimer(d)
			if stop() {
				t.Errorf("NewTimer(%v) stop() = true; want false", d)
			}
			if _, ok := ready(ch); ok {
				t.Errorf("NewTimer(%v) stop did not drain", d)
			}
			c.Sleep(d)
			ran := make(chan struct{})
			c.AfterFunc(d, func() { close(ran) })
			<-ran // virtual wait: the bubble reports a deadlock if f never runs
			ctx, cancel := c.WithTimeout(t.Context(), d)
			if err := ctx.Err(); err != context.DeadlineExceeded {
				t.Errorf("WithTimeout(%v).Err() = %v; want %v", d, err, context.DeadlineExceeded)
			}
			cancel()
		}
		ctx, cancel := c.WithDeadline(t.Context(), now)
		defer cancel()
		if err := ctx.Err(); err != context.DeadlineExceeded {
			t.Errorf("WithDeadline(Now()).Err() = %v; want %v", err, context.DeadlineExceeded)
		}
		if got := c.Pending(); got != 0 {
			t.Errorf("Pending() = %d; want 0: zero waits register no timer", got)
		}
	})
}

func TestSleep_WokenByStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		woke := make(chan time.Time)
		go func() {
			c.Sleep(time.Hour)
			woke <- c.Now()
		}()
		synctest.Wait()
		if got := c.Pending(); got != 1 {
			t.Fatalf("Pending() with one sleeper = %d; want 1", got)
		}
		c.Step()
		if got, want := <-woke, at(time.Hour); !got.Equal(want) {
			t.Errorf("sleeper woke at %v; want %v", got, want)
		}
	})
}

func TestClock_ConcurrentUseIsRaceFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 50 {
					d := time.Duration(i*50+j) * time.Millisecond
					ch, stop := c.NewTimer(d)
					ctx, cancel := c.WithTimeout(t.Context(), d)
					c.AfterFunc(d, func() { _ = c.Now() })
					if j%2 == 0 {
						stop()
						cancel()
					} else {
						c.Step()
						_, _ = ready(ch)
						_ = ctx.Err()
						cancel()
					}
				}
			})
		}
		wg.Wait()
		c.Advance(time.Hour)
		synctest.Wait()
		if got := c.Pending(); got != 0 {
			t.Errorf("Pending() = %d; want 0", got)
		}
	})
}

func TestReach_DistanceToTheEarliestTimer(t *testing.T) {
	c := fakeclock.New(t, time.Unix(0, 0))
	if got := c.Reach(); got != 0 {
		t.Fatalf("Reach() with no timer = %v; want 0", got)
	}
	c.After(3 * time.Second)
	c.After(time.Second)
	if got := c.Reach(); got != time.Second {
		t.Fatalf("Reach() = %v; want 1s", got)
	}
	c.Step()
	if got := c.Reach(); got != 2*time.Second {
		t.Fatalf("Reach() after a Step = %v; want 2s", got)
	}
}
