package lifecycleprom_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	lifecycleprom "github.com/lifecyclesim/lifecycle/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// api serves until its context is done, and has a shutdown step.
type api struct{}

func (api) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (api) Stop(ctx context.Context) error { return nil }

func Example() {
	// Make the metrics and register them; a program registers with
	// prometheus.DefaultRegisterer or its own registry.
	reg := prometheus.NewRegistry()
	metrics := lifecycleprom.New()
	reg.MustRegister(metrics)

	// Give the Manager the events function, here chained to one of our own
	// that says when the migration is done and the api has started.
	var settled sync.WaitGroup
	settled.Add(2)
	m := lifecycle.NewManager(lifecycle.WithEvents(metrics.Events(func(ev lifecycle.Event) {
		switch {
		case ev.Kind == lifecycle.AttemptEnded && ev.Service == "migrate",
			ev.Kind == lifecycle.AttemptStarted && ev.Service == "api":
			settled.Done()
		}
	})))
	m.Register("migrate", runnerFunc(func(ctx context.Context) error {
		return lifecycle.ErrFinished // done for good
	}))
	m.Register("api", api{})

	// The state of every service, read from m.States() at each scrape.
	reg.MustRegister(lifecycleprom.NewStateCollector(m))

	// Run, then shut down.
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(ran)
	}()
	settled.Wait()
	cancel()
	<-ran
	m.Shutdown(time.Second)

	// Scrape, as Prometheus would from /metrics, and print the counters
	// that are not zero (the durations vary from run to run), each
	// service's state and its readiness.
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	lines := bufio.NewScanner(rec.Body)
	for lines.Scan() {
		line := lines.Text()
		counter := strings.Contains(line, "_total{") && !strings.HasSuffix(line, " 0")
		state := strings.HasPrefix(line, "lifecycle_service_state{") && strings.HasSuffix(line, " 1")
		if counter || state || strings.HasPrefix(line, "lifecycle_service_ready{") {
			fmt.Println(line)
		}
	}
	// Output:
	// lifecycle_attempts_ended_total{outcome="canceled",service="api"} 1
	// lifecycle_attempts_ended_total{outcome="finished",service="migrate"} 1
	// lifecycle_attempts_started_total{service="api"} 1
	// lifecycle_attempts_started_total{service="migrate"} 1
	// lifecycle_service_ready{service="api"} 0
	// lifecycle_service_ready{service="migrate"} 0
	// lifecycle_service_state{service="api",state="stopped"} 1
	// lifecycle_service_state{service="migrate",state="finished"} 1
	// lifecycle_stops_total{outcome="nil",service="api"} 1
}
