package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// eventLog collects events; it is safe for concurrent use.
type eventLog struct {
	mu  sync.Mutex
	evs []lifecycle.Event
}

func (l *eventLog) record(e lifecycle.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
}

// lines renders the events of one service (all if service is ""), one line
// each with every field, times as virtual offsets from extEpoch.
func (l *eventLog) lines(service string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.evs {
		if service == "" || e.Service == service {
			out = append(out, eventLine(e))
		}
	}
	return out
}

func eventLine(e lifecycle.Event) string {
	var panicked any
	if pe := (*lifecycle.PanicError)(nil); errors.As(e.Err, &pe) {
		panicked = pe.Value
	}
	return fmt.Sprintf("%v %s @%v #%d %v err=%v panic=%v d=%v canceled=%v",
		e.Kind, e.Service, e.Time.Sub(extEpoch), e.Attempt, e.Outcome, e.Err, panicked, e.Duration, e.Canceled)
}

// diffLines reports a mismatch between two renderings of events.
func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got:\n\t%s\nwant:\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// extRunner is a Runner made of a function.
type extRunner func(ctx context.Context) error

func (f extRunner) Run(ctx context.Context) error { return f(ctx) }

// extStopper is an idle Runner whose Stop is a function.
type extStopper func(ctx context.Context) error

func (extStopper) Run(ctx context.Context) error    { <-ctx.Done(); return ctx.Err() }
func (f extStopper) Stop(ctx context.Context) error { return f(ctx) }

// runManager runs m on a goroutine of the bubble with a context that clk
// cancels at virtual time stop, drives clk until Run returns, and returns
// the virtual time it returned.
func runManager(t *testing.T, clk *fakeclock.Clock, m *lifecycle.Manager, stop time.Duration) time.Duration {
	t.Helper()
	ctx := cancelOnClock(t, clk, stop)
	var ended time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
		ended = clk.Since(extEpoch)
	}()
	clk.Drive(done)
	return ended
}

func TestEvents_EveryAttemptOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		var log eventLog
		m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
		errBad := errors.New("bad")
		attempt := 0
		m.Register("svc", extRunner(func(ctx context.Context) error {
			switch attempt++; attempt {
			case 1:
				workOnClock(ctx, clk, 2*time.Second)
				return errBad
			case 2:
				workOnClock(ctx, clk, 3*time.Second)
				return nil
			case 3:
				panic("boom")
			case 4:
				runtime.Goexit()
			}
			workOnClock(ctx, clk, time.Second)
			return fmt.Errorf("migrated: %w", lifecycle.ErrFinished)
		}))

		if ended := runManager(t, clk, m, 100*time.Second); ended != 100*time.Second {
			t.Errorf("Run returned at %v; want 100s, when ctx was cancelled", ended)
		}

		const panicErr = `lifecycle: service "svc" panicked: boom`
		diffLines(t, "events", log.lines(""), []string{
			"AttemptStarted svc @0s #1 none err=<nil> panic=<nil> d=0s canceled=false",
			"AttemptEnded svc @2s #1 error err=bad panic=<nil> d=2s canceled=false",
			"BackingOff svc @2s #1 none err=<nil> panic=<nil> d=1s canceled=false",
			"AttemptStarted svc @3s #2 none err=<nil> panic=<nil> d=0s canceled=false",
			"AttemptEnded svc @6s #2 nil err=<nil> panic=<nil> d=3s canceled=false",
			"BackingOff svc @6s #2 none err=<nil> panic=<nil> d=2s canceled=false",
			"AttemptStarted svc @8s #3 none err=<nil> panic=<nil> d=0s canceled=false",
			"AttemptEnded svc @8s #3 panic err=" + panicErr + " panic=boom d=0s canceled=false",
			"BackingOff svc @8s #3 none err=<nil> panic=<nil> d=4s canceled=false",
			"AttemptStarted svc @12s #4 none err=<nil> panic=<nil> d=0s canceled=false",
			"AttemptEnded svc @12s #4 goexit err=lifecycle: runtime.Goexit called panic=<nil> d=0s canceled=false",
			"BackingOff svc @12s #4 none err=<nil> panic=<nil> d=8s canceled=false",
			"AttemptStarted svc @20s #5 none err=<nil> panic=<nil> d=0s canceled=false",
			"AttemptEnded svc @21s #5 finished err=migrated: lifecycle: service finished panic=<nil> d=1s canceled=false",
		})

		// The error values themselves, not only their text.
		log.mu.Lock()
		defer log.mu.Unlock()
		var pe *lifecycle.PanicError
		if e := log.evs[1]; e.Err != errBad {
			t.Errorf("attempt 1 Err = %#v; want the very error Run returned", e.Err)
		}
		if e := log.evs[7]; !errors.As(e.Err, &pe) || pe.Service != "svc" || pe.Value != "boom" || len(pe.Stack) == 0 {
			t.Errorf("attempt 3 Err = %#v; want a *PanicError for svc with value boom and a stack", e.Err)
		}
		if e := log.evs[10]; !errors.Is(e.Err, lifecycle.ErrGoexit) {
			t.Errorf("attempt 4 Err = %v; want ErrGoexit", e.Err)
		}
		if e := log.evs[13]; !errors.Is(e.Err, lifecycle.ErrFinished) {
			t.Errorf("attempt 5 Err = %v; want one matching ErrFinished", e.Err)
		}
	})
}

func TestEvents_AttemptEndedAfterCancelIsCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		var log eventLog
		m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
		m.Register("honours", extRunner(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }))
		m.Register("panics", extRunner(func(ctx context.Context) error { <-ctx.Done(); panic("late") }))
		m.Register("finishes", extRunner(func(ctx context.Context) error { <-ctx.Done(); return lifecycle.ErrFinished }))
		m.Register("slow", extRunner(func(ctx context.Context) error {
			<-ctx.Done()
			workOnClock(context.Background(), clk, 2*time.Second) // cleans up after the cancel
			return nil
		}))

		if ended := runManager(t, clk, m, 5*time.Second); ended != 7*time.Second {
			t.Errorf("Run returned at %v; want 7s, when the slow Runner returned", ended)
		}

		for svc, want := range map[string][]string{
			"honours": {"AttemptStarted honours @0s #1 none err=<nil> panic=<nil> d=0s canceled=false",
				"AttemptEnded honours @5s #1 error err=context canceled panic=<nil> d=5s canceled=true"},
			"panics": {"AttemptStarted panics @0s #1 none err=<nil> panic=<nil> d=0s canceled=false",
				`AttemptEnded panics @5s #1 panic err=lifecycle: service "panics" panicked: late panic=late d=5s canceled=true`},
			"finishes": {"AttemptStarted finishes @0s #1 none err=<nil> panic=<nil> d=0s canceled=false",
				"AttemptEnded finishes @5s #1 finished err=lifecycle: service finished panic=<nil> d=5s canceled=true"},
			"slow": {"AttemptStarted slow @0s #1 none err=<nil> panic=<nil> d=0s canceled=false",
				"AttemptEnded slow @7s #1 nil err=<nil> panic=<nil> d=7s canceled=true"},
		} {
			diffLines(t, svc+" events", log.lines(svc), want)
		}
	})
}

func TestEvents_BackingOffFollowsBackoffAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		var log eventLog
		m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
		m.SetBackoff(time.Second, 4*time.Second, 10*time.Second)
		runs := []time.Duration{0, 0, 0, 0, 10 * time.Second, 0} // the fifth attempt runs the reset window
		m.Register("svc", extRunner(func(ctx context.Context) error {
			d := runs[0]
			runs = runs[1:]
			if len(runs) == 0 {
				<-ctx.Done()
				return nil
			}
			return workOnClock(ctx, clk, d)
		}))

		runManager(t, clk, m, time.Minute)

		var delays []time.Duration
		for _, e := range log.evs {
			if e.Kind == lifecycle.BackingOff {
				delays = append(delays, e.Duration)
			}
		}
		// 1, 2, 4, 4 (capped); then a 10s run resets to 1.
		if want := tickSecs(1, 2, 4, 4, 1); !slices.Equal(delays, want) {
			t.Errorf("BackingOff delays %v; want %v", delays, want)
		}
	})
}

func TestEvents_StopCalledEndedAndAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		var log eventLog
		m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
		release := make(chan struct{})
		m.Register("db", extStopper(func(ctx context.Context) error { return workOnClock(ctx, clk, time.Second) }))
		m.Register("cache", extStopper(func(ctx context.Context) error {
			workOnClock(ctx, clk, 2*time.Second)
			return errors.New("flush failed")
		}))
		m.Register("queue", extStopper(func(ctx context.Context) error { <-release; return nil })) // ignores ctx
		m.Register("exits", extStopper(func(ctx context.Context) error { runtime.Goexit(); return nil }))
		m.Register("api", extStopper(func(ctx context.Context) error { panic("stop boom") }))

		var rep lifecycle.StopReport
		done := make(chan struct{})
		go func() { defer close(done); rep = m.Shutdown(50 * time.Second) }()
		clk.Drive(done)
		close(release)

		// Budget 50s/5 = 10s each, called last registered first.
		diffLines(t, "stop events", log.lines(""), []string{
			"StopCalled api @0s #0 none err=<nil> panic=<nil> d=10s canceled=false",
			`StopEnded api @0s #0 panic err=lifecycle: service "api" panicked: stop boom panic=stop boom d=0s canceled=false`,
			"StopCalled exits @0s #0 none err=<nil> panic=<nil> d=10s canceled=false",
			"StopEnded exits @0s #0 goexit err=lifecycle: runtime.Goexit called panic=<nil> d=0s canceled=false",
			"StopCalled queue @0s #0 none err=<nil> panic=<nil> d=10s canceled=false",
			"StopAbandoned queue @10s #0 none err=<nil> panic=<nil> d=10s canceled=false",
			"StopCalled cache @10s #0 none err=<nil> panic=<nil> d=10s canceled=false",
			"StopEnded cache @12s #0 error err=flush failed panic=<nil> d=2s canceled=false",
			"StopCalled db @12s #0 none err=<nil> panic=<nil> d=10s canceled=false",
			"StopEnded db @13s #0 nil err=<nil> panic=<nil> d=1s canceled=false",
		})
		if got := rep.End.Sub(extEpoch); got != 13*time.Second {
			t.Errorf("Shutdown ended at %v; want 13s", got)
		}
	})
}

func TestEvents_CalledFromConcurrentServices(t *testing.T) {
	// Run with -race: events arrive from every supervising goroutine; each
	// service's own events stay in order.
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		var log eventLog
		m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
		names := []string{"a", "b", "c", "d"}
		for _, n := range names {
			m.Register(n, extRunner(func(ctx context.Context) error { return errors.New(n) }))
		}

		runManager(t, clk, m, 4*time.Second) // attempts at 0, 1, 3; the 7s one never comes

		for _, n := range names {
			var kinds []lifecycle.EventKind
			for _, e := range log.evs {
				if e.Service == n {
					kinds = append(kinds, e.Kind)
				}
			}
			s, e, b := lifecycle.AttemptStarted, lifecycle.AttemptEnded, lifecycle.BackingOff
			if want := []lifecycle.EventKind{s, e, b, s, e, b, s, e, b}; !slices.Equal(kinds, want) {
				t.Errorf("service %s: kinds %v; want %v", n, kinds, want)
			}
		}
	})
}

func TestEventKindAndOutcome_String(t *testing.T) {
	for _, tc := range []struct {
		v    fmt.Stringer
		want string
	}{
		{lifecycle.AttemptStarted, "AttemptStarted"},
		{lifecycle.AttemptEnded, "AttemptEnded"},
		{lifecycle.BackingOff, "BackingOff"},
		{lifecycle.StopCalled, "StopCalled"},
		{lifecycle.StopEnded, "StopEnded"},
		{lifecycle.StopAbandoned, "StopAbandoned"},
		{lifecycle.EventKind(0), "EventKind(0)"},
		{lifecycle.GaveUp, "GaveUp"},
		{lifecycle.ServiceStopping, "ServiceStopping"},
		{lifecycle.ServiceStopped, "ServiceStopped"},
		{lifecycle.ServiceStopped + 1, "EventKind(10)"},
		{lifecycle.Outcome(0), "none"},
		{lifecycle.OutcomeNone, "none"},
		{lifecycle.OutcomeNil, "nil"},
		{lifecycle.OutcomeError, "error"},
		{lifecycle.OutcomePanic, "panic"},
		{lifecycle.OutcomeGoexit, "goexit"},
		{lifecycle.OutcomeFinished, "finished"},
		{lifecycle.Outcome(-1), "Outcome(-1)"},
		{lifecycle.OutcomeAbandoned, "abandoned"},
		{lifecycle.OutcomeAbandoned + 1, "Outcome(7)"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v.String() = %q; want %q", tc.v, got, tc.want)
		}
	}
}

func TestPanicError_UnwrapsErrorValues(t *testing.T) {
	pe := &lifecycle.PanicError{Service: "s", Value: io.ErrUnexpectedEOF}
	if !errors.Is(pe, io.ErrUnexpectedEOF) {
		t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = false; want true", pe)
	}
	if pe := (&lifecycle.PanicError{Service: "s", Value: 42}); pe.Unwrap() != nil {
		t.Errorf("Unwrap of a non-error panic value = %v; want nil", pe.Unwrap())
	}
}

// ErrFinished.

func TestErrFinished_MatchedWithErrorsIs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		finished bool
	}{
		{"bare", lifecycle.ErrFinished, true},
		{"wrapped with %w", fmt.Errorf("schema v7 applied: %w", lifecycle.ErrFinished), true},
		{"wrapped twice", fmt.Errorf("job: %w", fmt.Errorf("step: %w", lifecycle.ErrFinished)), true},
		{"joined", errors.Join(io.EOF, lifecycle.ErrFinished), true},
		{"same text, other value", errors.New(lifecycle.ErrFinished.Error()), false},
		{"wrapped with %v", fmt.Errorf("done: %v", lifecycle.ErrFinished), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := fakeclock.New(t, extEpoch)
				var log eventLog
				m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
				attempts := 0
				m.Register("job", extRunner(func(ctx context.Context) error { attempts++; return tc.err }))

				runManager(t, clk, m, time.Hour)

				// Not finished: restarted at 0, 1s, 3s, 7s, ..., 31s, then every 30s.
				wantAttempts, wantOutcome := 0, lifecycle.OutcomeError
				for at, d := time.Duration(0), time.Second; at < time.Hour; at, d = at+d, min(2*d, 30*time.Second) {
					wantAttempts++
				}
				if tc.finished {
					wantAttempts, wantOutcome = 1, lifecycle.OutcomeFinished
				}
				if attempts != wantAttempts {
					t.Errorf("%d attempts in 1h; want %d", attempts, wantAttempts)
				}
				if e := log.evs[1]; e.Kind != lifecycle.AttemptEnded || e.Outcome != wantOutcome || e.Err != tc.err {
					t.Errorf("first AttemptEnded %s; want outcome %v with the returned error", eventLine(e), wantOutcome)
				}
			})
		})
	}
}

func TestErrFinished_RunWaitsForOthersAndForContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		var log eventLog
		m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet)
		stopped := false
		m.Register("migrate", extRunner(func(ctx context.Context) error {
			workOnClock(ctx, clk, 2*time.Second)
			return fmt.Errorf("3 tables: %w", lifecycle.ErrFinished)
		}))
		m.Register("web", extRunner(func(ctx context.Context) error {
			<-ctx.Done()
			workOnClock(context.Background(), clk, time.Second) // drains after cancel
			return nil
		}))
		m.Register("flush", extStopper(func(ctx context.Context) error { stopped = true; return nil }))

		// Every service but web is done at 2s; Run returns at 1h + 1s, when
		// ctx is done and web has drained.
		if ended := runManager(t, clk, m, time.Hour); ended != time.Hour+time.Second {
			t.Errorf("Run returned at %v; want 1h0m1s", ended)
		}
		diffLines(t, "migrate events", log.lines("migrate"), []string{
			"AttemptStarted migrate @0s #1 none err=<nil> panic=<nil> d=0s canceled=false",
			"AttemptEnded migrate @2s #1 finished err=3 tables: lifecycle: service finished panic=<nil> d=2s canceled=false",
		})

		// A finished service is still stopped by Stop.
		m.Stop(time.Second)
		if !stopped {
			t.Errorf("Stop did not call the Stopper of a finished service")
		}
	})
}

func TestErrFinished_AllFinishedRunStillWaitsForContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := fakeclock.New(t, extEpoch)
		m := lifecycle.NewManager(lifecycle.WithClock(clk), extQuiet)
		for i, name := range []string{"a", "b"} {
			m.Register(name, extRunner(func(ctx context.Context) error {
				workOnClock(ctx, clk, time.Duration(i+1)*time.Second)
				return lifecycle.ErrFinished
			}))
		}
		if ended := runManager(t, clk, m, 10*time.Second); ended != 10*time.Second {
			t.Errorf("Run returned at %v; want 10s, when ctx was cancelled", ended)
		}
	})
}

// Cheap when unused.

// instantClock never waits: every timer is due at once. It counts the
// calls made to it, to show what the Manager asks of its clock.
type instantClock struct {
	now, since, after, timers, timeouts atomic.Int64
}

var closedTimeChan = func() chan time.Time { c := make(chan time.Time); close(c); return c }()

func (c *instantClock) Now() time.Time                       { c.now.Add(1); return extEpoch }
func (c *instantClock) Since(time.Time) time.Duration        { c.since.Add(1); return 0 }
func (c *instantClock) After(time.Duration) <-chan time.Time { c.after.Add(1); return closedTimeChan }
func (c *instantClock) WithTimeout(p context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c.timeouts.Add(1)
	return context.WithCancel(p)
}
func (c *instantClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	c.timers.Add(1)
	return closedTimeChan, stopNothing
}

func stopNothing() bool { return false }

// countdown fails at once n times, cancelling the Manager's context on the
// last attempt.
type countdown struct {
	n      int
	cancel context.CancelFunc
}

func (c *countdown) Run(ctx context.Context) error {
	if c.n--; c.n <= 0 {
		c.cancel()
	}
	return nil
}

// restartCycles runs a Manager whose one service fails at once n times.
func restartCycles(clk lifecycle.Clock, n int, opts ...lifecycle.Option) {
	m := lifecycle.NewManager(append([]lifecycle.Option{lifecycle.WithClock(clk), extQuiet}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Register("svc", &countdown{n: n, cancel: cancel})
	m.Run(ctx)
}

var noEvents = lifecycle.WithEvents(func(lifecycle.Event) {})

func TestEvents_UnusedBuildsNothing(t *testing.T) {
	// Without WithEvents the Manager reads its clock only for what
	// supervision needs: when each attempt starts (Now), how long it ran
	// (Since) and the wait (NewTimer), besides NewManager's one read of
	// the epoch its states are kept from. The BackingOff event's time is
	// the one read made only to build an event, so the count shows it.
	count := func(opts ...lifecycle.Option) (now, since, timers int64) {
		clk := &instantClock{}
		restartCycles(clk, 5, opts...)
		if clk.after.Load() != 0 || clk.timeouts.Load() != 0 {
			t.Errorf("After called %d times, WithTimeout %d; want 0 (NewTimer serves restarts)", clk.after.Load(), clk.timeouts.Load())
		}
		return clk.now.Load(), clk.since.Load(), clk.timers.Load()
	}
	if now, since, timers := count(); now != 1+5 || since != 5 || timers != 4 {
		t.Errorf("without events, 5 attempts read Now %d, Since %d, NewTimer %d times; want 1+5, 5, 4", now, since, timers)
	}
	if now, _, _ := count(noEvents); now != 1+5+4 {
		t.Errorf("with events, 5 attempts read Now %d times; want 1+9 (one more per BackingOff event)", now)
	}

	// And a restart cycle allocates nothing, with or without events.
	for _, tc := range []struct {
		name string
		opts []lifecycle.Option
	}{{"without events", nil}, {"with events", []lifecycle.Option{noEvents}}} {
		clk := &instantClock{}
		few := testing.AllocsPerRun(10, func() { restartCycles(clk, 10, tc.opts...) })
		many := testing.AllocsPerRun(10, func() { restartCycles(clk, 1010, tc.opts...) })
		// Any allocation in the cycle shows as >= 1; stray allocations of
		// other goroutines during the measurement stay far below 0.5.
		if perCycle := (many - few) / 1000; perCycle >= 0.5 {
			t.Errorf("%s: %.2f allocations per restart cycle; want 0", tc.name, perCycle)
		}
	}
}

// BenchmarkRestartCycle is one failed attempt and its restart, on a clock
// that never waits: the Manager's own cost, with and without events.
func BenchmarkRestartCycle(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []lifecycle.Option
	}{{"events=off", nil}, {"events=on", []lifecycle.Option{noEvents}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			restartCycles(&instantClock{}, b.N, bc.opts...)
		})
	}
}
