package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// These examples run on github.com/benbjohnson/clock's mock clock, so their
// output is exact and they take no real time to wait. A program uses the
// real clock: it leaves out WithClock and WorkerClock.

// exampleStart is virtual 0 in the examples.
var exampleStart = time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)

// waitClock is a mock clock that reports every wait made on it through
// After (the Manager's restart delays, a Worker's ticks), so that a test
// moves time only once the waiter is parked. Moving time before that would
// leave the timer to be armed after the move, and it would never fire.
type waitClock struct {
	*clock.Mock
	waits chan time.Duration
}

func newWaitClock() *waitClock {
	c := &waitClock{clock.NewMock(), make(chan time.Duration, 100)}
	c.Set(exampleStart)
	return c
}

func (c *waitClock) After(d time.Duration) <-chan time.Time {
	ch := c.Mock.After(d)
	c.waits <- d
	return ch
}

// next waits for the next wait on the clock and moves time to its end.
func (c *waitClock) next() { c.Add(<-c.waits) }

// runnerFunc adapts a function to [lifecycle.Runner].
type runnerFunc func(ctx context.Context) error

func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

// stopperFunc is a service that runs until cancelled and whose Stop method
// is the function.
type stopperFunc func(ctx context.Context) error

func (stopperFunc) Run(ctx context.Context) error    { <-ctx.Done(); return nil }
func (f stopperFunc) Stop(ctx context.Context) error { return f(ctx) }

func ExampleManager() {
	clk := newWaitClock()
	m := lifecycle.NewManager(lifecycle.WithClock(clk),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)))

	attempts := 0
	serving := make(chan struct{})
	m.Register("ingest", runnerFunc(func(ctx context.Context) error {
		attempts++
		fmt.Println("ingest: attempt", attempts, "at", clk.Since(exampleStart))
		if attempts == 1 {
			return errors.New("connection refused") // restarted after 1s
		}
		close(serving)
		<-ctx.Done() // serve until shutdown
		return nil
	}))

	// In a program: ctx from signal.NotifyContext, and m.Run(ctx) in main.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	clk.next() // the restart delay
	<-serving
	cancel()
	<-done // every Runner has returned
	m.Stop(10 * time.Second)
	fmt.Println("stopped")
	// Output:
	// ingest: attempt 1 at 0s
	// ingest: attempt 2 at 1s
	// stopped
}

// exampleStopper is a service that runs until cancelled and says when it is
// stopped, and with what budget.
type exampleStopper struct {
	name string
	clk  lifecycle.Clock
}

func (s exampleStopper) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (s exampleStopper) Stop(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	fmt.Printf("stopping %s, budget %v\n", s.name, deadline.Sub(s.clk.Now()))
	return nil
}

func ExampleManager_Register() {
	clk := newWaitClock()
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	m.Register("db", exampleStopper{"db", clk})
	m.Register("cache", exampleStopper{"cache", clk})
	m.Register("metrics", runnerFunc(func(ctx context.Context) error {
		<-ctx.Done() // no Stop method: Stop skips it
		return nil
	}))
	m.Register("api", exampleStopper{"api", clk})
	fmt.Println(m.Names())

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a program cancels on a signal; here Run returns at once
	m.Run(ctx)

	// Last registered, first stopped: the API stops taking requests before
	// the stores it uses go away. The 9s budget is shared by 3 Stoppers.
	m.Stop(9 * time.Second)
	// Output:
	// [db cache metrics api]
	// stopping api, budget 3s
	// stopping cache, budget 3s
	// stopping db, budget 3s
}

func ExampleManager_Health() {
	clk := newWaitClock()
	db := &examplePoller{Tracker: lifecycle.Tracker{Clock: clk}}
	cache := &examplePoller{Tracker: lifecycle.Tracker{Clock: clk}}
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	m.Register("db", db)
	m.Register("cron", runnerFunc(func(ctx context.Context) error {
		<-ctx.Done() // no Health method: not listed
		return nil
	}))
	m.Register("cache", cache)

	db.Failure(errors.New("connection refused"))
	clk.Add(time.Minute)
	db.Failure(errors.New("connection refused"))
	cache.Success()

	for _, h := range m.Health() {
		fmt.Printf("%s: %d consecutive failures\n", h.Name, h.ConsecutiveFailures)
	}
	// Times that are still zero are left out.
	json.NewEncoder(os.Stdout).Encode(m.Health())
	// Output:
	// db: 2 consecutive failures
	// cache: 0 consecutive failures
	// [{"name":"db","last_failure":"2031-06-01T12:01:00Z","last_error":"connection refused","consecutive_failures":2},{"name":"cache","last_success":"2031-06-01T12:01:00Z","consecutive_failures":0}]
}

func ExampleManager_SetBackoff() {
	clk := newWaitClock()
	m := lifecycle.NewManager(lifecycle.WithClock(clk),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
	// Wait 100ms before the first restart, doubling up to 1s; a run of a
	// minute or more starts again from 100ms.
	m.SetBackoff(100*time.Millisecond, time.Second, time.Minute)
	m.Register("flaky", runnerFunc(func(ctx context.Context) error {
		fmt.Println("started at", clk.Since(exampleStart))
		return errors.New("fails at once")
	}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	for range 6 {
		clk.next() // move time to the end of the restart delay
	}
	<-clk.waits // the seventh delay: cancel instead
	cancel()
	<-done
	// Output:
	// started at 0s
	// started at 100ms
	// started at 300ms
	// started at 700ms
	// started at 1.5s
	// started at 2.5s
	// started at 3.5s
}

func ExampleWithClock() {
	// With a fake clock the default backoff (1s doubling to 30s) plays out
	// in no real time.
	clk := newWaitClock()
	m := lifecycle.NewManager(lifecycle.WithClock(clk),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
	var starts []time.Duration
	m.Register("flaky", runnerFunc(func(ctx context.Context) error {
		starts = append(starts, clk.Since(exampleStart))
		return errors.New("fails at once")
	}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	for range 7 {
		clk.next()
	}
	<-clk.waits
	cancel()
	<-done
	fmt.Println(starts)
	// Output:
	// [0s 1s 3s 7s 15s 31s 1m1s 1m31s]
}

func ExampleManager_Shutdown() {
	clk := newWaitClock()
	m := lifecycle.NewManager(lifecycle.WithClock(clk),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
	m.Register("db", stopperFunc(func(ctx context.Context) error {
		return errors.New("flush: disk full")
	}))
	called := make(chan struct{})
	m.Register("queue", stopperFunc(func(ctx context.Context) error {
		close(called)
		<-ctx.Done() // drains until its deadline
		return nil
	}))

	done := make(chan lifecycle.StopReport)
	go func() { done <- m.Shutdown(6 * time.Second) }()
	<-called
	clk.Add(3 * time.Second) // queue's share of the budget runs out
	rep := <-done

	for _, r := range rep.Stoppers {
		fmt.Printf("%s: abandoned=%v took %v\n", r.Service, r.Abandoned, r.Elapsed)
	}
	fmt.Println(rep.Err())
	// Output:
	// queue: abandoned=true took 3s
	// db: abandoned=false took 0s
	// lifecycle: Stop of service "queue" abandoned at its deadline (budget 3s): context deadline exceeded
	// lifecycle: Stop of service "db": flush: disk full
}
