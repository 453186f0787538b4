package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// A Tracker, and a struct that embeds one, is a HealthReporter.
var (
	_ lifecycle.HealthReporter = (*lifecycle.Tracker)(nil)
	_ lifecycle.HealthReporter = (*lifecycle.Worker)(nil)
	_ lifecycle.Runner         = (*lifecycle.Worker)(nil)
)

func TestTracker_ZeroValueIsZeroHealth(t *testing.T) {
	var tr lifecycle.Tracker
	if got := tr.Health(); got != (lifecycle.WorkerHealth{}) {
		t.Errorf("Health() of a zero Tracker = %+v; want the zero WorkerHealth", got)
	}
}

func TestTracker_PerTickContract(t *testing.T) {
	clk := fakeclock.New(t, extEpoch)
	tr := lifecycle.Tracker{Clock: clk}
	at := func(s int) time.Time { return extEpoch.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		name string
		do   func()
		want lifecycle.WorkerHealth
	}{
		{"first failure leaves LastSuccess zero", func() { tr.Failure(errors.New("dial: refused")) },
			lifecycle.WorkerHealth{LastFailure: at(1), LastError: "dial: refused", ConsecutiveFailures: 1}},
		{"second failure adds one", func() { tr.Failure(errors.New("timeout")) },
			lifecycle.WorkerHealth{LastFailure: at(2), LastError: "timeout", ConsecutiveFailures: 2}},
		{"success resets the count, keeps the last failure", func() { tr.Success() },
			lifecycle.WorkerHealth{LastSuccess: at(3), LastFailure: at(2), LastError: "timeout"}},
		{"Record(nil) is a success", func() { tr.Record(nil) },
			lifecycle.WorkerHealth{LastSuccess: at(4), LastFailure: at(2), LastError: "timeout"}},
		{"Record(err) is a failure", func() { tr.Record(errors.New("EOF")) },
			lifecycle.WorkerHealth{LastSuccess: at(4), LastFailure: at(5), LastError: "EOF", ConsecutiveFailures: 1}},
		{"Failure(nil) is a failure of unknown error", func() { tr.Failure(nil) },
			lifecycle.WorkerHealth{LastSuccess: at(4), LastFailure: at(6), LastError: "unknown error", ConsecutiveFailures: 2}},
	}
	for _, s := range steps {
		clk.Advance(time.Second)
		s.do()
		if got := tr.Health(); got != s.want {
			t.Errorf("%s:\n got %+v\nwant %+v", s.name, got, s.want)
		}
	}
}

func TestTracker_FirstSuccessLeavesLastFailureZero(t *testing.T) {
	clk := fakeclock.New(t, extEpoch)
	tr := lifecycle.Tracker{Clock: clk}
	tr.Success()
	want := lifecycle.WorkerHealth{LastSuccess: extEpoch}
	if got := tr.Health(); got != want {
		t.Errorf("Health() = %+v; want %+v", got, want)
	}
}

func TestTracker_NilClockStampsWithPackageTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr lifecycle.Tracker
		time.Sleep(time.Hour) // virtual: the bubble's clock moves exactly 1h
		tr.Success()
		time.Sleep(time.Minute)
		tr.Failure(errors.New("x"))
		h := tr.Health()
		if now := time.Now(); !h.LastSuccess.Equal(now.Add(-time.Minute)) || !h.LastFailure.Equal(now) {
			t.Errorf("Health() = %+v; want LastSuccess %v, LastFailure %v", h, now.Add(-time.Minute), now)
		}
	})
}

func TestTracker_ConcurrentUse(t *testing.T) {
	// Run with -race. Failures from many goroutines must all count; Health
	// and Success in between must never see a torn value.
	clk := fakeclock.New(t, extEpoch)
	tr := lifecycle.Tracker{Clock: clk}
	const goroutines, each = 8, 200
	errBoom := errors.New("boom")
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				tr.Failure(errBoom)
				if h := tr.Health(); h.ConsecutiveFailures < 1 || h.LastError != "boom" {
					t.Errorf("Health() = %+v mid-run; want at least one failure, error boom", h)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range each {
			clk.Advance(time.Millisecond)
		}
	})
	wg.Wait()
	if got := tr.Health().ConsecutiveFailures; got != goroutines*each {
		t.Errorf("ConsecutiveFailures = %d after %d concurrent failures; want %d", got, goroutines*each, goroutines*each)
	}

	wg.Go(func() { tr.Success() })
	wg.Go(func() { tr.Record(nil) })
	wg.Wait()
	if got := tr.Health(); got.ConsecutiveFailures != 0 || got.LastSuccess.IsZero() {
		t.Errorf("Health() = %+v after concurrent successes; want 0 consecutive failures and a LastSuccess", got)
	}
}

func TestTracker_JSONOmitsTimesUntilTheyHappen(t *testing.T) {
	clk := fakeclock.New(t, extEpoch)
	tr := lifecycle.Tracker{Clock: clk}
	check := func(want string) {
		t.Helper()
		b, err := json.Marshal(tr.Health())
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("JSON\n got %s\nwant %s", b, want)
		}
	}
	check(`{"name":"","consecutive_failures":0}`)
	tr.Failure(errors.New(`bad "quote"`))
	check(`{"name":"","last_failure":"2031-06-01T12:00:00Z","last_error":"bad \"quote\"","consecutive_failures":1}`)
	clk.Advance(1500 * time.Millisecond)
	tr.Success()
	check(`{"name":"","last_success":"2031-06-01T12:00:01.5Z","last_failure":"2031-06-01T12:00:00Z","last_error":"bad \"quote\"","consecutive_failures":0}`)
}

// mailService is a service that embeds a Tracker to report its health.
type mailService struct {
	lifecycle.Tracker
}

func (s *mailService) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestTracker_EmbeddedReportsUnderRegistrationName(t *testing.T) {
	clk := fakeclock.New(t, extEpoch)
	svc := &mailService{Tracker: lifecycle.Tracker{Clock: clk}}
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	m.Register("mailer", svc)
	svc.Failure(errors.New("smtp: 421"))

	want := []lifecycle.WorkerHealth{{Name: "mailer", LastFailure: extEpoch, LastError: "smtp: 421", ConsecutiveFailures: 1}}
	if got := m.Health(); !slices.Equal(got, want) {
		t.Errorf("Manager.Health() = %+v; want %+v", got, want)
	}
}
