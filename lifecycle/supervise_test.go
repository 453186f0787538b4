package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// vclock is a clock on virtual time for a test inside a synctest bubble,
// with the way to move it.
type vclock struct {
	lifecycle.Clock
	t0    time.Time                  // the time the test began
	opts  []lifecycle.Option         // gives a Manager this clock (none: the default)
	drive func(done <-chan struct{}) // moves time on until done is closed
}

// since returns the virtual time since the test began.
func (vc *vclock) since() time.Duration { return vc.Since(vc.t0) }

// manager returns a Manager on vc, silenced, with opts added.
func (vc *vclock) manager(opts ...lifecycle.Option) *lifecycle.Manager {
	return lifecycle.NewManager(append(append([]lifecycle.Option{quiet}, vc.opts...), opts...)...)
}

// run runs m until ctx is done, moving time, and returns when Run returned
// (relative to t0).
func (vc *vclock) run(m *lifecycle.Manager, ctx context.Context) time.Duration {
	done := make(chan struct{})
	var returned time.Duration
	go func() {
		defer close(done)
		m.Run(ctx)
		returned = vc.since()
	}()
	vc.drive(done)
	return returned
}

// runUntil runs m on a context cancelled at cancelAt on vc; see run.
func (vc *vclock) runUntil(m *lifecycle.Manager, cancelAt time.Duration) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if sleepOn(ctx, vc, cancelAt) {
			cancel()
		}
	}()
	return vc.run(m, ctx)
}

// clockCases are the clocks a Manager runs on in exact-timing tests: the
// default (package time, virtual in a bubble), a plain Clock whose waits use
// After (benbjohnson's real clock), and a TimerClock (the fake clock).
var clockCases = []struct {
	name string
	new  func(t *testing.T) *vclock
}{
	{"default", func(t *testing.T) *vclock {
		return &vclock{Clock: clock.New(), t0: time.Now(), drive: waitClosed}
	}},
	{"benbjohnson", func(t *testing.T) *vclock {
		c := clock.New()
		return &vclock{Clock: c, t0: c.Now(), opts: []lifecycle.Option{lifecycle.WithClock(c)}, drive: waitClosed}
	}},
	{"fakeclock", func(t *testing.T) *vclock {
		c := fakeclock.New(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		return &vclock{Clock: c, t0: c.Now(), opts: []lifecycle.Option{lifecycle.WithClock(c)}, drive: c.Drive}
	}},
}

// defaultClock is the default clock case: package time in the bubble.
func defaultClock(t *testing.T) *vclock { return clockCases[0].new(t) }

func waitClosed(done <-chan struct{}) { <-done }

// sleepOn waits d on c and reports true, or reports false once ctx is done.
func sleepOn(ctx context.Context, c lifecycle.Clock, d time.Duration) bool {
	if tc, ok := c.(lifecycle.TimerClock); ok {
		ch, stop := tc.NewTimer(d)
		defer stop()
		select {
		case <-ch:
			return true
		case <-ctx.Done():
			return false
		}
	}
	select {
	case <-c.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// ending is how a scripted attempt ends.
type ending int

const (
	endError  ending = iota // returns an error
	endNil                  // returns nil
	endPanic                // panics
	endGoexit               // calls runtime.Goexit
)

func (e ending) String() string { return [...]string{"error", "nil", "panic", "goexit"}[e] }

// attempt is one scripted call of Run: it runs for run on the clock (or
// until ctx is done, then returns ctx.Err()), then ends as end says.
type attempt struct {
	run time.Duration
	end ending
}

// scripted is a Runner whose n-th call follows plan[n] (the last entry
// repeats). It records when each call started.
type scripted struct {
	vc      *vclock
	plan    []attempt
	onStart func(n int) // if set, called at the start of the n-th call (from 1)

	mu     sync.Mutex
	starts []time.Time
}

func (s *scripted) Run(ctx context.Context) error {
	s.mu.Lock()
	s.starts = append(s.starts, s.vc.Now())
	n := len(s.starts)
	s.mu.Unlock()
	if s.onStart != nil {
		s.onStart(n)
	}
	a := s.plan[min(n, len(s.plan))-1]
	if a.run > 0 && !sleepOn(ctx, s.vc, a.run) {
		return ctx.Err()
	}
	switch a.end {
	case endNil:
		return nil
	case endPanic:
		panic(fmt.Sprintf("scripted panic in attempt %d", n))
	case endGoexit:
		runtime.Goexit()
	}
	return fmt.Errorf("scripted failure of attempt %d", n)
}

// startedAt returns the start times relative to the start of the test.
func (s *scripted) startedAt() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]time.Duration, len(s.starts))
	for i, st := range s.starts {
		out[i] = st.Sub(s.vc.t0)
	}
	return out
}

// atSecs returns the durations of so many seconds.
func atSecs(ss ...int) []time.Duration { return durationsOf(time.Second, ss...) }

// atMsecs returns the durations of so many milliseconds.
func atMsecs(ms ...int) []time.Duration { return durationsOf(time.Millisecond, ms...) }

func durationsOf(unit time.Duration, ns ...int) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n) * unit
	}
	return out
}

func TestRun_InstantFailureStartTimesWithDefaults(t *testing.T) {
	for _, cc := range clockCases {
		t.Run(cc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vc := cc.new(t)
				m := vc.manager()
				svc := &scripted{vc: vc, plan: []attempt{{0, endError}}}
				m.Register("flaky", svc)
				returned := vc.runUntil(m, 100*time.Second)
				if got, want := svc.startedAt(), atSecs(0, 1, 3, 7, 15, 31, 61, 91); !slices.Equal(got, want) {
					t.Errorf("starts = %v; want %v", got, want)
				}
				if want := 100 * time.Second; returned != want {
					t.Errorf("Run returned at %v; want %v", returned, want)
				}
			})
		})
	}
}

func TestRun_RunnerThatRunsResetWindowWaitsInitialEveryTime(t *testing.T) {
	for _, cc := range clockCases {
		t.Run(cc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vc := cc.new(t)
				m := vc.manager()
				svc := &scripted{vc: vc, plan: []attempt{{60 * time.Second, endError}}}
				m.Register("slow", svc)
				vc.runUntil(m, 250*time.Second)
				if got, want := svc.startedAt(), atSecs(0, 61, 122, 183, 244); !slices.Equal(got, want) {
					t.Errorf("starts = %v; want %v", got, want)
				}
			})
		})
	}
}

func TestRun_ResetBoundary(t *testing.T) {
	const reset = 5 * time.Second
	tests := []struct {
		name string
		ran  time.Duration // how long the fourth attempt runs
		want []time.Duration
	}{
		// Attempts 1-3 fail at once (waits 1s, 2s, 4s); attempt 4 starts at 7s.
		{"ran exactly reset: resets", reset, atSecs(0, 1, 3, 7, 13, 15, 19, 27)},
		{"ran longer than reset: resets", reset + time.Second, atSecs(0, 1, 3, 7, 14, 16, 20, 28)},
		{"ran reset-1ns: no reset", reset - 1, []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 20*time.Second - 1}},
	}
	for _, tt := range tests {
		for _, cc := range clockCases {
			t.Run(tt.name+"/"+cc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					vc := cc.new(t)
					m := vc.manager()
					m.SetBackoff(time.Second, 30*time.Second, reset)
					svc := &scripted{vc: vc, plan: []attempt{{0, endError}, {0, endError}, {0, endError}, {tt.ran, endError}, {0, endError}}}
					m.Register("svc", svc)
					vc.runUntil(m, 30*time.Second)
					if got := svc.startedAt(); !slices.Equal(got, tt.want) {
						t.Errorf("starts = %v; want %v", got, tt.want)
					}
				})
			})
		}
	}
}

func TestRun_BackoffSaturatesAtHugeMaximum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		vc := &vclock{Clock: clk, t0: clk.Now(), opts: []lifecycle.Option{lifecycle.WithClock(clk)}, drive: clk.Drive}
		m := vc.manager()
		// Doubling 1<<62 would overflow int64; the delay must saturate at
		// the maximum instead.
		m.SetBackoff(1<<61, math.MaxInt64, math.MaxInt64)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		svc := &scripted{vc: vc, plan: []attempt{{0, endError}}, onStart: func(n int) {
			if n == 5 {
				cancel()
			}
		}}
		m.Register("svc", svc)
		vc.run(m, ctx)

		var gaps []time.Duration
		for i := 1; i < len(svc.starts); i++ {
			gaps = append(gaps, svc.starts[i].Sub(svc.starts[i-1]))
		}
		want := []time.Duration{1 << 61, 1 << 62, math.MaxInt64, math.MaxInt64}
		if !slices.Equal(gaps, want) {
			t.Errorf("gaps between starts = %v; want %v", gaps, want)
		}
	})
}

func TestRun_RestartsAndLogsEveryKindOfFailure(t *testing.T) {
	for _, end := range []ending{endError, endNil, endPanic, endGoexit} {
		t.Run(end.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs logBuffer
				vc := defaultClock(t)
				m := vc.manager(logs.option())
				svc := &scripted{vc: vc, plan: []attempt{{0, end}}}
				m.Register("svc-"+end.String(), svc)
				m.Register("healthy", idle{})
				returned := vc.runUntil(m, 4*time.Second)

				if got, want := svc.startedAt(), atSecs(0, 1, 3); !slices.Equal(got, want) {
					t.Errorf("starts = %v; want %v", got, want)
				}
				if want := 4 * time.Second; returned != want {
					t.Errorf("Run returned at %v; want %v", returned, want)
				}
				failures := logs.lines("level=ERROR", "service=svc-"+end.String())
				if got, want := len(failures), 3; got != want {
					t.Fatalf("got %d error lines naming the service; want %d:\n%s", got, want, logs.String())
				}
				for _, line := range failures {
					if end == endPanic {
						for _, want := range []string{"scripted panic in attempt", "stack=", "goroutine ", "(*scripted).Run"} {
							if !strings.Contains(line, want) {
								t.Errorf("panic log %q; want it to contain %q", line, want)
							}
						}
					} else if strings.Contains(line, "stack=") {
						t.Errorf("log %q has a stack; want one only for panics", line)
					}
				}
				if lines := logs.lines("service=healthy"); len(lines) != 0 {
					t.Errorf("healthy service logged %q; want nothing", lines)
				}
			})
		})
	}
}

func TestRun_NothingStartsAfterCancel(t *testing.T) {
	tests := []struct {
		name     string
		plan     []attempt
		cancelAt time.Duration
		want     []time.Duration
	}{
		{"cancelled during backoff", []attempt{{0, endError}}, 2500 * time.Millisecond, atSecs(0, 1)},
		{"cancelled while running", []attempt{{0, endError}, {time.Hour, endError}}, 2500 * time.Millisecond, atSecs(0, 1)},
	}
	for _, tt := range tests {
		for _, cc := range clockCases {
			t.Run(tt.name+"/"+cc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					vc := cc.new(t)
					m := vc.manager()
					svc := &scripted{vc: vc, plan: tt.plan}
					m.Register("svc", svc)
					returned := vc.runUntil(m, tt.cancelAt)
					if got := svc.startedAt(); !slices.Equal(got, tt.want) {
						t.Errorf("starts = %v; want %v", got, tt.want)
					}
					if returned != tt.cancelAt {
						t.Errorf("Run returned at %v; want %v", returned, tt.cancelAt)
					}
				})
			})
		}
	}
}

func TestRun_ReturnAfterCancelIsNeverRestarted(t *testing.T) {
	for _, end := range []ending{endError, endNil, endPanic, endGoexit} {
		t.Run(end.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs logBuffer
				vc := defaultClock(t)
				m := vc.manager(logs.option())
				var calls atomic.Int32
				m.Register("svc", runFunc(func(ctx context.Context) error {
					calls.Add(1)
					<-ctx.Done()
					switch end {
					case endNil:
						return nil
					case endPanic:
						panic("after cancel")
					case endGoexit:
						runtime.Goexit()
					}
					return errors.New("after cancel")
				}))
				returned := vc.runUntil(m, 10*time.Second)
				time.Sleep(time.Hour) // a restart would happen in here
				if got := calls.Load(); got != 1 {
					t.Errorf("Run called %d times; want 1", got)
				}
				if want := 10 * time.Second; returned != want {
					t.Errorf("Run returned at %v; want %v", returned, want)
				}
				if lines := logs.lines("restart"); len(lines) != 0 {
					t.Errorf("logged %q; want no restart", lines)
				}
			})
		})
	}
}

func TestRun_ContextAlreadyDoneStartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		var calls atomic.Int32
		for _, name := range []string{"a", "b", "c"} {
			m.Register(name, runFunc(func(ctx context.Context) error {
				calls.Add(1)
				return nil
			}))
		}
		start := time.Now()
		m.Run(cancelled())
		if got := time.Since(start); got != 0 {
			t.Errorf("Run took %v; want 0", got)
		}
		synctest.Wait()
		if got := calls.Load(); got != 0 {
			t.Errorf("Runners called %d times; want 0", got)
		}
	})
}

func TestRun_WaitsForEveryRunnerToReturn(t *testing.T) {
	for _, cc := range clockCases {
		t.Run(cc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vc := cc.new(t)
				m := vc.manager()
				var returnedAt atomic.Int64
				m.Register("prompt", idle{})
				m.Register("stubborn", runFunc(func(ctx context.Context) error {
					<-ctx.Done()
					sleepOn(context.Background(), vc, 5*time.Second) // ignores ctx for 5s
					returnedAt.Store(int64(vc.since()))
					return nil
				}))
				m.Register("other", idle{})
				returned := vc.runUntil(m, 10*time.Second)
				if want := 15 * time.Second; returned != want {
					t.Errorf("Run returned at %v; want %v", returned, want)
				}
				if got := time.Duration(returnedAt.Load()); got != 15*time.Second {
					t.Errorf("the stubborn Runner returned at %v; want %v, before Run", got, 15*time.Second)
				}
			})
		})
	}
}

func TestRun_StartsEveryServiceAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		m := vc.manager()
		var svcs []*scripted
		for i := range 5 {
			svc := &scripted{vc: vc, plan: []attempt{{time.Duration(i+1) * time.Second, endError}}}
			svcs = append(svcs, svc)
			m.Register(fmt.Sprint("svc", i), svc)
		}
		vc.runUntil(m, 500*time.Millisecond)
		for i, svc := range svcs {
			if got, want := svc.startedAt(), atSecs(0); !slices.Equal(got, want) {
				t.Errorf("service %d starts = %v; want %v", i, got, want)
			}
		}
	})
}

func TestSetBackoff_WhileRunningTakesEffectAtNextRestart(t *testing.T) {
	t.Run("from another goroutine during a wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			vc := defaultClock(t)
			m := vc.manager()
			svc := &scripted{vc: vc, plan: []attempt{{0, endError}}}
			m.Register("svc", svc)
			// At 5s the service is waiting 4s (3s to 7s), and 8s is
			// already its next delay (docs/contract.md, C2.6): both stand; the
			// doubling after them is capped by the new maximum.
			timer := time.AfterFunc(5*time.Second, func() { m.SetBackoff(500*time.Millisecond, 500*time.Millisecond, time.Hour) })
			defer timer.Stop()
			vc.runUntil(m, 16250*time.Millisecond)
			if got, want := svc.startedAt(), atMsecs(0, 1000, 3000, 7000, 15000, 15500, 16000); !slices.Equal(got, want) {
				t.Errorf("starts = %v; want %v", got, want)
			}
		})
	})
	t.Run("raising initial waits for a reset", func(t *testing.T) {
		// docs/contract.md, C2.4: initial is used only when a run of at least reset
		// starts the doubling again.
		synctest.Test(t, func(t *testing.T) {
			vc := defaultClock(t)
			m := vc.manager()
			svc := &scripted{vc: vc, plan: []attempt{{0, endError}}}
			m.Register("svc", svc)
			timer := time.AfterFunc(5*time.Second, func() { m.SetBackoff(10*time.Second, 20*time.Second, time.Hour) })
			defer timer.Stop()
			vc.runUntil(m, 40*time.Second)
			// The waits of 4s and 8s stand; doubling then reaches the new
			// maximum of 20s.
			if got, want := svc.startedAt(), atSecs(0, 1, 3, 7, 15, 31); !slices.Equal(got, want) {
				t.Errorf("starts = %v; want %v", got, want)
			}
		})
	})
	t.Run("from the Runner", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			vc := defaultClock(t)
			m := vc.manager()
			svc := &scripted{vc: vc, plan: []attempt{{0, endError}}, onStart: func(n int) {
				if n == 3 {
					m.SetBackoff(100*time.Millisecond, 200*time.Millisecond, time.Hour)
				}
			}}
			m.Register("svc", svc)
			// Attempt 3 still waits its 4s; the new maximum caps the
			// doubling after it.
			vc.runUntil(m, 7500*time.Millisecond)
			if got, want := svc.startedAt(), atMsecs(0, 1000, 3000, 7000, 7200, 7400); !slices.Equal(got, want) {
				t.Errorf("starts = %v; want %v", got, want)
			}
		})
	})
	t.Run("concurrently with many services", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			vc := defaultClock(t)
			m := vc.manager()
			m.SetBackoff(time.Millisecond, time.Millisecond, time.Hour)
			for i := range 4 {
				m.Register(fmt.Sprint("svc", i), &scripted{vc: vc, plan: []attempt{{0, endError}}})
			}
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				for i := range 100 {
					time.Sleep(time.Millisecond / 3)
					m.SetBackoff(time.Millisecond, time.Duration(i+1)*time.Millisecond, time.Hour)
				}
				cancel()
			}()
			vc.run(m, ctx)
		})
	})
}

func TestRun_ErrFinishedEndsTheServiceButNotRun(t *testing.T) {
	for name, err := range map[string]error{
		"bare":    lifecycle.ErrFinished,
		"wrapped": fmt.Errorf("migrated every row: %w", lifecycle.ErrFinished),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vc := defaultClock(t)
				m := vc.manager()
				var calls atomic.Int32
				m.Register("migrate", runFunc(func(context.Context) error {
					calls.Add(1)
					return err
				}))
				svc := &scripted{vc: vc, plan: []attempt{{0, endError}}}
				m.Register("flaky", svc)
				returned := vc.runUntil(m, 4*time.Second)
				if got := calls.Load(); got != 1 {
					t.Errorf("finished service called %d times; want 1", got)
				}
				if got, want := svc.startedAt(), atSecs(0, 1, 3); !slices.Equal(got, want) {
					t.Errorf("other service starts = %v; want %v", got, want)
				}
				if want := 4 * time.Second; returned != want {
					t.Errorf("Run returned at %v; want %v", returned, want)
				}
			})
		})
	}
}

// cancelOnWait is a Clock whose every wait cancels a context and is over at
// once: the restart delay and cancellation end at the same instant.
type cancelOnWait struct {
	lifecycle.Clock
	cancel context.CancelFunc
}

func (c cancelOnWait) After(time.Duration) <-chan time.Time {
	c.cancel()
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

func TestRun_NoRestartWhenCancelledAtTheRestartInstant(t *testing.T) {
	// Each service's restart delay ends as ctx is cancelled; which of the
	// two the Manager sees first is a coin toss, so 32 services make a
	// restart after cancellation all but certain to show. (A service's
	// first call may still begin while another's wait cancels ctx: its
	// check came first, as Run's doc allows. A second call may not: its
	// own wait ended with cancellation.)
	ctx, cancel := context.WithCancel(t.Context())
	m := lifecycle.NewManager(quiet, lifecycle.WithClock(cancelOnWait{clock.New(), cancel}))
	var calls [32]atomic.Int32
	for i := range calls {
		m.Register(fmt.Sprint("svc", i), runFunc(func(ctx context.Context) error {
			calls[i].Add(1)
			return errors.New("fails at once")
		}))
	}
	m.Run(ctx)
	for i := range calls {
		if got := calls[i].Load(); got > 1 {
			t.Errorf("svc%d called %d times; want at most once: no restart once its wait ended with cancellation", i, got)
		}
	}
}
