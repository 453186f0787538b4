package lifecycletest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
	"github.com/lifecyclesim/lifecycle/lifecycletest"
)

// ExampleClock restarts a failing service on github.com/benbjohnson/clock's
// Mock. Before each move the test waits until the Manager waits on the
// clock, with BlockUntil: no polling, no sleeps.
func ExampleClock() {
	mock := clock.NewMock()
	clk := lifecycletest.NewClock(mock) // the Manager's clock; time moves on mock
	start := mock.Now()
	m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithLogger(slog.New(slog.DiscardHandler)))

	attempts := 0
	serving := make(chan struct{})
	m.Register("ingest", runnerFunc(func(ctx context.Context) error {
		attempts++
		fmt.Println("attempt", attempts, "at", mock.Since(start))
		if attempts < 3 {
			return errors.New("connection refused") // restarted after 1s, then 2s
		}
		close(serving)
		<-ctx.Done()
		return nil
	}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()

	clk.BlockUntil(1) // the Manager waits 1s to restart ingest
	mock.Add(time.Second)
	clk.BlockUntil(1) // then 2s
	mock.Add(2 * time.Second)
	<-serving
	cancel()
	<-done

	s := m.States()[0]
	fmt.Println(s.Name, s.State, "restarts:", s.Restarts, "waits left:", clk.Waiters())
	// Output:
	// attempt 1 at 0s
	// attempt 2 at 1s
	// attempt 3 at 3s
	// ingest stopped restarts: 2 waits left: 0
}

// ExampleListener serves HTTP without a socket. Inside a testing/synctest
// bubble the same code runs on virtual time.
func ExampleListener() {
	ln := lifecycletest.NewListener()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello", r.URL.Path)
	})}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	resp, err := ln.Client().Get("http://api.example/world") // any host: every request goes to ln
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, ": ", string(body))
	// Output:
	// 200 OK: hello /world
}
