package lifecycle_test

// Issue 8: no restart once shutdown has begun, ordered shutdown, drain,
// giving up and Serve, each rule of docs/contract.md (C7, C8) checked to
// the nanosecond inside a testing/synctest bubble.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// timeline records what services did, at virtual times since its start.
type timeline struct {
	start time.Time
	mu    sync.Mutex
	lines []string
}

func newTimeline() *timeline { return &timeline{start: time.Now()} }

func (tl *timeline) add(format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.lines = append(tl.lines, fmt.Sprintf("%v ", time.Since(tl.start))+fmt.Sprintf(format, args...))
}

func (tl *timeline) get() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.lines)
}

// drainer is a service whose Run returns `after` once its context is done,
// and whose Stop (if stops) takes stopTook.
type drainer struct {
	name     string
	tl       *timeline
	after    time.Duration // how long Run takes to return once ctx is done
	stopTook time.Duration
}

func (d *drainer) Run(ctx context.Context) error {
	<-ctx.Done()
	d.tl.add("%s ctx done", d.name)
	time.Sleep(d.after)
	d.tl.add("%s Run returned", d.name)
	return ctx.Err()
}

// stoppingDrainer is a drainer with a Stop.
type stoppingDrainer struct{ *drainer }

func (d stoppingDrainer) Stop(ctx context.Context) error {
	d.tl.add("%s Stop called", d.name)
	time.Sleep(d.stopTook)
	return nil
}

func TestShutdown_NoRestartOnceShutdownBegins(t *testing.T) {
	// C7.1: after Shutdown, a Runner that returns (as an http.Server's
	// Serve does once its Shutdown ran) is not a failure and is not
	// restarted; a service backing off stops waiting.
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		m := lifecycle.NewManager(logs.option())
		var serves, flaky atomic.Int32
		closed := make(chan struct{})
		m.Register("server", stopRunFunc{
			run:  func(context.Context) error { serves.Add(1); <-closed; return errors.New("server closed") },
			stop: func(context.Context) error { close(closed); return nil },
		})
		m.Register("flaky", runFunc(func(context.Context) error { flaky.Add(1); return errors.New("down") }))
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()

		time.Sleep(2500 * time.Millisecond) // flaky: failed at 0 and 1s, now waiting 2s
		rep := m.Shutdown(time.Second)
		time.Sleep(time.Minute)
		if got := serves.Load(); got != 1 {
			t.Errorf("server Run called %d times; want 1: no restart once shutdown began", got)
		}
		if got := flaky.Load(); got != 2 {
			t.Errorf("flaky Run called %d times; want 2: its restart delay ends at shutdown", got)
		}
		if rep.Err() != nil {
			t.Errorf("Shutdown: %v", rep.Err())
		}
		if lines := logs.lines("level=INFO", "service returned after shutdown began", "service=server"); len(lines) != 1 {
			t.Errorf("want one Info line for server's return; logs:\n%s", logs.String())
		}
		if lines := logs.lines("level=ERROR", "service=server"); len(lines) != 0 {
			t.Errorf("server's return logged as an error: %q", lines)
		}
		cancel()
		<-ran
	})
}

// stopRunFunc is a service made of a Run and a Stop function.
type stopRunFunc struct {
	run  func(context.Context) error
	stop func(context.Context) error
}

func (f stopRunFunc) Run(ctx context.Context) error  { return f.run(ctx) }
func (f stopRunFunc) Stop(ctx context.Context) error { return f.stop(ctx) }

func TestOrdered_ReverseOrderOneServiceAtATime(t *testing.T) {
	// C8.2: each service's context is cancelled in its turn, last
	// registered first, and the next turn waits for its Run and its Stop.
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown())
		m.Register("db", stoppingDrainer{&drainer{name: "db", tl: tl, after: time.Second, stopTook: 2 * time.Second}})
		m.Register("consumer", &drainer{name: "consumer", tl: tl, after: 3 * time.Second})
		m.Register("http", stoppingDrainer{&drainer{name: "http", tl: tl, stopTook: time.Second}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go m.Run(ctx)
		time.Sleep(10 * time.Second)
		tl.add("shutdown")
		rep := m.Shutdown(30 * time.Second)

		want := []string{
			"10s shutdown",
			"10s http ctx done", "10s http Run returned", "10s http Stop called",
			"11s consumer ctx done", "14s consumer Run returned",
			"14s db ctx done", "14s db Stop called", "15s db Run returned",
		}
		if got := tl.get(); !slices.Equal(sortedWithin(got), sortedWithin(want)) {
			t.Errorf("timeline:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
		if rep.Budget != 10*time.Second {
			t.Errorf("Budget %v; want 30s/3 over every service, Stoppers or not", rep.Budget)
		}
		var turns []string
		for _, s := range rep.Services {
			turns = append(turns, fmt.Sprintf("%s %v-%v ran to %v", s.Service, s.Began.Sub(tl.start), s.Deadline.Sub(tl.start), s.RunEnded.Sub(tl.start)))
		}
		wantTurns := []string{"http 10s-20s ran to 10s", "consumer 11s-21s ran to 14s", "db 14s-24s ran to 15s"}
		if !slices.Equal(turns, wantTurns) {
			t.Errorf("turns %q; want %q", turns, wantTurns)
		}
		if len(rep.Stoppers) != 2 || rep.Err() != nil || rep.End.Sub(tl.start) != 16*time.Second {
			t.Errorf("report %+v; want two Stoppers, no error, End at 16s", rep)
		}
	})
}

// sortedWithin sorts lines that share an instant, whose order within it
// is the scheduler's.
func sortedWithin(lines []string) []string {
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(a, b string) int {
		ta, _, _ := strings.Cut(a, " ")
		tb, _, _ := strings.Cut(b, " ")
		da, _ := time.ParseDuration(ta)
		db, _ := time.ParseDuration(tb)
		if da != db {
			return int(da - db)
		}
		return strings.Compare(a, b)
	})
	return out
}

func TestOrdered_RunIgnoringItsContextIsAbandonedAtItsDeadline(t *testing.T) {
	// C8.3: a Run still running at its deadline is abandoned, and the
	// next turn begins at that deadline; Stop(0) still cancels every one.
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown())
		var dbCanceled atomic.Bool
		m.Register("db", runFunc(func(ctx context.Context) error { <-ctx.Done(); dbCanceled.Store(true); return nil }))
		m.Register("stuck", runFunc(func(context.Context) error { <-release; return nil }))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go m.Run(ctx)
		synctest.Wait()
		start := time.Now()
		rep := m.Shutdown(4 * time.Second)
		s := rep.Services
		if len(s) != 2 || !s[0].RunAbandoned || s[0].Service != "stuck" || s[0].Elapsed != 2*time.Second ||
			s[1].Began.Sub(start) != 2*time.Second || s[1].RunAbandoned {
			t.Errorf("services %+v; want stuck abandoned at 2s, db stopped from 2s", s)
		}
		if err := rep.Err(); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"stuck"`) {
			t.Errorf("Err() = %v; want the abandoned Run named", err)
		}
		if !dbCanceled.Load() || time.Since(start) != 2*time.Second {
			t.Errorf("db canceled %v, Shutdown took %v; want db stopped and 2s", dbCanceled.Load(), time.Since(start))
		}
		close(release)
	})
}

func TestOrdered_EarlierServicesAreRestartedUntilTheirTurn(t *testing.T) {
	// C8.2: services registered earlier keep being supervised, restarts
	// included, until their turn.
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown())
		m.SetBackoff(time.Second, time.Second, time.Hour)
		m.Register("flaky", runFunc(func(ctx context.Context) error {
			tl.add("flaky started")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
				return errors.New("lost connection")
			}
		}))
		m.Register("slow", &drainer{name: "slow", tl: tl, after: 5 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go m.Run(ctx)
		time.Sleep(500 * time.Millisecond)
		m.Shutdown(20 * time.Second)
		var starts []string
		for _, l := range tl.get() {
			if strings.HasSuffix(l, "flaky started") {
				starts = append(starts, l)
			}
		}
		// flaky fails at 1s, 3s; restarted at 2s, 4s; its turn at 5.5s.
		if want := []string{"0s flaky started", "2s flaky started", "4s flaky started"}; !slices.Equal(starts, want) {
			t.Errorf("flaky starts %q; want %q", starts, want)
		}
	})
}

func TestDrain_CountsInsideTheBudget(t *testing.T) {
	// C8.4: nothing is cancelled during the drain, and the share is what
	// is left divided among the services.
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		m := lifecycle.NewManager(quiet, lifecycle.WithDrain(2*time.Second))
		m.Register("a", &drainer{name: "a", tl: tl})
		m.Register("b", &drainer{name: "b", tl: tl})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error)
		go func() { errc <- m.Serve(ctx, 10*time.Second) }()
		synctest.Wait()
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
		want := []string{"2s b ctx done", "2s b Run returned", "2s a ctx done", "2s a Run returned"}
		if got := tl.get(); !slices.Equal(got, want) {
			t.Errorf("timeline %q; want %q", got, want)
		}
	})
}

func TestDrain_ShareIsWhatIsLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown(), lifecycle.WithDrain(2*time.Second))
		m.Register("a", idle{})
		m.Register("b", idle{})
		rep := m.Shutdown(10 * time.Second)
		if rep.Drain != 2*time.Second || rep.Budget != 4*time.Second || rep.Services[0].Began.Sub(rep.Start) != 2*time.Second {
			t.Errorf("report %+v; want a 2s drain, then 4s shares", rep)
		}
		short := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown(), lifecycle.WithDrain(time.Hour))
		short.Register("a", idle{})
		if rep := short.Shutdown(time.Second); rep.Drain != time.Second || rep.Budget != 0 || rep.End.Sub(rep.Start) != time.Second {
			t.Errorf("drain longer than the timeout: %+v; want it cut to the timeout", rep)
		}
	})
}

// failing is a Runner that fails after each run of `ran`, counting calls.
type failing struct {
	ran   time.Duration
	calls atomic.Int32
}

func (f *failing) Run(ctx context.Context) error {
	f.calls.Add(1)
	time.Sleep(f.ran)
	return errors.New("dependency gone")
}

func TestRestartLimit_GivesUpAtTheFailureThatMakesN(t *testing.T) {
	// C7.3: failures end at 0, 1s, 3s, 7s (backoff 1s, 2s, 4s; the next
	// start, at 15s, is after the 10s run). With 3
	// within 3s, the window (0, 3s] at the third failure holds only two:
	// the half-open window misses the first by a nanosecond. With 3s+1ns
	// it holds all three, and the service gives up at 3s.
	for _, tc := range []struct {
		window    time.Duration
		wantCalls int32
		gaveUp    time.Duration // -1: never
	}{
		{3 * time.Second, 4, -1},
		{3*time.Second + 1, 3, 3 * time.Second},
	} {
		synctest.Test(t, func(t *testing.T) {
			var events eventLog
			m := lifecycle.NewManager(quiet, lifecycle.WithEvents(events.record))
			f := &failing{}
			m.Register("dep", f, lifecycle.RestartLimit(3, tc.window))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			m.Run(ctx)
			if got := f.calls.Load(); got != tc.wantCalls {
				t.Errorf("window %v: %d calls; want %d", tc.window, got, tc.wantCalls)
			}
			gave := m.GaveUp()
			if tc.gaveUp < 0 {
				if len(gave) != 0 {
					t.Errorf("window %v: gave up: %v", tc.window, gave)
				}
				return
			}
			var ge *lifecycle.GiveUpError
			if len(gave) != 1 || !errors.As(gave[0], &ge) || ge.Service != "dep" || ge.At.Sub(start) != tc.gaveUp ||
				ge.Failures != 3 || !strings.Contains(ge.Error(), "dependency gone") {
				t.Errorf("window %v: GaveUp() = %v; want dep at %v", tc.window, gave, tc.gaveUp)
			}
			var kinds []string
			events.mu.Lock()
			for _, e := range events.evs {
				kinds = append(kinds, e.Kind.String())
			}
			events.mu.Unlock()
			if n := len(kinds); n < 2 || kinds[n-1] != "GaveUp" || kinds[n-2] != "AttemptEnded" {
				t.Errorf("events end %q; want AttemptEnded then GaveUp, no BackingOff", kinds)
			}
		})
	}
}

func TestRestartLimit_OneGivesUpAtTheFirstFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		f := &failing{ran: time.Second}
		m.Register("once", f, lifecycle.RestartLimit(1, time.Nanosecond))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		m.Run(ctx)
		if f.calls.Load() != 1 || len(m.GaveUp()) != 1 {
			t.Errorf("%d calls, gave up %v; want 1 call and a give-up", f.calls.Load(), m.GaveUp())
		}
	})
}

func TestServe_EssentialGiveUpShutsEverythingDown(t *testing.T) {
	// C7.5, C8.5: an essential service that gives up makes Serve shut
	// down in order at that instant and return an error naming it.
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		m := lifecycle.NewManager(quiet)
		m.Register("db", &failing{ran: time.Second}, lifecycle.RestartLimit(2, time.Minute), lifecycle.Essential())
		m.Register("http", &drainer{name: "http", tl: tl})
		err := m.Serve(context.Background(), 10*time.Second)
		var ge *lifecycle.GiveUpError
		if !errors.As(err, &ge) || ge.Service != "db" {
			t.Fatalf("Serve = %v; want db's GiveUpError", err)
		}
		// db fails at 1s, restarts at 2s, fails at 3s: gives up.
		if want := []string{"3s http ctx done", "3s http Run returned"}; !slices.Equal(tl.get(), want) {
			t.Errorf("timeline %q; want %q", tl.get(), want)
		}
	})
}

func TestServe_NonEssentialGiveUpRunsOnDegradedAndIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.Register("cache", &failing{}, lifecycle.RestartLimit(1, time.Minute))
		m.Register("http", idle{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		err := m.Serve(ctx, time.Second)
		if time.Since(start) != time.Hour {
			t.Errorf("Serve returned after %v; want at the signal, 1h", time.Since(start))
		}
		var ge *lifecycle.GiveUpError
		if !errors.As(err, &ge) || ge.Service != "cache" {
			t.Errorf("Serve = %v; want cache's give-up reported", err)
		}
	})
}

func TestServe_CleanRunIsNil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		m := lifecycle.NewManager(quiet)
		m.Register("a", stoppingDrainer{&drainer{name: "a", tl: tl, after: time.Second}})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Serve(ctx, 5*time.Second); err != nil {
			t.Errorf("Serve = %v; want nil", err)
		}
		want := []string{"1m0s a Stop called", "1m0s a ctx done", "1m1s a Run returned"}
		if got := sortedWithin(tl.get()); !slices.Equal(got, want) {
			t.Errorf("timeline %q; want %q: a cancelled and stopped at the signal", got, want)
		}
	})
}

func TestServe_ContextAlreadyDoneStartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		m := lifecycle.NewManager(quiet)
		m.Register("a", runFunc(func(ctx context.Context) error { calls.Add(1); <-ctx.Done(); return nil }))
		if err := m.Serve(cancelled(), time.Second); err != nil || calls.Load() != 0 {
			t.Errorf("Serve = %v with %d calls; want nil and none", err, calls.Load())
		}
		panicMessage(t, func() { m.Register("late", idle{}) })
	})
}

func TestIssue8_ProgrammerErrorsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"RestartLimit(0, 1s)":  func() { lifecycle.RestartLimit(0, time.Second) },
		"RestartLimit(1, 0)":   func() { lifecycle.RestartLimit(1, 0) },
		"WithDrain(-1)":        func() { lifecycle.WithDrain(-1) },
		"nil ServiceOption":    func() { lifecycle.NewManager().Register("svc", idle{}, nil) },
		"Serve after Run":      func() { m := lifecycle.NewManager(); m.Run(cancelled()); _ = m.Serve(cancelled(), 0) },
		"Run after Serve":      func() { m := lifecycle.NewManager(); _ = m.Serve(cancelled(), 0); m.Run(cancelled()) },
		"Register after Serve": func() { m := lifecycle.NewManager(); _ = m.Serve(cancelled(), 0); m.Register("x", idle{}) },
	} {
		msg := panicMessage(t, f)
		if !strings.HasPrefix(msg, "lifecycle: ") {
			t.Errorf("%s panicked with %q; want a lifecycle: message", name, msg)
		}
		if name == "nil ServiceOption" && !strings.Contains(msg, `"svc"`) {
			t.Errorf("%s: %q does not name the service", name, msg)
		}
	}
}

// jumpClock is tickingClock (robust_test.go), on which every reading finds
// time moved on by a millisecond, unseen: time passes inside a turn,
// between its start and its wait. It records the waits asked of it,
// which never fire, and the timeouts of the contexts it makes, which
// never expire.
type jumpClock struct {
	tickingClock
	waits, timeouts []time.Duration
}

func (c *jumpClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	return nil
}

func (c *jumpClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timeouts = append(c.timeouts, d)
	return context.WithCancel(parent)
}

// startedStopper runs until its context is done, counting started down
// as it starts; its Stop returns nil at once.
type startedStopper struct{ started *sync.WaitGroup }

func (s startedStopper) Run(ctx context.Context) error {
	s.started.Done()
	<-ctx.Done()
	return ctx.Err()
}

func (startedStopper) Stop(context.Context) error { return nil }

func TestOrdered_TurnWaitsOnlyUntilItsDeadline(t *testing.T) {
	// C8.3: a turn's deadline is its start plus its budget. Time that
	// passes inside the turn before it waits (here, on a clock that moves
	// on at every reading) comes off the wait: a turn without a Stop asks
	// its clock for less than its budget, and a Stopper's context is made
	// with less too.
	clk := &jumpClock{tickingClock: tickingClock{now: time.Unix(0, 0)}}
	m := lifecycle.NewManager(quiet, lifecycle.WithClock(clk), lifecycle.WithOrderedShutdown())
	var started sync.WaitGroup
	started.Add(2)
	m.Register("plain", runFunc(func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		return ctx.Err()
	}))
	m.Register("stopper", startedStopper{&started})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); m.Run(ctx) }()
	started.Wait()
	rep := m.Shutdown(10 * time.Second)
	cancel()
	<-ran
	if len(rep.Services) != 2 || rep.Err() != nil {
		t.Fatalf("report %+v; want two turns, no error", rep)
	}
	clk.mu.Lock()
	defer clk.mu.Unlock()
	for _, tc := range []struct {
		turn  lifecycle.ServiceStop
		asked []time.Duration
		what  string
	}{
		{rep.Services[0], clk.timeouts, "the Stopper's context"},
		{rep.Services[1], clk.waits, "the wait for Run"},
	} {
		budget := tc.turn.Deadline.Sub(tc.turn.Began)
		if len(tc.asked) != 1 || tc.asked[0] <= 0 || tc.asked[0] >= budget {
			t.Errorf("turn of %s: %s asked for %v; want one, less than its budget %v and more than 0",
				tc.turn.Service, tc.what, tc.asked, budget)
		}
	}
}
