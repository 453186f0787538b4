package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// github.com/benbjohnson/clock's clocks satisfy Clock as they are (docs/contract.md, C1.5).
var (
	_ lifecycle.Clock = clock.New()
	_ lifecycle.Clock = clock.NewMock()
)

// quiet is a logger that drops everything, for tests that do not read logs.
var quiet = lifecycle.WithLogger(slog.New(slog.DiscardHandler))

// logBuffer collects the Manager's log output as text; it is safe for
// concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// option returns a WithLogger option that logs to b.
func (b *logBuffer) option() lifecycle.Option {
	return lifecycle.WithLogger(slog.New(slog.NewTextHandler(b, nil)))
}

// lines returns the log lines that contain every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	var out []string
	for line := range strings.Lines(b.String()) {
		if !slices.ContainsFunc(subs, func(s string) bool { return !strings.Contains(line, s) }) {
			out = append(out, line)
		}
	}
	return out
}

// panicMessage runs f and returns the string it panicked with; it fails the
// test if f returns or panics with something other than a string.
func panicMessage(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		s, ok := v.(string)
		if !ok {
			t.Fatalf("panic value %#v; want a string", v)
		}
		msg = s
	}()
	f()
	t.Fatalf("returned normally; want a panic")
	return ""
}

// idle is a Runner that waits for ctx and does nothing else.
type idle struct{}

func (idle) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// cancelled returns a context that is already done.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestRegister_ProgrammerErrorsPanic(t *testing.T) {
	tests := []struct {
		name  string
		setup func(m *lifecycle.Manager)
		call  func(m *lifecycle.Manager)
		want  string // the panic message must contain it
	}{
		{
			name: "empty name",
			call: func(m *lifecycle.Manager) { m.Register("", idle{}) },
			want: "empty",
		},
		{
			name: "nil Runner",
			call: func(m *lifecycle.Manager) { m.Register("ingest", nil) },
			want: `"ingest"`,
		},
		{
			name:  "duplicate name",
			setup: func(m *lifecycle.Manager) { m.Register("ingest", idle{}) },
			call:  func(m *lifecycle.Manager) { m.Register("ingest", idle{}) },
			want:  `"ingest"`,
		},
		{
			name: "after Run",
			setup: func(m *lifecycle.Manager) {
				m.Register("first", idle{})
				m.Run(cancelled())
			},
			call: func(m *lifecycle.Manager) { m.Register("late", idle{}) },
			want: `"late"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := lifecycle.NewManager(quiet)
			if tt.setup != nil {
				tt.setup(m)
			}
			before := m.Names()
			msg := panicMessage(t, func() { tt.call(m) })
			if !strings.HasPrefix(msg, "lifecycle:") {
				t.Errorf("panic %q; want prefix %q", msg, "lifecycle:")
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("panic %q; want it to contain %s", msg, tt.want)
			}
			if got := m.Names(); !slices.Equal(got, before) {
				t.Errorf("Names() after the panic = %q; want %q (nothing registered)", got, before)
			}
		})
	}
}

func TestRegister_AfterRunStartedPanicsWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.Register("a", idle{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()
		synctest.Wait()
		msg := panicMessage(t, func() { m.Register("b", idle{}) })
		if want := `lifecycle: Register("b") `; !strings.HasPrefix(msg, want) {
			t.Errorf("panic %q; want prefix %q", msg, want)
		}
		cancel()
		<-done
	})
}

func TestSetBackoff_InvalidValuesPanic(t *testing.T) {
	tests := []struct {
		name                    string
		initial, maximum, reset time.Duration
	}{
		{"zero initial", 0, time.Second, time.Second},
		{"negative initial", -time.Second, time.Second, time.Second},
		{"initial above maximum", 2 * time.Second, time.Second, time.Second},
		{"zero reset", time.Second, time.Second, 0},
		{"negative reset", time.Second, time.Second, -1},
		{"negative maximum", time.Second, -time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := lifecycle.NewManager()
			msg := panicMessage(t, func() { m.SetBackoff(tt.initial, tt.maximum, tt.reset) })
			if !strings.HasPrefix(msg, "lifecycle:") {
				t.Errorf("panic %q; want prefix %q", msg, "lifecycle:")
			}
			if !strings.Contains(msg, tt.initial.String()) {
				t.Errorf("panic %q; want it to name the values", msg)
			}
		})
	}
}

func TestSetBackoff_ValidBoundaries(t *testing.T) {
	m := lifecycle.NewManager()
	m.SetBackoff(1, 1, 1) // initial == maximum, smallest positive values
	m.SetBackoff(1, math.MaxInt64, math.MaxInt64)
}

func TestRun_SecondCallPanics(t *testing.T) {
	m := lifecycle.NewManager(quiet)
	m.Register("a", idle{})
	m.Run(cancelled())
	msg := panicMessage(t, func() { m.Run(cancelled()) })
	if !strings.HasPrefix(msg, "lifecycle:") {
		t.Errorf("panic %q; want prefix %q", msg, "lifecycle:")
	}
}

func TestRun_SecondCallPanicsWhileFirstRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.Register("a", idle{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()
		synctest.Wait()
		msg := panicMessage(t, func() { m.Run(ctx) })
		if !strings.HasPrefix(msg, "lifecycle:") {
			t.Errorf("panic %q; want prefix %q", msg, "lifecycle:")
		}
		cancel()
		<-done
	})
}

func TestNewManager_NilOptionsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"nil Option":     func() { lifecycle.NewManager(nil) },
		"WithClock(nil)": func() { lifecycle.WithClock(nil) },
	} {
		t.Run(name, func(t *testing.T) {
			if msg := panicMessage(t, f); !strings.HasPrefix(msg, "lifecycle:") {
				t.Errorf("panic %q; want prefix %q", msg, "lifecycle:")
			}
		})
	}
}

func TestNames_RegistrationOrderAndNeverNil(t *testing.T) {
	m := lifecycle.NewManager()
	if got := m.Names(); got == nil || len(got) != 0 {
		t.Errorf("Names() of an empty Manager = %#v; want an empty, non-nil slice", got)
	}
	want := []string{"zeta", "alpha", "mid"}
	for _, n := range want {
		m.Register(n, idle{})
	}
	got := m.Names()
	if !slices.Equal(got, want) {
		t.Errorf("Names() = %q; want %q", got, want)
	}
	got[0] = "changed"
	if got := m.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() after changing a returned slice = %q; want %q", got, want)
	}
}

// TestRun_OnBenbjohnsonMock runs a Manager briefly on clock.NewMock(): a
// plain Clock without NewTimer. The mock sleeps 1ms of package time in each
// Add, so it runs in a bubble, where that sleep is virtual.
func TestRun_OnBenbjohnsonMock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := clock.NewMock()
		t0 := mock.Now()
		var (
			mu     sync.Mutex
			starts []time.Duration
		)
		m := lifecycle.NewManager(lifecycle.WithClock(mock), quiet)
		m.Register("flaky", runFunc(func(ctx context.Context) error {
			mu.Lock()
			starts = append(starts, mock.Since(t0))
			mu.Unlock()
			return errors.New("boom")
		}))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()
		for range 3 { // start at 0; waits 1s; starts at 1s; waits 2s; starts at 3s
			synctest.Wait()
			mock.Add(time.Second)
		}
		synctest.Wait()
		cancel()
		<-done
		want := []time.Duration{0, 1 * time.Second, 3 * time.Second}
		if !slices.Equal(starts, want) {
			t.Errorf("starts = %v; want %v", starts, want)
		}

		// Stop deadlines come from the mock too.
		m2 := lifecycle.NewManager(lifecycle.WithClock(mock), quiet)
		var deadline time.Time
		m2.Register("db", stopFunc(func(ctx context.Context) error {
			deadline, _ = ctx.Deadline()
			return nil
		}))
		m2.Stop(4 * time.Second)
		if want := mock.Now().Add(4 * time.Second); !deadline.Equal(want) {
			t.Errorf("Stop deadline = %v; want %v", deadline, want)
		}
	})
}

// runFunc adapts a function to a Runner.
type runFunc func(ctx context.Context) error

func (f runFunc) Run(ctx context.Context) error { return f(ctx) }

// stopFunc is an idle Runner whose Stop is the function.
type stopFunc func(ctx context.Context) error

func (stopFunc) Run(ctx context.Context) error    { <-ctx.Done(); return nil }
func (f stopFunc) Stop(ctx context.Context) error { return f(ctx) }

func TestNames_AskedBetweenRegistrationsListsEveryOneInOrder(t *testing.T) {
	// The Manager lists its services only when asked (Run, Names,
	// States, a shutdown, a probe): asked again and again while services
	// are still being registered, across the blocks they are made in, it
	// still lists each once, in order; and a duplicate name is found
	// whichever block holds the first.
	m := lifecycle.NewManager(quiet)
	var want []string
	for i := range 3000 {
		name := fmt.Sprintf("svc-%d", i)
		m.Register(name, idle{})
		want = append(want, name)
		if i%7 == 0 || i == 2999 {
			if got := m.Names(); !slices.Equal(got, want) {
				t.Fatalf("after %d registrations, Names() has %d names, not in order; want %d", i+1, len(got), len(want))
			}
		}
	}
	for _, dup := range []string{"svc-0", "svc-8", "svc-1500", "svc-2999"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), strconv.Quote(dup)) {
					t.Errorf("Register(%q) again: recovered %v; want a panic naming it", dup, r)
				}
			}()
			m.Register(dup, idle{})
		}()
	}
}
