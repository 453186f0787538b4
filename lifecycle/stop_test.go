package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// stopCall is what a Stopper saw when it was called.
type stopCall struct {
	name     string
	at       time.Duration // when it was called, since the test began
	deadline time.Duration // its context's deadline, since the test began
	expired  bool          // its context was already done when it was called
}

// stopLog records Stop calls in the order they happen.
type stopLog struct {
	vc    *vclock
	mu    sync.Mutex
	calls []stopCall
}

func (l *stopLog) record(name string, ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok {
		panic("Stop context without a deadline")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, stopCall{name, l.vc.since(), d.Sub(l.vc.t0), ctx.Err() != nil})
}

func (l *stopLog) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.calls {
		out = append(out, c.name)
	}
	return out
}

func (l *stopLog) get() []stopCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// stopper is an idle Runner whose Stop records the call in log and then
// does what behave says.
type stopper struct {
	name   string
	log    *stopLog
	behave func(ctx context.Context) error // nil: return nil at once
}

func (s *stopper) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (s *stopper) Stop(ctx context.Context) error {
	s.log.record(s.name, ctx)
	if s.behave == nil {
		return nil
	}
	return s.behave(ctx)
}

// takes returns a behaviour that takes d on vc, ignoring ctx, then returns err.
func takes(vc *vclock, d time.Duration, err error) func(context.Context) error {
	return func(context.Context) error {
		sleepOn(context.Background(), vc, d)
		return err
	}
}

// honours returns a behaviour that returns ctx.Err() once ctx is done.
func honours(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// shutdown calls m.Shutdown(timeout) on vc, moving time, and returns its
// report and how long it took.
func (vc *vclock) shutdown(m *lifecycle.Manager, timeout time.Duration) (lifecycle.StopReport, time.Duration) {
	done := make(chan struct{})
	var (
		rep  lifecycle.StopReport
		took time.Duration
	)
	go func() {
		defer close(done)
		start := vc.Now()
		rep = m.Shutdown(timeout)
		took = vc.Since(start)
	}()
	vc.drive(done)
	return rep, took
}

func TestStop_ReverseRegistrationOrderSkippingNonStoppers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		m := vc.manager()
		for _, name := range []string{"db", "cache", "api", "metrics"} {
			if name == "cache" {
				m.Register(name, idle{})
				continue
			}
			m.Register(name, &stopper{name: name, log: log})
		}
		rep, _ := vc.shutdown(m, time.Second)
		want := []string{"metrics", "api", "db"}
		if got := log.names(); !slices.Equal(got, want) {
			t.Errorf("Stop order = %q; want %q", got, want)
		}
		var reported []string
		for _, r := range rep.Stoppers {
			reported = append(reported, r.Service)
		}
		if !slices.Equal(reported, want) {
			t.Errorf("report order = %q; want %q", reported, want)
		}
	})
}

func TestStop_EachDeadlineIsCallTimePlusShare(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		takes   []time.Duration // how long each Stopper takes, in call order, ignoring ctx
		want    []stopCall      // with name, at, deadline
		took    time.Duration
	}{
		{
			name:    "fast Stoppers hand on their time",
			timeout: 9 * time.Second,
			takes:   []time.Duration{time.Second, 2 * time.Second, 0},
			want: []stopCall{
				{name: "s3", at: 0, deadline: 3 * time.Second},
				{name: "s2", at: 1 * time.Second, deadline: 4 * time.Second},
				{name: "s1", at: 3 * time.Second, deadline: 6 * time.Second},
			},
			took: 3 * time.Second,
		},
		{
			name:    "a ctx-ignoring Stopper does not starve the next",
			timeout: 9 * time.Second,
			takes:   []time.Duration{time.Hour, 0, time.Hour},
			want: []stopCall{
				{name: "s3", at: 0, deadline: 3 * time.Second},
				{name: "s2", at: 3 * time.Second, deadline: 6 * time.Second},
				{name: "s1", at: 3 * time.Second, deadline: 6 * time.Second},
			},
			took: 6 * time.Second,
		},
		{
			name:    "timeout not divisible by n",
			timeout: 10 * time.Second, // share 3.333333333s
			takes:   []time.Duration{time.Hour, time.Hour, time.Hour},
			want: []stopCall{
				{name: "s3", at: 0, deadline: 3333333333},
				{name: "s2", at: 3333333333, deadline: 6666666666},
				{name: "s1", at: 6666666666, deadline: 9999999999},
			},
			took: 9999999999,
		},
		{
			name:    "timeout below n nanoseconds",
			timeout: 2,
			takes:   []time.Duration{time.Hour, time.Hour, time.Hour},
			want: []stopCall{
				{name: "s3", expired: true},
				{name: "s2", expired: true},
				{name: "s1", expired: true},
			},
		},
		{
			name:    "zero timeout",
			timeout: 0,
			takes:   []time.Duration{time.Hour, 0, time.Hour},
			want: []stopCall{
				{name: "s3", expired: true},
				{name: "s2", expired: true},
				{name: "s1", expired: true},
			},
		},
		{
			name:    "negative timeout",
			timeout: -time.Minute,
			takes:   []time.Duration{0, 0, 0},
			want: []stopCall{
				{name: "s3", deadline: -20 * time.Second, expired: true},
				{name: "s2", deadline: -20 * time.Second, expired: true},
				{name: "s1", deadline: -20 * time.Second, expired: true},
			},
		},
	}
	for _, tt := range tests {
		for _, cc := range clockCases {
			t.Run(tt.name+"/"+cc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					vc := cc.new(t)
					log := &stopLog{vc: vc}
					m := vc.manager()
					// Let the abandoned Stoppers finish before the bubble ends.
					defer sleepOnAll(vc, 2*time.Hour)
					for i := range tt.takes {
						name := fmt.Sprint("s", i+1)
						// takes is in call order, the reverse of registration.
						m.Register(name, &stopper{name: name, log: log, behave: takes(vc, tt.takes[len(tt.takes)-1-i], nil)})
					}
					rep, took := vc.shutdown(m, tt.timeout)
					var order []string
					for _, r := range rep.Stoppers {
						order = append(order, r.Service)
					}
					if want := []string{"s3", "s2", "s1"}; !slices.Equal(order, want) {
						t.Errorf("report order = %q; want %q", order, want)
					}
					// With every deadline passed, the Manager calls each
					// Stopper on its own goroutine without waiting: their
					// bodies run in any order, maybe after Stop returned.
					synctest.Wait()
					got := log.get()
					if tt.timeout < time.Duration(len(tt.takes)) {
						slices.SortFunc(got, func(a, b stopCall) int { return -strings.Compare(a.name, b.name) })
					}
					if len(got) != len(tt.want) {
						t.Fatalf("Stop calls = %+v; want %+v", got, tt.want)
					}
					for i, w := range tt.want {
						if got[i].name != w.name || got[i].at != w.at || got[i].expired != w.expired {
							t.Errorf("call %d = %+v; want %+v", i, got[i], w)
						}
						if tt.timeout > 0 && got[i].deadline != w.deadline {
							t.Errorf("call %d (%s) deadline = %v; want %v", i, w.name, got[i].deadline, w.deadline)
						}
						if tt.timeout <= 0 && got[i].deadline > got[i].at {
							t.Errorf("call %d (%s) deadline = %v, after its call at %v; want it expired", i, w.name, got[i].deadline, got[i].at)
						}
						if tt.timeout < 0 && got[i].deadline != w.deadline {
							t.Errorf("call %d (%s) deadline = %v; want %v (call time + timeout/n)", i, w.name, got[i].deadline, w.deadline)
						}
					}
					if took != tt.took {
						t.Errorf("Stop took %v; want %v", took, tt.took)
					}
					if took > max(tt.timeout, 0) {
						t.Errorf("Stop took %v; want at most the timeout %v", took, tt.timeout)
					}
				})
			})
		}
	}
}

// sleepOnAll moves vc on by d, firing whatever falls due.
func sleepOnAll(vc *vclock, d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		sleepOn(context.Background(), vc, d)
	}()
	vc.drive(done)
}

func TestStop_DeadlineInstantIsReportedAbandoned(t *testing.T) {
	// A Stopper that honours its context returns at the very instant of
	// its deadline; the Manager reports it as abandoned (docs/semantics.md).
	for _, cc := range clockCases {
		t.Run(cc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vc := cc.new(t)
				log := &stopLog{vc: vc}
				m := vc.manager()
				m.Register("a", &stopper{name: "a", log: log, behave: honours})
				m.Register("b", &stopper{name: "b", log: log, behave: honours})
				rep, took := vc.shutdown(m, 4*time.Second)
				if took != 4*time.Second {
					t.Errorf("Stop took %v; want %v", took, 4*time.Second)
				}
				for _, r := range rep.Stoppers {
					if !r.Abandoned || !errors.Is(r.Err, context.DeadlineExceeded) || r.Elapsed != 2*time.Second {
						t.Errorf("result %+v; want Abandoned, Elapsed 2s and an Err matching context.DeadlineExceeded", r)
					}
				}
			})
		})
	}
}

func TestStop_BlockingForeverStopperIsAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		release := make(chan struct{})
		var logs logBuffer
		m := vc.manager(logs.option())
		m.Register("first", &stopper{name: "first", log: log})
		m.Register("stuck", &stopper{name: "stuck", log: log, behave: func(context.Context) error {
			<-release
			return nil
		}})
		rep, took := vc.shutdown(m, 10*time.Second)
		if want := 5 * time.Second; took != want {
			t.Errorf("Stop took %v; want %v", took, want)
		}
		if got, want := log.names(), []string{"stuck", "first"}; !slices.Equal(got, want) {
			t.Errorf("Stop calls = %q; want %q", got, want)
		}
		if len(rep.Stoppers) != 2 || !rep.Stoppers[0].Abandoned || rep.Stoppers[1].Abandoned {
			t.Errorf("report %+v; want stuck abandoned and first not", rep.Stoppers)
		}
		if lines := logs.lines("level=ERROR", "service=stuck", "abandoned"); len(lines) != 1 {
			t.Errorf("log:\n%s\nwant one error line saying stuck was abandoned", logs.String())
		}
		close(release) // let the abandoned call end, so nothing leaks
	})
}

func TestStop_AbandonedStopperFailingLateIsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		var logs logBuffer
		m := vc.manager(logs.option())
		m.Register("late-error", &stopper{name: "late-error", log: log, behave: takes(vc, 3*time.Second, errors.New("gave up"))})
		m.Register("late-panic", &stopper{name: "late-panic", log: log, behave: func(context.Context) error {
			time.Sleep(3 * time.Second)
			panic("too late")
		}})
		rep, took := vc.shutdown(m, 2*time.Second)
		if took != 2*time.Second {
			t.Errorf("Stop took %v; want %v", took, 2*time.Second)
		}
		for _, r := range rep.Stoppers {
			if !r.Abandoned {
				t.Errorf("%s: %+v; want Abandoned", r.Service, r)
			}
		}
		time.Sleep(time.Hour) // both end after Stop returned
		for _, name := range []string{"late-error", "late-panic"} {
			if lines := logs.lines("level=ERROR", "service="+name, "after its deadline"); len(lines) != 1 {
				t.Errorf("log:\n%s\nwant one line saying %s failed after its deadline", logs.String(), name)
			}
		}
		if lines := logs.lines("service=late-panic", "after its deadline", "stack=", "goroutine "); len(lines) != 1 {
			t.Errorf("log:\n%s\nwant the late panic logged with its stack", logs.String())
		}
	})
}

func TestStop_PanicAndGoexitAreContainedAndReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		var logs logBuffer
		m := vc.manager(logs.option())
		errFlush := errors.New("flush failed")
		m.Register("ok", &stopper{name: "ok", log: log})
		m.Register("erring", &stopper{name: "erring", log: log, behave: func(context.Context) error { return errFlush }})
		m.Register("goexit", &stopper{name: "goexit", log: log, behave: func(context.Context) error {
			runtime.Goexit()
			return nil
		}})
		m.Register("panics", &stopper{name: "panics", log: log, behave: func(context.Context) error {
			panic("stop exploded")
		}})
		rep, took := vc.shutdown(m, 8*time.Second)
		if took != 0 {
			t.Errorf("Stop took %v; want 0", took)
		}
		if got, want := log.names(), []string{"panics", "goexit", "erring", "ok"}; !slices.Equal(got, want) {
			t.Errorf("Stop calls = %q; want %q", got, want)
		}
		if len(rep.Stoppers) != 4 {
			t.Fatalf("report has %d results; want 4", len(rep.Stoppers))
		}
		byName := map[string]lifecycle.StopResult{}
		for _, r := range rep.Stoppers {
			if r.Abandoned {
				t.Errorf("%s: Abandoned; want false", r.Service)
			}
			byName[r.Service] = r
		}
		var pe *lifecycle.PanicError
		if r := byName["panics"]; r.Outcome != lifecycle.OutcomePanic || !errors.As(r.Err, &pe) || pe.Value != "stop exploded" || len(pe.Stack) == 0 {
			t.Errorf("panics: %+v; want OutcomePanic with a *PanicError carrying the value and a stack", r)
		}
		if r := byName["goexit"]; r.Outcome != lifecycle.OutcomeGoexit || !errors.Is(r.Err, lifecycle.ErrGoexit) {
			t.Errorf("goexit: %+v; want OutcomeGoexit and ErrGoexit", r)
		}
		if r := byName["erring"]; r.Outcome != lifecycle.OutcomeError || !errors.Is(r.Err, errFlush) || !strings.Contains(r.Err.Error(), `"erring"`) {
			t.Errorf("erring: %+v; want OutcomeError wrapping the error and naming the service", r)
		}
		if r := byName["ok"]; r.Outcome != lifecycle.OutcomeNil || r.Err != nil {
			t.Errorf("ok: %+v; want OutcomeNil and no error", r)
		}
		for _, name := range []string{"panics", "goexit", "erring"} {
			if lines := logs.lines("level=ERROR", "service="+name); len(lines) != 1 {
				t.Errorf("%d error lines for %s; want 1:\n%s", len(lines), name, logs.String())
			}
		}
		if lines := logs.lines("service=panics", "stack=", "goroutine "); len(lines) != 1 {
			t.Errorf("the panic log has no stack:\n%s", logs.String())
		}
		if lines := logs.lines("service=ok"); len(lines) != 0 {
			t.Errorf("ok logged %q; want nothing", lines)
		}
	})
}

func TestStop_ReportAndErr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		m := vc.manager()
		errFlush := errors.New("flush failed")
		m.Register("db", &stopper{name: "db", log: log, behave: takes(vc, time.Second, errFlush)})
		m.Register("idle", idle{})
		m.Register("cache", &stopper{name: "cache", log: log, behave: takes(vc, 500*time.Millisecond, nil)})
		m.Register("slow", &stopper{name: "slow", log: log, behave: takes(vc, time.Hour, nil)})
		time.Sleep(time.Minute)
		start := time.Now()
		rep, _ := vc.shutdown(m, 30*time.Second)

		want := lifecycle.StopReport{
			Timeout: 30 * time.Second,
			Budget:  10 * time.Second,
			Start:   start,
			End:     start.Add(11500 * time.Millisecond),
			Stoppers: []lifecycle.StopResult{
				{Service: "slow", Called: start, Deadline: start.Add(10 * time.Second), Elapsed: 10 * time.Second, Abandoned: true, Outcome: lifecycle.OutcomeAbandoned},
				{Service: "cache", Called: start.Add(10 * time.Second), Deadline: start.Add(20 * time.Second), Elapsed: 500 * time.Millisecond, Outcome: lifecycle.OutcomeNil},
				{Service: "db", Called: start.Add(10500 * time.Millisecond), Deadline: start.Add(20500 * time.Millisecond), Elapsed: time.Second, Outcome: lifecycle.OutcomeError},
			},
		}
		// Compare the errors apart.
		errs := make([]error, len(rep.Stoppers))
		for i := range rep.Stoppers {
			errs[i], rep.Stoppers[i].Err = rep.Stoppers[i].Err, nil
		}
		if !reflect.DeepEqual(rep, want) {
			t.Errorf("report = %+v;\nwant %+v", rep, want)
		}
		if !errors.Is(errs[0], context.DeadlineExceeded) || !strings.Contains(errs[0].Error(), `"slow"`) {
			t.Errorf("slow: Err = %v; want DeadlineExceeded naming the service", errs[0])
		}
		if errs[1] != nil {
			t.Errorf("cache: Err = %v; want nil", errs[1])
		}
		if !errors.Is(errs[2], errFlush) || !strings.Contains(errs[2].Error(), `"db"`) {
			t.Errorf("db: Err = %v; want it to wrap %v and name the service", errs[2], errFlush)
		}
		for i := range rep.Stoppers {
			rep.Stoppers[i].Err = errs[i]
		}
		err := rep.Err()
		if !errors.Is(err, errFlush) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err() = %v; want it to join both failures", err)
		}
		if got := strings.Count(err.Error(), "\n"); got != 1 {
			t.Errorf("Err() = %q; want two lines", err)
		}
		sleepOnAll(vc, time.Hour)
	})
}

func TestStop_ErrIsNilWhenAllReturnInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		m := vc.manager()
		m.Register("a", &stopper{name: "a", log: log})
		m.Register("b", &stopper{name: "b", log: log, behave: takes(vc, time.Second, nil)})
		rep, _ := vc.shutdown(m, 4*time.Second)
		if err := rep.Err(); err != nil {
			t.Errorf("Err() = %v; want nil", err)
		}
	})
}

func TestStop_NoStoppers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		m := vc.manager()
		m.Register("a", idle{})
		rep, took := vc.shutdown(m, time.Second)
		if took != 0 || len(rep.Stoppers) != 0 || rep.Err() != nil {
			t.Errorf("Shutdown took %v, report %+v; want nothing called and no error", took, rep)
		}
		if got := lifecycle.NewManager().Shutdown(time.Second); len(got.Stoppers) != 0 {
			t.Errorf("empty Manager: report %+v; want no Stoppers", got)
		}
	})
}

func TestStop_SecondCallDoesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		m := vc.manager()
		m.Register("a", &stopper{name: "a", log: log, behave: takes(vc, time.Second, nil)})
		first, _ := vc.shutdown(m, 10*time.Second)
		second, took := vc.shutdown(m, time.Minute)
		if got := len(log.get()); got != 1 {
			t.Errorf("Stop called %d times; want 1", got)
		}
		if took != 0 {
			t.Errorf("second Shutdown took %v; want 0", took)
		}
		if !reflect.DeepEqual(second, first) {
			t.Errorf("second report = %+v; want the first %+v", second, first)
		}
		m.Stop(time.Hour) // and Stop too
		if got := len(log.get()); got != 1 {
			t.Errorf("Stop called %d times; want 1", got)
		}
	})
}

func TestStop_ConcurrentCallWaitsForFirstAndGetsItsReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vc := defaultClock(t)
		log := &stopLog{vc: vc}
		m := vc.manager()
		m.Register("a", &stopper{name: "a", log: log, behave: takes(vc, 5*time.Second, nil)})
		var (
			first  lifecycle.StopReport
			wg     sync.WaitGroup
			second lifecycle.StopReport
			at     time.Duration
		)
		wg.Go(func() { first = m.Shutdown(10 * time.Second) })
		wg.Go(func() {
			time.Sleep(time.Second)
			second = m.Shutdown(time.Millisecond)
			at = vc.since()
		})
		wg.Wait()
		if at != 5*time.Second {
			t.Errorf("second Shutdown returned at %v; want %v, when the first finished", at, 5*time.Second)
		}
		if !reflect.DeepEqual(second, first) {
			t.Errorf("second report = %+v; want the first %+v", second, first)
		}
		if got := len(log.get()); got != 1 {
			t.Errorf("Stop called %d times; want 1", got)
		}
	})
}

// runStopper is a Runner that records when its context was done, and a
// Stopper that records when it was called.
type runStopper struct {
	vc               *vclock
	ctxDone, stopped atomic.Int64 // since the test began; -1: never
}

func (r *runStopper) Run(ctx context.Context) error {
	<-ctx.Done()
	r.ctxDone.Store(int64(r.vc.since()))
	return nil
}

func (r *runStopper) Stop(ctx context.Context) error {
	r.stopped.Store(int64(r.vc.since()))
	return nil
}

func TestStop_BeforeDuringAndAfterRun(t *testing.T) {
	// Run runs from 10s to 20s; Stop does not cancel its context.
	for _, stopAt := range []time.Duration{5 * time.Second, 15 * time.Second, 25 * time.Second} {
		t.Run(fmt.Sprint("Stop at ", stopAt), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vc := defaultClock(t)
				m := vc.manager()
				svc := &runStopper{vc: vc}
				svc.ctxDone.Store(-1)
				svc.stopped.Store(-1)
				m.Register("svc", svc)
				var (
					rep lifecycle.StopReport
					wg  sync.WaitGroup
				)
				wg.Go(func() {
					time.Sleep(stopAt)
					rep = m.Shutdown(time.Second)
				})
				time.Sleep(10 * time.Second)
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(10*time.Second, cancel)
				m.Run(ctx)
				wg.Wait()
				if got := time.Duration(svc.stopped.Load()); got != stopAt {
					t.Errorf("Stop called at %v; want %v", got, stopAt)
				}
				if got, want := time.Duration(svc.ctxDone.Load()), 20*time.Second; got != want {
					t.Errorf("Run's context done at %v; want %v, when the caller cancelled it", got, want)
				}
				if len(rep.Stoppers) != 1 || rep.Stoppers[0].Err != nil {
					t.Errorf("report %+v; want svc stopped in time", rep.Stoppers)
				}
			})
		})
	}
}

func TestShutdown_ExpiredBudgetElapsedIsZero(t *testing.T) {
	// With timeout <= 0 every Stopper is abandoned at once: the Manager
	// waited for none of them, so Elapsed is 0, never a negative share.
	for _, timeout := range []time.Duration{0, -time.Minute} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := lifecycle.NewManager(quiet)
				for _, name := range []string{"a", "b", "c"} {
					m.Register(name, stopFunc(func(context.Context) error { return nil }))
				}
				rep := m.Shutdown(timeout)
				synctest.Wait()
				for _, r := range rep.Stoppers {
					if !r.Abandoned || r.Elapsed != 0 {
						t.Errorf("%s: Abandoned %v, Elapsed %v; want abandoned after 0s", r.Service, r.Abandoned, r.Elapsed)
					}
				}
			})
		})
	}
}
