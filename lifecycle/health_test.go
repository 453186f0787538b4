package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// reporter is an idle Runner that reports a fixed health, or panics in
// Health if panicWith is set.
type reporter struct {
	h         lifecycle.WorkerHealth
	panicWith any
}

func (r *reporter) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (r *reporter) Health() lifecycle.WorkerHealth {
	if r.panicWith != nil {
		panic(r.panicWith)
	}
	return r.h
}

func TestHealth_OrderNamesAndOmissions(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m := lifecycle.NewManager(quiet)
	m.Register("zeta", &reporter{h: lifecycle.WorkerHealth{Name: "bogus", LastSuccess: t0, ConsecutiveFailures: 0}})
	m.Register("no-health", idle{})
	m.Register("alpha", &reporter{h: lifecycle.WorkerHealth{LastFailure: t0, LastError: "boom", ConsecutiveFailures: 3}})
	m.Register("mid", &reporter{h: lifecycle.WorkerHealth{Name: "alpha"}})

	got := m.Health()
	want := []lifecycle.WorkerHealth{
		{Name: "zeta", LastSuccess: t0},
		{Name: "alpha", LastFailure: t0, LastError: "boom", ConsecutiveFailures: 3},
		{Name: "mid"},
	}
	if len(got) != len(want) {
		t.Fatalf("Health() = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Health()[%d] = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestHealth_NeverNil(t *testing.T) {
	tests := []struct {
		name  string
		setup func(m *lifecycle.Manager)
	}{
		{"no services", func(*lifecycle.Manager) {}},
		{"no reporters", func(m *lifecycle.Manager) { m.Register("a", idle{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := lifecycle.NewManager()
			tt.setup(m)
			h := m.Health()
			if h == nil || len(h) != 0 {
				t.Errorf("Health() = %#v; want an empty, non-nil slice", h)
			}
			b, err := json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), "[]"; got != want {
				t.Errorf("JSON = %s; want %s", got, want)
			}
		})
	}
}

func TestWorkerHealth_JSONOmitsZeroTimes(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		h    lifecycle.WorkerHealth
		want string
	}{
		{"nothing happened", lifecycle.WorkerHealth{Name: "a"},
			`{"name":"a","consecutive_failures":0}`},
		{"a success", lifecycle.WorkerHealth{Name: "a", LastSuccess: t0},
			`{"name":"a","last_success":"2030-01-02T03:04:05Z","consecutive_failures":0}`},
		{"a failure", lifecycle.WorkerHealth{Name: "a", LastFailure: t0, LastError: "boom", ConsecutiveFailures: 1},
			`{"name":"a","last_failure":"2030-01-02T03:04:05Z","last_error":"boom","consecutive_failures":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.h)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("JSON = %s; want %s", got, tt.want)
			}
		})
	}
}

func TestHealth_JSONFromTrackerBeforeAndAfterEvents(t *testing.T) {
	m := lifecycle.NewManager(quiet)
	tr := &trackedService{}
	m.Register("svc", tr)
	check := func(want string) {
		t.Helper()
		b, err := json.Marshal(m.Health())
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); got != want {
			t.Errorf("JSON = %s; want %s", got, want)
		}
	}
	check(`[{"name":"svc","consecutive_failures":0}]`)
	tr.Clock = fixedClock{time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	tr.Failure(errors.New("boom"))
	check(`[{"name":"svc","last_failure":"2030-01-02T03:04:05Z","last_error":"boom","consecutive_failures":1}]`)
	tr.Success()
	check(`[{"name":"svc","last_success":"2030-01-02T03:04:05Z","last_failure":"2030-01-02T03:04:05Z","last_error":"boom","consecutive_failures":0}]`)
}

// trackedService is an idle Runner whose health is kept by a Tracker.
type trackedService struct {
	lifecycle.Tracker
}

func (*trackedService) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// fixedClock is a Clock stopped at one instant; it has no waits.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                     { return c.t }
func (c fixedClock) Since(t time.Time) time.Duration    { return c.t.Sub(t) }
func (fixedClock) After(time.Duration) <-chan time.Time { panic("fixedClock.After") }
func (fixedClock) WithTimeout(context.Context, time.Duration) (context.Context, context.CancelFunc) {
	panic("fixedClock.WithTimeout")
}

func TestHealth_PanickingReporterIsContained(t *testing.T) {
	for _, v := range []any{"kaput", errors.New("kaput"), 42} {
		t.Run(fmt.Sprintf("%T", v), func(t *testing.T) {
			var logs logBuffer
			m := lifecycle.NewManager(logs.option())
			m.Register("before", &reporter{h: lifecycle.WorkerHealth{ConsecutiveFailures: 1}})
			m.Register("broken", &reporter{h: lifecycle.WorkerHealth{ConsecutiveFailures: 7}, panicWith: v})
			m.Register("after", &reporter{h: lifecycle.WorkerHealth{ConsecutiveFailures: 2}})
			got := m.Health()
			if len(got) != 3 {
				t.Fatalf("Health() = %+v; want 3 entries", got)
			}
			if got[0] != (lifecycle.WorkerHealth{Name: "before", ConsecutiveFailures: 1}) ||
				got[2] != (lifecycle.WorkerHealth{Name: "after", ConsecutiveFailures: 2}) {
				t.Errorf("Health() = %+v; want the other entries as reported", got)
			}
			b := got[1]
			if b.Name != "broken" {
				t.Errorf("Name = %q; want %q", b.Name, "broken")
			}
			if !strings.Contains(b.LastError, "panicked") || !strings.Contains(b.LastError, fmt.Sprint(v)) {
				t.Errorf("LastError = %q; want it to say the service panicked, and with what", b.LastError)
			}
			if lines := logs.lines("level=ERROR", "service=broken", "panic"); len(lines) != 1 {
				t.Errorf("log:\n%s\nwant one error line naming the service", logs.String())
			}
		})
	}
}

func TestHealth_ConcurrentWithRegisterRunAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		// Readers poll Health every millisecond throughout.
		for range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					h := m.Health()
					for i, e := range h {
						if e.Name == "" {
							t.Errorf("Health()[%d] has no name", i)
						}
					}
					_, _ = json.Marshal(h)
				}
			})
		}
		// Services register while the readers run, then tick.
		for i := range 5 {
			time.Sleep(time.Millisecond / 2)
			m.Register(fmt.Sprint("svc", i), &ticking{period: time.Duration(i+1) * time.Millisecond})
			m.Register(fmt.Sprint("plain", i), idle{})
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		wg.Go(func() {
			time.Sleep(50 * time.Millisecond)
			m.Stop(10 * time.Millisecond)
		})
		m.Run(ctx)
		time.Sleep(10 * time.Millisecond)
		close(stop)
		wg.Wait()
		if got := len(m.Health()); got != 5 {
			t.Errorf("Health() has %d entries; want 5", got)
		}
	})
}

// ticking is a service that records a success or a failure every period
// until its context is done, and has a Stop.
type ticking struct {
	lifecycle.Tracker
	period time.Duration
}

func (s *ticking) Run(ctx context.Context) error {
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.period):
		}
		if n%3 == 2 {
			s.Failure(fmt.Errorf("tick %d failed", n))
		} else {
			s.Success()
		}
	}
}

func (s *ticking) Stop(ctx context.Context) error {
	s.Failure(errors.New("stopping"))
	return nil
}

func TestHealth_AtMostTwoAllocationsFor1000Reporters(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation changes allocation counts")
	}
	m := lifecycle.NewManager(quiet)
	for i := range 1000 {
		svc := &trackedService{}
		if i%2 == 0 {
			svc.Success()
		} else {
			svc.Failure(errors.New("boom"))
		}
		m.Register(fmt.Sprint("svc", i), svc)
	}
	if got := testing.AllocsPerRun(100, func() { _ = m.Health() }); got > 2 {
		t.Errorf("Health() over 1000 reporters allocates %v times; want at most 2", got)
	}
}
