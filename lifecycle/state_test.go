package lifecycle_test

// Issue 9: every service's state, readiness and the gated start
// (docs/contract.md, C9), to the nanosecond inside synctest bubbles.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// stateLine renders one ServiceState with times since start.
func stateLine(s lifecycle.ServiceState, start time.Time) string {
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Sub(start).String()
	}
	return fmt.Sprintf("%s %v since %s ready=%v attempts=%d restarts=%d fails=%d %q at %s until %s",
		s.Name, s.State, at(s.Since), s.Ready, s.Attempts, s.Restarts, s.ConsecutiveFailures,
		s.LastError, at(s.LastFailure), at(s.BackoffUntil))
}

func states(m *lifecycle.Manager, start time.Time) []string {
	var out []string
	for _, s := range m.States() {
		out = append(out, stateLine(s, start))
	}
	return out
}

func wantStates(t *testing.T, when string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", when, got, want)
	}
}

func TestStates_EveryServiceThroughItsLife(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.Register("idle", idle{})                               // no reporter: still listed
		m.Register("flaky", &failing{ran: 2 * time.Second})      // fails every 2s
		m.Register("once", runFunc(func(context.Context) error { // finishes for good
			time.Sleep(time.Second)
			return lifecycle.ErrFinished
		}))
		start := time.Now()
		wantStates(t, "before Run", states(m, start),
			`idle registered since - ready=false attempts=0 restarts=0 fails=0 "" at - until -`,
			`flaky registered since - ready=false attempts=0 restarts=0 fails=0 "" at - until -`,
			`once registered since - ready=false attempts=0 restarts=0 fails=0 "" at - until -`)

		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		time.Sleep(2500 * time.Millisecond) // flaky failed at 2s, restarts at 3s
		wantStates(t, "at 2.5s", states(m, start),
			`idle running since 0s ready=true attempts=1 restarts=0 fails=0 "" at - until -`,
			`flaky backing off since 2s ready=false attempts=1 restarts=0 fails=1 "dependency gone" at 2s until 3s`,
			`once finished since 1s ready=false attempts=1 restarts=0 fails=0 "" at - until -`)

		time.Sleep(time.Second) // flaky restarted at 3s
		wantStates(t, "at 3.5s", states(m, start)[1:2],
			`flaky running since 3s ready=true attempts=2 restarts=1 fails=1 "dependency gone" at 2s until -`)

		cancel()
		<-ran
		wantStates(t, "after cancel at 3.5s", states(m, start),
			`idle stopped since 3.5s ready=false attempts=1 restarts=0 fails=0 "" at - until -`,
			`flaky stopped since 5s ready=false attempts=2 restarts=1 fails=1 "dependency gone" at 2s until -`,
			`once finished since 1s ready=false attempts=1 restarts=0 fails=0 "" at - until -`)
	})
}

func TestStates_ConsecutiveFailuresResetByALongRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.SetBackoff(time.Second, time.Second, 10*time.Second)
		var calls atomic.Int32
		m.Register("svc", runFunc(func(context.Context) error {
			if calls.Add(1) == 3 {
				time.Sleep(10 * time.Second) // a run of the reset window
			}
			return errors.New("boom")
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 12500*time.Millisecond)
		defer cancel()
		start := time.Now()
		m.Run(ctx)
		// Fails at 0 and 1s, runs 2s..12s and fails: the count starts again.
		s := m.States()[0]
		if s.ConsecutiveFailures != 1 || s.LastFailure.Sub(start) != 12*time.Second || s.Attempts != 3 {
			t.Errorf("state %s; want 1 consecutive failure, the last at 12s, 3 attempts", stateLine(s, start))
		}
	})
}

func TestStates_OrderedShutdownStoppingAndAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown())
		m.Register("db", &drainer{name: "db", tl: newTimeline(), after: time.Second})
		m.Register("stuck", runFunc(func(context.Context) error { <-release; return nil }))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go m.Run(ctx)
		synctest.Wait()
		start := time.Now()
		done := make(chan struct{})
		go func() { m.Shutdown(10 * time.Second); close(done) }()
		time.Sleep(time.Second)
		wantStates(t, "1s into the turn of stuck", states(m, start),
			`db running since 0s ready=true attempts=1 restarts=0 fails=0 "" at - until -`,
			`stuck stopping since 0s ready=false attempts=1 restarts=0 fails=0 "" at - until -`)
		time.Sleep(4500 * time.Millisecond) // stuck abandoned at 5s; db's turn from 5s
		wantStates(t, "at 5.5s", states(m, start),
			`db stopping since 5s ready=false attempts=1 restarts=0 fails=0 "" at - until -`,
			`stuck abandoned since 5s ready=false attempts=1 restarts=0 fails=0 "" at - until -`)
		<-done
		close(release)
		synctest.Wait()
		wantStates(t, "after", states(m, start),
			`db stopped since 6s ready=false attempts=1 restarts=0 fails=0 "" at - until -`,
			`stuck abandoned since 5s ready=false attempts=1 restarts=0 fails=0 "" at - until -`)
	})
}

func TestStates_AtMostTwoAllocationsFor1000Services(t *testing.T) {
	m := lifecycle.NewManager(quiet)
	for i := range 1000 {
		m.Register(fmt.Sprintf("svc-%04d", i), idle{})
	}
	if n := testing.AllocsPerRun(100, func() { m.States() }); n > 2 {
		t.Errorf("States made %v allocations; want at most 2", n)
	}
}

// readyAfter is a NotifyReady Runner that calls Ready after d on each
// attempt (never, if d < 0), then waits for ctx.
type readyAfter struct {
	d     time.Duration
	tl    *timeline
	name  string
	calls atomic.Int32
}

func (r *readyAfter) Run(ctx context.Context) error {
	r.calls.Add(1)
	r.tl.add("%s called", r.name)
	if r.d >= 0 {
		select {
		case <-time.After(r.d):
			lifecycle.Ready(ctx)
			r.tl.add("%s ready", r.name)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestReady_NotifyReadyIsStartingUntilReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		m := lifecycle.NewManager(quiet)
		m.Register("db", &readyAfter{d: 2 * time.Second, tl: tl, name: "db"}, lifecycle.NotifyReady())
		m.Register("plain", &readyAfter{d: -1, tl: tl, name: "plain"}) // never calls Ready: ready at its call
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		time.Sleep(time.Second)
		got := m.States()
		if got[0].State != lifecycle.StateStarting || got[0].Ready || got[1].State != lifecycle.StateRunning || !got[1].Ready {
			t.Errorf("at 1s: %s, %s; want db starting, plain running and ready", stateLine(got[0], tl.start), stateLine(got[1], tl.start))
		}
		time.Sleep(time.Second)
		synctest.Wait() // db's Ready, due at the same instant, has run
		if s := m.States()[0]; s.State != lifecycle.StateRunning || !s.Ready || s.Since.Sub(tl.start) != 2*time.Second {
			t.Errorf("at 2s: %s; want db ready since 2s", stateLine(s, tl.start))
		}
		lifecycle.Ready(context.Background()) // not a service's ctx: nothing
		cancel()
		<-ran
	})
}

func TestGatedStart_EachWaitsForTheOneBefore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		m := lifecycle.NewManager(quiet, lifecycle.WithGatedStart(time.Minute))
		m.Register("db", &readyAfter{d: 2 * time.Second, tl: tl, name: "db"}, lifecycle.NotifyReady())
		m.Register("cache", &readyAfter{d: -1, tl: tl, name: "cache"})
		m.Register("http", &readyAfter{d: time.Second, tl: tl, name: "http"}, lifecycle.NotifyReady())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Run(ctx)
		want := []string{"0s db called", "2s db ready", "2s cache called", "2s http called", "3s http ready"}
		if got := tl.get(); !slices.Equal(got, want) {
			t.Errorf("timeline %q; want %q", got, want)
		}
	})
}

func TestGatedStart_StartTimeoutIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline()
		var events eventLog
		m := lifecycle.NewManager(quiet, lifecycle.WithGatedStart(3*time.Second), lifecycle.WithEvents(events.record))
		slow := &readyAfter{d: 5 * time.Second, tl: tl, name: "slow"}
		m.Register("slow", slow, lifecycle.NotifyReady())
		m.Register("next", &readyAfter{d: -1, tl: tl, name: "next"})
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		m.Run(ctx)
		// Not ready by 3s: cancelled, a failure, restarted at 4s; not ready
		// by 7s: cancelled again. next never starts.
		want := []string{"0s slow called", "4s slow called"}
		if got := tl.get(); !slices.Equal(got, want) {
			t.Errorf("timeline %q; want %q", got, want)
		}
		events.mu.Lock()
		defer events.mu.Unlock()
		var ended []string
		for _, e := range events.evs {
			if e.Kind == lifecycle.AttemptEnded {
				ended = append(ended, fmt.Sprintf("%v %v %v", e.Time.Sub(tl.start), e.Outcome, errors.Is(e.Err, lifecycle.ErrStartTimeout)))
			}
		}
		if want := []string{"3s error true", "7s error true"}; !slices.Equal(ended, want) {
			t.Errorf("attempt ends %q; want %q", ended, want)
		}
	})
}

func TestStateAndOptions_Misuse(t *testing.T) {
	if msg := panicMessage(t, func() { lifecycle.WithGatedStart(0) }); msg[:10] != "lifecycle:" {
		t.Errorf("WithGatedStart(0) panicked with %q", msg)
	}
	if got := lifecycle.State(99).String(); got != "State(99)" {
		t.Errorf("State(99) = %q", got)
	}
}

// readyAfterStop is a NotifyReady service with a Stopper that calls Ready
// only once told to, and then runs until its context is done.
type readyAfterStop struct{ callReady chan struct{} }

func (r *readyAfterStop) Run(ctx context.Context) error {
	<-r.callReady
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return ctx.Err()
}

func (r *readyAfterStop) Stop(context.Context) error { return nil }

func TestGatedStart_ReadyOnceStoppingStillStopsTheStartTimeout(t *testing.T) {
	// C9.4: an attempt that calls Ready within its start timeout is not
	// cancelled at it, even when shutdown made the service stopping first
	// (its Stop called) and it stays stopping. Refusing that Ready made
	// the attempt's end depend on which came first at one instant, Ready
	// or the Stop (the sim's lying-clock run saw both).
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var events eventLog
		m := lifecycle.NewManager(quiet, lifecycle.WithGatedStart(3*time.Second), lifecycle.WithEvents(events.record))
		r := &readyAfterStop{callReady: make(chan struct{})}
		m.Register("svc", r, lifecycle.NotifyReady())
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { defer close(ran); m.Run(ctx) }()
		time.Sleep(time.Second)
		if rep := m.Shutdown(10 * time.Second); rep.Err() != nil {
			t.Fatal(rep.Err())
		}
		close(r.callReady)
		synctest.Wait()
		if st := m.States()[0]; st.State != lifecycle.StateStopping || st.Ready {
			t.Errorf("after Ready: %v, ready %v; want stopping, not ready", st.State, st.Ready)
		}
		time.Sleep(4 * time.Second)
		cancel()
		<-ran

		events.mu.Lock()
		defer events.mu.Unlock()
		var ended []string
		for _, e := range events.evs {
			if e.Kind == lifecycle.AttemptEnded {
				ended = append(ended, fmt.Sprintf("%v start-timeout=%v", e.Time.Sub(start), errors.Is(e.Err, lifecycle.ErrStartTimeout)))
			}
		}
		if want := []string{"5s start-timeout=false"}; !slices.Equal(ended, want) {
			t.Errorf("attempt ends %q; want %q: Ready at 1s, within the 3s start timeout", ended, want)
		}
	})
}
