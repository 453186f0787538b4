package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// probe prints the answer to GET target, as a kubelet or curl would get it.
func probe(h http.Handler, target string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	fmt.Printf("GET %s: %d\n%s", target, rec.Code, rec.Body)
}

func ExampleReadinessHandler() {
	clk := newWaitClock()
	m := lifecycle.NewManager(lifecycle.WithClock(clk),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)))

	cacheUp, dbUp := make(chan struct{}), make(chan struct{})
	m.Register("cache", runnerFunc(func(ctx context.Context) error {
		close(cacheUp)
		<-ctx.Done()
		return nil
	}))
	attempts := 0
	m.Register("db", runnerFunc(func(ctx context.Context) error {
		if attempts++; attempts == 1 {
			return errors.New("connection refused") // restarted after 1s
		}
		close(dbUp)
		<-ctx.Done()
		return nil
	}))

	// In a program: on the mux the HTTP server serves, with the kubelet's
	// readinessProbe at path /readyz.
	mux := http.NewServeMux()
	mux.Handle("/readyz", lifecycle.ReadinessHandler(m))
	mux.Handle("/readyz/{service...}", lifecycle.ReadinessHandler(m))
	mux.Handle("/livez", lifecycle.LivenessHandler(m))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	<-cacheUp
	delay := <-clk.waits // db failed; it waits out its restart delay
	probe(mux, "/readyz")
	probe(mux, "/readyz/cache")
	probe(mux, "/livez")

	clk.Add(delay) // db restarts
	<-dbUp
	probe(mux, "/readyz")

	m.Stop(10 * time.Second) // shutdown: not ready from its first instant, cache running or not
	probe(mux, "/readyz?verbose&exclude=db")
	cancel()
	<-done
	// Output:
	// GET /readyz: 503
	// [+]shutdown ok
	// [+]cache ok
	// [-]db not ready: backing off until 2031-06-01T12:00:01Z
	// readyz check failed
	// GET /readyz/cache: 200
	// ok
	// GET /livez: 200
	// ok
	// GET /readyz: 200
	// ok
	// GET /readyz?verbose&exclude=db: 503
	// [-]shutdown failed: shutdown has begun
	// [+]cache ok
	// [+]db excluded: ok
	// readyz check failed
}

func ExampleLivenessHandler() {
	gaveUp := make(chan struct{})
	m := lifecycle.NewManager(lifecycle.WithClock(newWaitClock()),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)),
		lifecycle.WithEvents(func(e lifecycle.Event) {
			if e.Kind == lifecycle.GaveUp {
				close(gaveUp)
			}
		}))
	m.Register("db", runnerFunc(func(ctx context.Context) error {
		return errors.New("disk full")
	}), lifecycle.RestartLimit(1, time.Minute)) // gives up at its first failure: not Essential, nothing escalates
	m.Register("cache", runnerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	<-gaveUp
	probe(lifecycle.LivenessHandler(m), "/livez?exclude=cache")
	cancel()
	<-done
	// Output:
	// GET /livez?exclude=cache: 503
	// [-]db failed: gave up at 2031-06-01T12:00:00Z
	// [+]cache excluded: ok
	// livez check failed
}
