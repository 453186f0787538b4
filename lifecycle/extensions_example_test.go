package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// The examples run on a mock clock (waitClock, in example_test.go), so their
// output is exact. A program uses the real clock: leave out WithClock and
// WorkerClock.

// examplePoller is a service that keeps its health in an embedded Tracker.
type examplePoller struct {
	lifecycle.Tracker
}

func (p *examplePoller) Run(ctx context.Context) error {
	<-ctx.Done() // a real poller would call p.Record(poll(ctx)) on each round
	return ctx.Err()
}

func ExampleTracker() {
	clk := newWaitClock()
	p := &examplePoller{Tracker: lifecycle.Tracker{Clock: clk}}
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	m.Register("poller", p)
	json.NewEncoder(os.Stdout).Encode(m.Health()) // nothing happened yet: no times

	p.Record(errors.New("dial tcp: connection refused"))
	clk.Add(time.Minute)
	p.Record(errors.New("i/o timeout"))
	json.NewEncoder(os.Stdout).Encode(m.Health())

	clk.Add(time.Minute)
	p.Record(nil)
	json.NewEncoder(os.Stdout).Encode(m.Health())
	// Output:
	// [{"name":"poller","consecutive_failures":0}]
	// [{"name":"poller","last_failure":"2031-06-01T12:01:00Z","last_error":"i/o timeout","consecutive_failures":2}]
	// [{"name":"poller","last_success":"2031-06-01T12:02:00Z","last_failure":"2031-06-01T12:01:00Z","last_error":"i/o timeout","consecutive_failures":0}]
}

func ExampleNewWorker() {
	clk := newWaitClock()
	n := 0
	w := lifecycle.NewWorker(time.Minute, func(ctx context.Context) error {
		n++
		fmt.Println("tick", n, "at", clk.Now().Format(time.TimeOnly))
		if n == 2 {
			return errors.New("upstream: 503")
		}
		return nil
	}, lifecycle.WorkerClock(clk))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	clk.next()  // to 12:01
	clk.next()  // to 12:02
	<-clk.waits // the worker waits for 12:03
	cancel()
	fmt.Println("Run:", <-done)
	json.NewEncoder(os.Stdout).Encode(w.Health()) // registered with a Manager, name is filled in
	// Output:
	// tick 1 at 12:00:00
	// tick 2 at 12:01:00
	// tick 3 at 12:02:00
	// Run: context canceled
	// {"name":"","last_success":"2031-06-01T12:02:00Z","last_failure":"2031-06-01T12:01:00Z","last_error":"upstream: 503","consecutive_failures":0}
}

func ExampleHealthHandler() {
	clk := newWaitClock()
	p := &examplePoller{Tracker: lifecycle.Tracker{Clock: clk}}
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	m.Register("poller", p)
	p.Failure(errors.New("dial tcp: connection refused"))

	srv := httptest.NewServer(lifecycle.HealthHandler(m))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/api/workers")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Print(string(body))

	resp, err = http.Post(srv.URL+"/api/workers", "text/plain", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "Allow:", resp.Header.Get("Allow"))
	// Output:
	// 200 OK application/json
	// [{"name":"poller","last_failure":"2031-06-01T12:00:00Z","last_error":"dial tcp: connection refused","consecutive_failures":1}]
	// 405 Method Not Allowed Allow: GET, HEAD
}

// exampleFetcher fails its first attempt and runs until cancelled on the
// second; its Stop returns at once.
type exampleFetcher struct {
	attempts int
	running  chan struct{} // closed when the second attempt runs
}

func (f *exampleFetcher) Run(ctx context.Context) error {
	if f.attempts++; f.attempts == 1 {
		return errors.New("timeout")
	}
	close(f.running)
	<-ctx.Done()
	return ctx.Err()
}

func (f *exampleFetcher) Stop(ctx context.Context) error { return nil }

func ExampleWithEvents() {
	clk := newWaitClock()
	stopped := make(chan struct{}) // closed by the last event
	m := lifecycle.NewManager(
		lifecycle.WithClock(clk),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)),
		lifecycle.WithEvents(func(e lifecycle.Event) {
			// A real program would count these in its metrics.
			fmt.Printf("%-4v %-14v %s", e.Time.Sub(exampleStart), e.Kind, e.Service)
			switch e.Kind {
			case lifecycle.AttemptStarted:
				fmt.Printf(" attempt=%d", e.Attempt)
			case lifecycle.AttemptEnded:
				fmt.Printf(" outcome=%v err=%q ran=%v canceled=%v", e.Outcome, e.Err, e.Duration, e.Canceled)
			case lifecycle.BackingOff:
				fmt.Printf(" delay=%v", e.Duration)
			case lifecycle.StopCalled:
				fmt.Printf(" budget=%v", e.Duration)
			case lifecycle.StopEnded:
				fmt.Printf(" outcome=%v took=%v", e.Outcome, e.Duration)
			}
			fmt.Println()
			if e.Kind == lifecycle.StopEnded {
				close(stopped)
			}
		}),
	)
	f := &exampleFetcher{running: make(chan struct{})}
	m.Register("fetcher", f)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	clk.next() // the restart delay
	<-f.running
	cancel()
	<-done
	m.Stop(10 * time.Second)
	<-stopped // shutdown's events may arrive after Stop returns
	// Output:
	// 0s   AttemptStarted fetcher attempt=1
	// 0s   AttemptEnded   fetcher outcome=error err="timeout" ran=0s canceled=false
	// 0s   BackingOff     fetcher delay=1s
	// 1s   AttemptStarted fetcher attempt=2
	// 1s   AttemptEnded   fetcher outcome=error err="context canceled" ran=0s canceled=true
	// 1s   StopCalled     fetcher budget=10s
	// 1s   StopEnded      fetcher outcome=nil took=0s
}

func ExampleErrFinished() {
	clk := newWaitClock()
	finished := make(chan struct{})
	quiet := lifecycle.WithLogger(slog.New(slog.DiscardHandler))
	m := lifecycle.NewManager(lifecycle.WithClock(clk), quiet, lifecycle.WithEvents(func(e lifecycle.Event) {
		if e.Service == "migrate" {
			switch e.Kind {
			case lifecycle.AttemptStarted:
				fmt.Println(e.Time.Sub(exampleStart), e.Kind)
			case lifecycle.AttemptEnded:
				fmt.Println(e.Time.Sub(exampleStart), e.Kind, e.Outcome, e.Err)
				close(finished)
			}
		}
	}))
	migrations := 0
	m.Register("migrate", lifecycle.NewWorker(time.Minute, func(ctx context.Context) error {
		migrations++
		return fmt.Errorf("schema at v7: %w", lifecycle.ErrFinished) // done for good
	}, lifecycle.WorkerClock(clk)))
	m.Register("server", runnerFunc(func(ctx context.Context) error {
		<-ctx.Done() // serves until shutdown
		return nil
	}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	<-finished
	clk.Add(time.Hour) // no restart, no tick: migrate is done
	cancel()
	<-done // Run returns only now, with ctx done and server returned
	fmt.Println("migrations:", migrations, "Run returned at", clk.Since(exampleStart))
	// Output:
	// 0s AttemptStarted
	// 0s AttemptEnded finished schema at v7: lifecycle: service finished
	// migrations: 1 Run returned at 1h0m0s
}

func ExampleWithJitter() {
	clk := newWaitClock()
	// A fixed draw keeps the example exact; pass nil (or a seeded source)
	// in a program. Each delay d becomes d - d*0.5*0.5.
	half := func() float64 { return 0.5 }
	m := lifecycle.NewManager(lifecycle.WithClock(clk),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)),
		lifecycle.WithJitter(0.5, half))
	attempt := 0
	m.Register("flaky", runnerFunc(func(ctx context.Context) error {
		attempt++
		fmt.Println("attempt", attempt, "at", clk.Since(exampleStart))
		return errors.New("connection reset")
	}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	clk.next()  // 1s jittered to 750ms
	clk.next()  // 2s to 1.5s
	clk.next()  // 4s to 3s
	<-clk.waits // 8s to 6s: cancelled while waiting
	cancel()
	<-done
	// Output:
	// attempt 1 at 0s
	// attempt 2 at 750ms
	// attempt 3 at 2.25s
	// attempt 4 at 5.25s
}

// refreshCache stands for a program's periodic job.
func refreshCache(ctx context.Context) error { return nil }

// Example_program wires a periodic worker and the health endpoint into a
// program, as in docs/extensions.md. It is compiled, not run: it serves
// on a port until interrupted.
func Example_program() {
	// Run until SIGINT or SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// A worker that refreshes the cache every 30s, the first time within
	// 5s of start; a tick that fails shows in the health endpoint.
	m := lifecycle.NewManager()
	m.Register("cache-refresh", lifecycle.NewWorker(30*time.Second, refreshCache,
		lifecycle.WorkerStartSpread(5*time.Second, nil)))

	// The health endpoint: curl localhost:8080/api/workers
	mux := http.NewServeMux()
	mux.Handle("/api/workers", lifecycle.HealthHandler(m))
	srv := &http.Server{Addr: "localhost:8080", Handler: mux}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("health endpoint", "err", err)
			stop()
		}
	}()

	m.Run(ctx) // returns once ctx is done and every service has returned

	// Shut down: the endpoint first, then the services' Stop methods.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	if err := m.Shutdown(10 * time.Second).Err(); err != nil {
		slog.Error("shutdown", "err", err)
	}
}
