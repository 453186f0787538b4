package lifecycleprom_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	lifecycleprom "github.com/lifecyclesim/lifecycle/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics_CountsEveryAttemptRestartAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		metrics := lifecycleprom.New()
		story(t, metrics, nil)

		want := `
# HELP lifecycle_attempts_started_total Calls of a service's Run.
# TYPE lifecycle_attempts_started_total counter
lifecycle_attempts_started_total{service="cache"} 1
lifecycle_attempts_started_total{service="db"} 5
lifecycle_attempts_started_total{service="migrate"} 1
# HELP lifecycle_attempts_ended_total Ends of a service's Run, by outcome: nil, error, panic or goexit (failures while the Manager ran), finished (ErrFinished), or canceled (returned once the Manager's context was done).
# TYPE lifecycle_attempts_ended_total counter
lifecycle_attempts_ended_total{outcome="canceled",service="cache"} 1
lifecycle_attempts_ended_total{outcome="error",service="cache"} 0
lifecycle_attempts_ended_total{outcome="finished",service="cache"} 0
lifecycle_attempts_ended_total{outcome="goexit",service="cache"} 0
lifecycle_attempts_ended_total{outcome="nil",service="cache"} 0
lifecycle_attempts_ended_total{outcome="panic",service="cache"} 0
lifecycle_attempts_ended_total{outcome="canceled",service="db"} 1
lifecycle_attempts_ended_total{outcome="error",service="db"} 1
lifecycle_attempts_ended_total{outcome="finished",service="db"} 0
lifecycle_attempts_ended_total{outcome="goexit",service="db"} 1
lifecycle_attempts_ended_total{outcome="nil",service="db"} 1
lifecycle_attempts_ended_total{outcome="panic",service="db"} 1
lifecycle_attempts_ended_total{outcome="canceled",service="migrate"} 0
lifecycle_attempts_ended_total{outcome="error",service="migrate"} 0
lifecycle_attempts_ended_total{outcome="finished",service="migrate"} 1
lifecycle_attempts_ended_total{outcome="goexit",service="migrate"} 0
lifecycle_attempts_ended_total{outcome="nil",service="migrate"} 0
lifecycle_attempts_ended_total{outcome="panic",service="migrate"} 0
# HELP lifecycle_restarts_total Restarts of a service decided after a failed attempt, by the failure's outcome.
# TYPE lifecycle_restarts_total counter
lifecycle_restarts_total{outcome="error",service="cache"} 0
lifecycle_restarts_total{outcome="goexit",service="cache"} 0
lifecycle_restarts_total{outcome="nil",service="cache"} 0
lifecycle_restarts_total{outcome="panic",service="cache"} 0
lifecycle_restarts_total{outcome="error",service="db"} 1
lifecycle_restarts_total{outcome="goexit",service="db"} 1
lifecycle_restarts_total{outcome="nil",service="db"} 1
lifecycle_restarts_total{outcome="panic",service="db"} 1
lifecycle_restarts_total{outcome="error",service="migrate"} 0
lifecycle_restarts_total{outcome="goexit",service="migrate"} 0
lifecycle_restarts_total{outcome="nil",service="migrate"} 0
lifecycle_restarts_total{outcome="panic",service="migrate"} 0
# HELP lifecycle_stops_total Calls of a service's Stop, by outcome: nil, error, panic, goexit, or abandoned (still running at its deadline).
# TYPE lifecycle_stops_total counter
lifecycle_stops_total{outcome="abandoned",service="cache"} 1
lifecycle_stops_total{outcome="error",service="cache"} 0
lifecycle_stops_total{outcome="goexit",service="cache"} 0
lifecycle_stops_total{outcome="nil",service="cache"} 0
lifecycle_stops_total{outcome="panic",service="cache"} 0
lifecycle_stops_total{outcome="abandoned",service="db"} 0
lifecycle_stops_total{outcome="error",service="db"} 0
lifecycle_stops_total{outcome="goexit",service="db"} 0
lifecycle_stops_total{outcome="nil",service="db"} 1
lifecycle_stops_total{outcome="panic",service="db"} 0
`
		if err := testutil.CollectAndCompare(metrics, strings.NewReader(want),
			"lifecycle_attempts_started_total", "lifecycle_attempts_ended_total",
			"lifecycle_restarts_total", "lifecycle_stops_total"); err != nil {
			t.Error(err)
		}
	})
}

func TestMetrics_HistogramsInSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		metrics := lifecycleprom.New(
			lifecycleprom.WithAttemptBuckets(1, 60),
			lifecycleprom.WithBackoffBuckets(2),
			lifecycleprom.WithStopBuckets(1),
		)
		story(t, metrics, nil)

		// db's attempts ran 0s, 3s, 0s, 0s and 82s; its restart delays were
		// 1s, 2s, 4s, 8s; its Stop took 2s. cache's Stop was abandoned: its
		// histogram has no observation.
		want := `
# HELP lifecycle_attempt_duration_seconds How long each call of a service's Run ran.
# TYPE lifecycle_attempt_duration_seconds histogram
lifecycle_attempt_duration_seconds_bucket{service="cache",le="1"} 0
lifecycle_attempt_duration_seconds_bucket{service="cache",le="60"} 0
lifecycle_attempt_duration_seconds_bucket{service="cache",le="+Inf"} 1
lifecycle_attempt_duration_seconds_sum{service="cache"} 100
lifecycle_attempt_duration_seconds_count{service="cache"} 1
lifecycle_attempt_duration_seconds_bucket{service="db",le="1"} 3
lifecycle_attempt_duration_seconds_bucket{service="db",le="60"} 4
lifecycle_attempt_duration_seconds_bucket{service="db",le="+Inf"} 5
lifecycle_attempt_duration_seconds_sum{service="db"} 85
lifecycle_attempt_duration_seconds_count{service="db"} 5
lifecycle_attempt_duration_seconds_bucket{service="migrate",le="1"} 1
lifecycle_attempt_duration_seconds_bucket{service="migrate",le="60"} 1
lifecycle_attempt_duration_seconds_bucket{service="migrate",le="+Inf"} 1
lifecycle_attempt_duration_seconds_sum{service="migrate"} 0.5
lifecycle_attempt_duration_seconds_count{service="migrate"} 1
# HELP lifecycle_backoff_delay_seconds Each delay a service waited, or began to wait, before a restart.
# TYPE lifecycle_backoff_delay_seconds histogram
lifecycle_backoff_delay_seconds_bucket{service="cache",le="2"} 0
lifecycle_backoff_delay_seconds_bucket{service="cache",le="+Inf"} 0
lifecycle_backoff_delay_seconds_sum{service="cache"} 0
lifecycle_backoff_delay_seconds_count{service="cache"} 0
lifecycle_backoff_delay_seconds_bucket{service="db",le="2"} 2
lifecycle_backoff_delay_seconds_bucket{service="db",le="+Inf"} 4
lifecycle_backoff_delay_seconds_sum{service="db"} 15
lifecycle_backoff_delay_seconds_count{service="db"} 4
lifecycle_backoff_delay_seconds_bucket{service="migrate",le="2"} 0
lifecycle_backoff_delay_seconds_bucket{service="migrate",le="+Inf"} 0
lifecycle_backoff_delay_seconds_sum{service="migrate"} 0
lifecycle_backoff_delay_seconds_count{service="migrate"} 0
# HELP lifecycle_stop_duration_seconds How long each call of a service's Stop took, when it ended before its deadline.
# TYPE lifecycle_stop_duration_seconds histogram
lifecycle_stop_duration_seconds_bucket{service="cache",le="1"} 0
lifecycle_stop_duration_seconds_bucket{service="cache",le="+Inf"} 0
lifecycle_stop_duration_seconds_sum{service="cache"} 0
lifecycle_stop_duration_seconds_count{service="cache"} 0
lifecycle_stop_duration_seconds_bucket{service="db",le="1"} 0
lifecycle_stop_duration_seconds_bucket{service="db",le="+Inf"} 1
lifecycle_stop_duration_seconds_sum{service="db"} 2
lifecycle_stop_duration_seconds_count{service="db"} 1
`
		if err := testutil.CollectAndCompare(metrics, strings.NewReader(want),
			"lifecycle_attempt_duration_seconds", "lifecycle_backoff_delay_seconds",
			"lifecycle_stop_duration_seconds"); err != nil {
			t.Error(err)
		}
	})
}

func TestMetrics_PassesLintAndPedanticRegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		metrics := lifecycleprom.New()
		reg := prometheus.NewPedanticRegistry() // checks Collect against Describe
		if err := reg.Register(metrics); err != nil {
			t.Fatalf("Register: %v", err)
		}
		story(t, metrics, nil)

		problems, err := testutil.CollectAndLint(metrics)
		if err != nil {
			t.Fatalf("CollectAndLint: %v", err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
		if _, err := reg.Gather(); err != nil {
			t.Errorf("Gather: %v", err)
		}
		if got := testutil.CollectAndCount(metrics); got == 0 {
			t.Errorf("CollectAndCount = %d; want series", got)
		}
	})
}

func TestMetrics_RegisteredTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(lifecycleprom.New())
	err := reg.Register(lifecycleprom.New())
	if !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		t.Errorf("second Register: got %v; want an AlreadyRegisteredError", err)
	}
}

func TestMetrics_SeveralManagersRegisterUnderTheirOwnLabel(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	for _, name := range []string{"api", "jobs"} {
		wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"manager": name}, reg)
		if err := wrapped.Register(lifecycleprom.New()); err != nil {
			t.Errorf("Register with manager=%q: %v", name, err)
		}
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("Gather: %v", err)
	}
}

func TestEvents_PassesEveryEventOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []lifecycle.Event
		var mu sync.Mutex
		metrics := lifecycleprom.New()
		story(t, metrics, func(ev lifecycle.Event) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev)
		})

		count := map[lifecycle.EventKind]int{}
		for _, ev := range got {
			count[ev.Kind]++
		}
		want := map[lifecycle.EventKind]int{
			lifecycle.AttemptStarted: 7, lifecycle.AttemptEnded: 7, lifecycle.BackingOff: 4,
			lifecycle.StopCalled: 2, lifecycle.StopEnded: 1, lifecycle.StopAbandoned: 1,
		}
		for k, n := range want {
			if count[k] != n {
				t.Errorf("events of kind %v passed on: got %d; want %d", k, count[k], n)
			}
		}
		if got := sum(t, metrics, "lifecycle_attempts_started_total"); got != 7 {
			t.Errorf("attempts started, summed: got %v; want 7", got)
		}
	})
}

func TestObserve_SeriesStartAtZero(t *testing.T) {
	metrics := lifecycleprom.New()
	metrics.Observe(lifecycle.Event{Kind: lifecycle.AttemptStarted, Service: "api", Attempt: 1})

	// Every outcome of Run, canceled included, and every failure's restart:
	// 6 + 4 series, all 0.
	if got := testutil.CollectAndCount(metrics, "lifecycle_attempts_ended_total"); got != 6 {
		t.Errorf("attempts_ended_total series: got %d; want 6", got)
	}
	if got := testutil.CollectAndCount(metrics, "lifecycle_restarts_total"); got != 4 {
		t.Errorf("restarts_total series: got %d; want 4", got)
	}
	// No stop series until the service's first Stop: it may have no Stopper.
	if got := testutil.CollectAndCount(metrics, "lifecycle_stops_total", "lifecycle_stop_duration_seconds"); got != 0 {
		t.Errorf("stop series before Stop: got %d; want 0", got)
	}
	metrics.Observe(lifecycle.Event{Kind: lifecycle.StopCalled, Service: "api", Duration: time.Second})
	if got := testutil.CollectAndCount(metrics, "lifecycle_stops_total"); got != 5 {
		t.Errorf("stops_total series after StopCalled: got %d; want 5", got)
	}
}

func TestObserve_UnknownKindIgnoredUnknownOutcomeNamed(t *testing.T) {
	metrics := lifecycleprom.New()
	metrics.Observe(lifecycle.Event{Kind: lifecycle.EventKind(99), Service: "api", Duration: time.Second})
	if got := testutil.CollectAndCount(metrics); got != 0 {
		t.Errorf("series after an event of unknown kind: got %d; want 0", got)
	}

	metrics.Observe(lifecycle.Event{Kind: lifecycle.AttemptEnded, Service: "api", Outcome: lifecycle.Outcome(42)})
	metrics.Observe(lifecycle.Event{Kind: lifecycle.BackingOff, Service: "api", Duration: time.Second})
	metrics.Observe(lifecycle.Event{Kind: lifecycle.StopEnded, Service: "api", Outcome: lifecycle.Outcome(42)})
	want := `
# HELP lifecycle_restarts_total Restarts of a service decided after a failed attempt, by the failure's outcome.
# TYPE lifecycle_restarts_total counter
lifecycle_restarts_total{outcome="Outcome(42)",service="api"} 1
lifecycle_restarts_total{outcome="error",service="api"} 0
lifecycle_restarts_total{outcome="goexit",service="api"} 0
lifecycle_restarts_total{outcome="nil",service="api"} 0
lifecycle_restarts_total{outcome="panic",service="api"} 0
`
	if err := testutil.CollectAndCompare(metrics, strings.NewReader(want), "lifecycle_restarts_total"); err != nil {
		t.Error(err)
	}
	// The known outcomes at zero, and the unknown one.
	for name, want := range map[string]int{"lifecycle_attempts_ended_total": 7, "lifecycle_stops_total": 6} {
		if got := testutil.CollectAndCount(metrics, name); got != want {
			t.Errorf("%s series: got %d; want %d", name, got, want)
		}
	}
}

// sum returns the sum of the values of the counter family name that c
// collects.
func sum(t *testing.T, c prometheus.Collector, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var total float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func TestObserve_ConcurrentEventsAllCounted(t *testing.T) {
	// Goroutines that report the same service's first event at once race
	// to make its series; none of their counts may be lost.
	const goroutines, rounds = 8, 500
	metrics := lifecycleprom.New()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				metrics.Observe(lifecycle.Event{Kind: lifecycle.AttemptStarted, Service: "api"})
				metrics.Observe(lifecycle.Event{Kind: lifecycle.AttemptEnded, Service: "api",
					Outcome: lifecycle.OutcomeError, Duration: time.Millisecond})
				metrics.Observe(lifecycle.Event{Kind: lifecycle.BackingOff, Service: "api", Duration: time.Second})
				metrics.Observe(lifecycle.Event{Kind: lifecycle.StopEnded, Service: "api", Duration: time.Second})
			}
		})
	}
	wg.Wait()
	const want = goroutines * rounds
	for _, name := range []string{"lifecycle_attempts_started_total", "lifecycle_attempts_ended_total",
		"lifecycle_restarts_total", "lifecycle_stops_total"} {
		if got := sum(t, metrics, name); got != want {
			t.Errorf("%s, summed: got %v; want %d", name, got, want)
		}
	}
}
