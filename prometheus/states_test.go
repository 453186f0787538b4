package lifecycleprom_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	lifecycleprom "github.com/lifecyclesim/lifecycle/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// stateStory registers five services that, on the virtual time of the
// synctest bubble it must be called in, are from 0s to 2s in five states:
//
//	db       serves until its context is done: running, ready
//	api      NotifyReady, warms up 2s then calls Ready: starting, then running
//	flaky    fails at once, every time: backing off
//	migrate  finishes for good at once: finished
//	cache    fails once, with RestartLimit(1, ...): gave up
//
// It returns the Manager and a function that ends Run and waits for it.
func stateStory(t *testing.T, opts ...lifecycle.Option) (*lifecycle.Manager, func()) {
	t.Helper()
	m := lifecycle.NewManager(append([]lifecycle.Option{quiet}, opts...)...)
	m.Register("db", service{})
	m.Register("api", runnerFunc(func(ctx context.Context) error {
		time.Sleep(2 * time.Second)
		lifecycle.Ready(ctx)
		<-ctx.Done()
		return nil
	}), lifecycle.NotifyReady())
	m.Register("flaky", runnerFunc(func(ctx context.Context) error { return errors.New("connection refused") }))
	m.Register("migrate", runnerFunc(func(ctx context.Context) error { return lifecycle.ErrFinished }))
	m.Register("cache", runnerFunc(func(ctx context.Context) error { return errors.New("bad config") }),
		lifecycle.RestartLimit(1, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(ran)
	}()
	return m, func() {
		cancel()
		<-ran
	}
}

var quiet = lifecycle.WithLogger(slog.New(slog.DiscardHandler))

// current gathers c from a pedantic registry (which checks Collect against
// Describe) and returns, in the Manager's order, each service's state (the
// series at 1; "?" for none, every one if several) and readiness.
func current(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	on := map[string][]string{}
	ready := map[string]float64{}
	var order []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			svc, v := labels["service"], m.GetGauge().GetValue()
			if !slices.Contains(order, svc) {
				order = append(order, svc)
			}
			switch mf.GetName() {
			case "lifecycle_service_state":
				if v == 1 {
					on[svc] = append(on[svc], labels["state"])
				} else if v != 0 {
					t.Errorf("%s{state=%q} = %v; want 0 or 1", svc, labels["state"], v)
				}
			case "lifecycle_service_ready":
				ready[svc] = v
			}
		}
	}
	slices.Sort(order)
	var b strings.Builder
	for _, svc := range order {
		st := strings.Join(on[svc], "+")
		if st == "" {
			st = "?"
		}
		fmt.Fprintf(&b, "%s=%s/%v ", svc, st, ready[svc])
	}
	return strings.TrimSpace(b.String())
}

func TestStateCollector_OneSeriesPerStateAndReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, end := stateStory(t)
		states := lifecycleprom.NewStateCollector(m)

		time.Sleep(time.Second)
		synctest.Wait()
		want := `
# HELP lifecycle_service_ready Whether each service is ready: 1 while it runs and is ready (see lifecycle.NotifyReady), 0 otherwise.
# TYPE lifecycle_service_ready gauge
lifecycle_service_ready{service="api"} 0
lifecycle_service_ready{service="cache"} 0
lifecycle_service_ready{service="db"} 1
lifecycle_service_ready{service="flaky"} 0
lifecycle_service_ready{service="migrate"} 0
# HELP lifecycle_service_state The state of each service: 1 for the state it is in, 0 for the others (registered, starting, running, backing_off, gave_up, finished, stopping, stopped, abandoned).
# TYPE lifecycle_service_state gauge
lifecycle_service_state{service="api",state="abandoned"} 0
lifecycle_service_state{service="api",state="backing_off"} 0
lifecycle_service_state{service="api",state="finished"} 0
lifecycle_service_state{service="api",state="gave_up"} 0
lifecycle_service_state{service="api",state="registered"} 0
lifecycle_service_state{service="api",state="running"} 0
lifecycle_service_state{service="api",state="starting"} 1
lifecycle_service_state{service="api",state="stopped"} 0
lifecycle_service_state{service="api",state="stopping"} 0
lifecycle_service_state{service="cache",state="abandoned"} 0
lifecycle_service_state{service="cache",state="backing_off"} 0
lifecycle_service_state{service="cache",state="finished"} 0
lifecycle_service_state{service="cache",state="gave_up"} 1
lifecycle_service_state{service="cache",state="registered"} 0
lifecycle_service_state{service="cache",state="running"} 0
lifecycle_service_state{service="cache",state="starting"} 0
lifecycle_service_state{service="cache",state="stopped"} 0
lifecycle_service_state{service="cache",state="stopping"} 0
lifecycle_service_state{service="db",state="abandoned"} 0
lifecycle_service_state{service="db",state="backing_off"} 0
lifecycle_service_state{service="db",state="finished"} 0
lifecycle_service_state{service="db",state="gave_up"} 0
lifecycle_service_state{service="db",state="registered"} 0
lifecycle_service_state{service="db",state="running"} 1
lifecycle_service_state{service="db",state="starting"} 0
lifecycle_service_state{service="db",state="stopped"} 0
lifecycle_service_state{service="db",state="stopping"} 0
lifecycle_service_state{service="flaky",state="abandoned"} 0
lifecycle_service_state{service="flaky",state="backing_off"} 1
lifecycle_service_state{service="flaky",state="finished"} 0
lifecycle_service_state{service="flaky",state="gave_up"} 0
lifecycle_service_state{service="flaky",state="registered"} 0
lifecycle_service_state{service="flaky",state="running"} 0
lifecycle_service_state{service="flaky",state="starting"} 0
lifecycle_service_state{service="flaky",state="stopped"} 0
lifecycle_service_state{service="flaky",state="stopping"} 0
lifecycle_service_state{service="migrate",state="abandoned"} 0
lifecycle_service_state{service="migrate",state="backing_off"} 0
lifecycle_service_state{service="migrate",state="finished"} 1
lifecycle_service_state{service="migrate",state="gave_up"} 0
lifecycle_service_state{service="migrate",state="registered"} 0
lifecycle_service_state{service="migrate",state="running"} 0
lifecycle_service_state{service="migrate",state="starting"} 0
lifecycle_service_state{service="migrate",state="stopped"} 0
lifecycle_service_state{service="migrate",state="stopping"} 0
`
		if err := testutil.CollectAndCompare(states, strings.NewReader(want)); err != nil {
			t.Errorf("at 1s: %v", err)
		}

		time.Sleep(time.Second)
		synctest.Wait()
		if got, want := current(t, states),
			"api=running/1 cache=gave_up/0 db=running/1 flaky=backing_off/0 migrate=finished/0"; got != want {
			t.Errorf("at 2s: %s\nwant %s", got, want)
		}

		end()
		if got, want := current(t, states),
			"api=stopped/0 cache=gave_up/0 db=stopped/0 flaky=stopped/0 migrate=finished/0"; got != want {
			t.Errorf("after Run: %s\nwant %s", got, want)
		}
	})
}

func TestStateCollector_RegisteredBeforeRun(t *testing.T) {
	m := lifecycle.NewManager(quiet)
	m.Register("db", service{})
	m.Register("api", service{})
	states := lifecycleprom.NewStateCollector(m)
	if got, want := current(t, states), "api=registered/0 db=registered/0"; got != want {
		t.Errorf("before Run: %s; want %s", got, want)
	}
	if got, want := testutil.CollectAndCount(states), 2*(9+1); got != want {
		t.Errorf("%d series for 2 services; want %d: 9 states and readiness each", got, want)
	}
	if got := testutil.CollectAndCount(lifecycleprom.NewStateCollector(lifecycle.NewManager())); got != 0 {
		t.Errorf("%d series with no service; want 0", got)
	}
}

func TestStateCollector_PassesLintAndPedanticRegistryBesideMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		metrics := lifecycleprom.New()
		m, end := stateStory(t, lifecycle.WithEvents(metrics.Events(nil)))
		defer end()
		states := lifecycleprom.NewStateCollector(m)
		synctest.Wait()

		reg := prometheus.NewPedanticRegistry() // checks Collect against Describe
		reg.MustRegister(metrics, states)
		if _, err := reg.Gather(); err != nil {
			t.Errorf("Gather: %v", err)
		}
		problems, err := testutil.CollectAndLint(states)
		if err != nil {
			t.Fatalf("CollectAndLint: %v", err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}

func TestStateCollector_Namespace(t *testing.T) {
	m := lifecycle.NewManager(quiet)
	m.Register("db", service{})
	states := lifecycleprom.NewStateCollector(m, lifecycleprom.WithNamespace("jobs"),
		lifecycleprom.WithStopBuckets(1, 2)) // ignored
	want := `
# HELP jobs_service_ready Whether each service is ready: 1 while it runs and is ready (see lifecycle.NotifyReady), 0 otherwise.
# TYPE jobs_service_ready gauge
jobs_service_ready{service="db"} 0
`
	if err := testutil.CollectAndCompare(states, strings.NewReader(want), "jobs_service_ready"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(states, "jobs_service_state"); got != 9 {
		t.Errorf("%d jobs_service_state series; want 9", got)
	}
}

func TestNewStateCollector_NilPanics(t *testing.T) {
	defer func() {
		if got, want := fmt.Sprint(recover()), "lifecycleprom: NewStateCollector(nil)"; got != want {
			t.Errorf("NewStateCollector(nil) panicked with %q; want %q", got, want)
		}
	}()
	lifecycleprom.NewStateCollector(nil)
}

// TestStateCollector_ScrapeAllocatesOnlyTheSnapshot: after a service's
// first scrape its series are made, and a scrape allocates the States
// snapshot and nothing else.
func TestStateCollector_ScrapeAllocatesOnlyTheSnapshot(t *testing.T) {
	m := lifecycle.NewManager(quiet)
	for i := range 100 {
		m.Register(fmt.Sprint("service-", i), service{})
	}
	states := lifecycleprom.NewStateCollector(m)
	ch := make(chan prometheus.Metric, 100*10)
	scrape := func() {
		states.Collect(ch)
		for range len(ch) {
			<-ch
		}
	}
	scrape()
	if got := testing.AllocsPerRun(10, scrape); got > 1 {
		t.Errorf("a scrape of 100 services allocates %v times; want 1, the snapshot", got)
	}
}
