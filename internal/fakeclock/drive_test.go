package fakeclock_test

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

func TestDrive_WakesSleepersInDeadlineOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bubbleStart := time.Now()
		c := fakeclock.New(t, start)
		type wake struct {
			Name string
			At   time.Duration
		}
		var mu sync.Mutex
		var wakes []wake // in the order the sleepers ran after waking

		var wg sync.WaitGroup
		sleep := func(name string, ds ...time.Duration) {
			wg.Go(func() {
				for _, d := range ds {
					c.Sleep(d)
					mu.Lock()
					wakes = append(wakes, wake{name, c.Since(start)})
					mu.Unlock()
				}
			})
		}
		sleep("a", 5*time.Second)
		sleep("b", time.Second, 3*time.Second) // wakes at 1s, then 4s
		sleep("c", 2*time.Second)
		sleep("d", 3*time.Second)
		c.AfterFunc(2500*time.Millisecond, func() {
			mu.Lock()
			defer mu.Unlock()
			wakes = append(wakes, wake{"f", c.Since(start)})
		})
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		c.Drive(done)

		want := []wake{{"b", 1 * time.Second}, {"c", 2 * time.Second}, {"f", 2500 * time.Millisecond},
			{"d", 3 * time.Second}, {"b", 4 * time.Second}, {"a", 5 * time.Second}}
		if diff := cmp.Diff(want, wakes); diff != "" {
			t.Errorf("wake order (-want +got):\n%s", diff)
		}
		if elapsed := time.Since(bubbleStart); elapsed != 0 {
			t.Errorf("bubble time moved by %v; want 0: Drive must use virtual time only", elapsed)
		}
	})
}

func TestDrive_ReturnsAtOnceWhenDoneIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		c.After(time.Second)
		done := make(chan struct{})
		close(done)
		c.Drive(done)
		if got := c.Pending(); got != 1 {
			t.Errorf("Pending() = %d; want 1: nothing fired", got)
		}
	})
}

func TestDrive_DeadlockFailsTheTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := &recordTB{}
		c := fakeclock.New(tb, start)
		never := make(chan struct{}) // a wait that no timer ends
		done := make(chan struct{})
		go func() {
			<-c.After(time.Second)
			<-never
			close(done)
		}()

		msg := expectMisuse(t, tb, func() { c.Drive(done) })

		if want := "fakeclock: deadlock at " + at(time.Second).String() + ": nothing pending and done not closed"; msg != want {
			t.Errorf("message %q; want %q", msg, want)
		}
		close(never)
		<-done
	})
}

func TestDrive_StepLimitFailsTheTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := &recordTB{}
		c := fakeclock.New(tb, start)
		c.SetStepLimit(10)
		quit := make(chan struct{})
		stopped := make(chan struct{})
		go func() { // a retry loop that never gives up
			defer close(stopped)
			for {
				select {
				case <-c.After(time.Second):
				case <-quit:
					return
				}
			}
		}()

		msg := expectMisuse(t, tb, func() { c.Drive(nil) })

		for _, want := range []string{"step limit of 10", "at " + at(10*time.Second).String()} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not contain %q", msg, want)
			}
		}
		close(quit)
		<-stopped
	})
}

func TestDrive_OutsideBubbleFailsTheTest(t *testing.T) {
	tb := &recordTB{}
	c := fakeclock.New(tb, start)
	msg := expectMisuse(t, tb, func() { c.Drive(nil) })
	if !strings.Contains(msg, "synctest bubble") {
		t.Errorf("message %q; want it to mention the synctest bubble", msg)
	}
}

func TestAdvanceTo_BackwardsFailsTheTest(t *testing.T) {
	tb := &recordTB{}
	c := fakeclock.New(tb, start)
	msg := expectMisuse(t, tb, func() { c.AdvanceTo(at(-time.Nanosecond)) })
	if !strings.Contains(msg, "back") {
		t.Errorf("message %q; want it to say time would move back", msg)
	}
}

func TestAdvance_NegativeFailsTheTest(t *testing.T) {
	tb := &recordTB{}
	c := fakeclock.New(tb, start)
	msg := expectMisuse(t, tb, func() { c.Advance(-time.Second) })
	if !strings.Contains(msg, "negative") {
		t.Errorf("message %q; want it to say the duration is negative", msg)
	}
}

func TestMisuse_NilTBPanics(t *testing.T) {
	c := fakeclock.New(nil, start)
	for name, f := range map[string]func(){
		"AdvanceTo backwards": func() { c.AdvanceTo(at(-time.Second)) },
		"Advance negative":    func() { c.Advance(-time.Second) },
		"Drive outside":       func() { c.Drive(nil) },
		"nil parent": func() {
			//lint:ignore SA1012 a nil parent is the misuse under test
			c.WithTimeout(nil, time.Second)
		},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "fakeclock: ") {
					t.Errorf("%s: panic %q; want a message starting %q", name, msg, "fakeclock: ")
				}
			}()
			f()
		}()
	}
}

// goexitTB behaves like testing.T: Fatalf records and ends the goroutine.
type goexitTB struct{ recordTB }

func (g *goexitTB) Fatalf(format string, args ...any) {
	g.recordTB.Fatalf(format, args...)
	runtime.Goexit()
}

func TestMisuse_StopsTheCallerLikeTestingT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := &goexitTB{}
		c := fakeclock.New(tb, start)
		exited := make(chan struct{})
		var reached bool
		go func() {
			defer close(exited)
			c.Advance(-time.Second)
			reached = true
		}()
		<-exited
		if reached {
			t.Errorf("code after the misuse ran; want the goroutine stopped")
		}
		if got := len(tb.messages()); got != 1 {
			t.Errorf("Fatalf called %d times; want 1", got)
		}
	})
}
