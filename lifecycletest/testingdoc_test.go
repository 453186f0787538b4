package lifecycletest_test

// The code of docs/testing.md, verbatim: TestTestingDoc_SnippetsAreHere
// fails if a Go block of the document is not in this file.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
	"github.com/lifecyclesim/lifecycle/lifecycletest"
)

// runnerFunc adapts a function to lifecycle.Runner.
type runnerFunc func(ctx context.Context) error

func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

// summary is each service's name and state, in registration order.
func summary(m *lifecycle.Manager) string {
	var b strings.Builder
	for _, s := range m.States() {
		fmt.Fprintf(&b, "%s=%v ", s.Name, s.State)
	}
	return strings.TrimSpace(b.String())
}

func TestIngest_RestartedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Everything the test uses is created inside the bubble.
		m := lifecycle.NewManager(lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
		fails := 2
		m.Register("ingest", runnerFunc(func(ctx context.Context) error {
			if fails > 0 {
				fails--
				return errors.New("connection refused")
			}
			<-ctx.Done() // serve until shutdown
			return nil
		}))

		start := time.Now() // virtual time: 2000-01-01 00:00:00 UTC
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()

		synctest.Wait() // attempt 1 failed; the Manager waits 1s
		s := m.States()[0]
		if s.State != lifecycle.StateBackingOff || !s.BackoffUntil.Equal(start.Add(time.Second)) {
			t.Errorf("at 0s: %v until %v; want backing off until 1s", s.State, s.BackoffUntil.Sub(start))
		}

		time.Sleep(3 * time.Second) // attempt 2 at 1s fails; attempt 3 at 1s+2s
		synctest.Wait()
		s = m.States()[0]
		if s.State != lifecycle.StateRunning || s.Restarts != 2 || !s.Since.Equal(start.Add(3*time.Second)) {
			t.Errorf("at 3s: %v since %v, %d restarts; want running since 3s, 2 restarts",
				s.State, s.Since.Sub(start), s.Restarts)
		}
		if s.LastError != "connection refused" || s.ConsecutiveFailures != 2 {
			t.Errorf("at 3s: last error %q, %d failures; want connection refused, 2",
				s.LastError, s.ConsecutiveFailures)
		}

		cancel()
		<-done // every goroutine of the bubble must end before the test does
	})
}

// draining is a service that, once its context is done, takes d to finish
// what it was doing.
type draining struct{ d time.Duration }

func (s draining) Run(ctx context.Context) error {
	<-ctx.Done()
	time.Sleep(s.d) // virtual
	return nil
}

func TestServe_StopsAPIBeforeDB(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
		m.Register("db", draining{time.Second})  // registered first: stopped last
		m.Register("api", draining{time.Second}) // registered last: stopped first

		ctx, sigterm := context.WithCancel(t.Context()) // main: signal.NotifyContext
		served := make(chan error)
		go func() { served <- m.Serve(ctx, 10*time.Second) }()
		synctest.Wait()

		want := func(when, states string) {
			t.Helper()
			synctest.Wait() // let everything due at this instant happen
			if got := summary(m); got != states {
				t.Errorf("%s: %s; want %s", when, got, states)
			}
		}
		want("before SIGTERM", "db=running api=running")
		sigterm()
		want("at SIGTERM", "db=running api=stopping")
		time.Sleep(time.Second)
		want("1s later", "db=stopping api=stopped")
		time.Sleep(time.Second)
		want("2s later", "db=stopped api=stopped")
		if err := <-served; err != nil {
			t.Errorf("Serve = %v; want nil", err)
		}
	})
}

// api serves HTTP on its listener: it is ready once its cache is warm.
type api struct {
	srv *http.Server
	ln  *lifecycletest.Listener // in main: net.Listen("tcp", ":8080")
}

func (a *api) Run(ctx context.Context) error {
	time.Sleep(2 * time.Second) // warm the cache
	lifecycle.Ready(ctx)
	return a.srv.Serve(a.ln)
}

func (a *api) Stop(ctx context.Context) error { return a.srv.Shutdown(ctx) }

func TestAPI_ReadyOnceWarmThenServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := lifecycletest.NewListener()
		hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		})
		m := lifecycle.NewManager(lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
		m.Register("api", &api{srv: &http.Server{Handler: hello}, ln: ln}, lifecycle.NotifyReady())

		ctx, sigterm := context.WithCancel(t.Context())
		served := make(chan error)
		go func() { served <- m.Serve(ctx, 10*time.Second) }()

		time.Sleep(time.Second)
		synctest.Wait()
		if s := m.States()[0]; s.State != lifecycle.StateStarting || s.Ready {
			t.Errorf("at 1s: %v, ready %v; want starting, not ready", s.State, s.Ready)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := m.States()[0]; s.State != lifecycle.StateRunning || !s.Ready {
			t.Errorf("at 2s: %v, ready %v; want running, ready", s.State, s.Ready)
		}

		resp, err := ln.Client().Get("http://api.example/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "hello" {
			t.Errorf("GET / = %s %q; want 200 hello", resp.Status, body)
		}

		sigterm()
		if err := <-served; err != nil {
			t.Errorf("Serve = %v; want nil", err)
		}
	})
}

func TestIngest_RestartedOnTheMock(t *testing.T) {
	mock := clock.NewMock()
	clk := lifecycletest.NewClock(mock) // the Manager's clock; move time on mock
	start := mock.Now()
	m := lifecycle.NewManager(lifecycle.WithClock(clk), lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
	attempts := make(chan time.Duration, 10)
	m.Register("ingest", runnerFunc(func(ctx context.Context) error {
		attempts <- mock.Since(start)
		return errors.New("connection refused")
	}))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()

	for _, delay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		clk.BlockUntil(1) // the Manager is waiting on the clock: no polling
		mock.Add(delay)
	}
	clk.BlockUntil(1)
	cancel()
	<-done

	close(attempts)
	var got []time.Duration
	for d := range attempts {
		got = append(got, d)
	}
	if want := "[0s 1s 3s 7s]"; fmt.Sprint(got) != want {
		t.Errorf("attempts at %v; want %v", got, want)
	}
	if s := m.States()[0]; s.Restarts != 3 {
		t.Errorf("%d restarts; want 3", s.Restarts)
	}
}

// TestTestingDoc_SnippetsAreHere checks that docs/testing.md shows this
// file's code, so that every snippet in it compiles and runs.
func TestTestingDoc_SnippetsAreHere(t *testing.T) {
	doc, err := os.ReadFile("../docs/testing.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testingdoc_test.go")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```go\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("docs/testing.md has no Go block")
	}
	for _, b := range blocks {
		code, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("unterminated Go block:\n%s", b)
		}
		if !strings.Contains(string(src), code) {
			t.Errorf("docs/testing.md shows code that is not in testingdoc_test.go:\n%s", code)
		}
	}
}
