//go:build unix

package lifecycle_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	"github.com/lifecyclesim/lifecycle/lifecycletest"
)

// This file is a whole program, the one docs/shutdown.md walks through: an
// HTTP server that takes jobs, a queue consumer that does them and panics
// on a bad one now and then, a periodic job, and the store they write to,
// served by Manager.Serve until SIGTERM. ExampleManager_Serve_main is its
// main; ExampleManager_Serve runs it on a mock clock, and
// TestServe_ProgramStopsServerThenDrainsConsumer on testing/synctest's
// virtual time.

// programEnv is what the program takes from main, and what a test replaces.
type programEnv struct {
	Listener net.Listener       // main: net.Listen("tcp", ":8080")
	Out      io.Writer          // where the services say how they stopped; main: os.Stdout
	Clock    lifecycle.Clock    // nil: the real clock
	Options  []lifecycle.Option // more Manager options: a logger, events
}

// serveProgram is the program: it registers the services, last the one
// that must stop first, and serves them until ctx is done.
func serveProgram(ctx context.Context, env programEnv) error {
	opts := []lifecycle.Option{lifecycle.WithDrain(2 * time.Second)}
	var workerOpts []lifecycle.WorkerOption
	if env.Clock != nil {
		opts = append(opts, lifecycle.WithClock(env.Clock))
		workerOpts = append(workerOpts, lifecycle.WorkerClock(env.Clock))
	}
	m := lifecycle.NewManager(append(opts, env.Options...)...)

	// Registered first, stopped last: the store the others write to.
	st := &store{out: env.Out}
	m.Register("store", st)

	// A periodic job: a failing tick is not restarted, it shows in Health.
	m.Register("refresh", lifecycle.NewWorker(time.Minute, st.refresh, workerOpts...))

	// The consumer panics on a bad job now and then: it is restarted, but
	// 5 failures within a minute mean it is broken, and the program exits.
	queue := make(chan string, 100)
	m.Register("consumer", &consumer{queue: queue, st: st, out: env.Out},
		lifecycle.RestartLimit(5, time.Minute), lifecycle.Essential())

	// Registered last, stopped first: no new jobs once the consumer drains.
	srv := &http.Server{Handler: jobsHandler(queue)}
	m.Register("http", &httpService{srv: srv, ln: env.Listener, out: env.Out},
		lifecycle.RestartLimit(3, time.Minute), lifecycle.Essential())

	// Run until ctx is done; then drain 2s, and stop http, consumer,
	// refresh and store in turn, 2s each: 10s in all.
	return m.Serve(ctx, 10*time.Second)
}

// httpService serves HTTP: Run is Serve, Stop is Shutdown. In its turn its
// context is cancelled before Stop is called, so the http.ErrServerClosed
// that Serve then returns is not a failure (docs/contract.md, C7.1).
type httpService struct {
	srv *http.Server
	ln  net.Listener
	out io.Writer
}

func (h *httpService) Run(ctx context.Context) error {
	err := h.srv.Serve(h.ln)
	fmt.Fprintln(h.out, "http: stopped taking requests:", err)
	return err
}

func (h *httpService) Stop(ctx context.Context) error { return h.srv.Shutdown(ctx) }

// jobsHandler queues each line of a POST /jobs body as a job.
func jobsHandler(queue chan<- string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", func(w http.ResponseWriter, r *http.Request) {
		n := 0
		for sc := bufio.NewScanner(r.Body); sc.Scan(); n++ {
			select {
			case queue <- sc.Text():
			default:
				http.Error(w, "queue full", http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%d jobs queued\n", n)
	})
	return mux
}

// consumer does the queued jobs. Its state outlives a restart; only Run
// touches it, and the Manager never runs two attempts at once.
type consumer struct {
	queue <-chan string
	st    *store
	out   io.Writer
	done  int
}

func (c *consumer) Run(ctx context.Context) error {
	for {
		select {
		case job := <-c.queue:
			c.do(job)
		case <-ctx.Done():
			// Its turn: the server has stopped, so nothing more arrives.
			// Do what is queued, then return.
			for {
				select {
				case job := <-c.queue:
					c.do(job)
				default:
					fmt.Fprintf(c.out, "consumer: drained the queue, %d jobs done\n", c.done)
					return ctx.Err()
				}
			}
		}
	}
}

func (c *consumer) do(job string) {
	if job == "poison" {
		panic(fmt.Sprintf("consumer: cannot decode job %q", job))
	}
	c.st.put(job)
	c.done++
}

// store stands for a database: it runs until its turn and closes in Stop.
type store struct {
	out       io.Writer
	mu        sync.Mutex // guards results, refreshes
	results   []string
	refreshes int
}

func (s *store) put(job string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, job)
}

// refresh is the periodic job's tick.
func (s *store) refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshes++
	return nil
}

func (s *store) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (s *store) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, "store: closed with results %v, refreshed %d time(s)\n", s.results, s.refreshes)
	return nil
}

// postJobs posts one job a line and returns the response's status and body.
func postJobs(c *http.Client, jobs ...string) (string, error) {
	resp, err := c.Post("http://jobs.example/jobs", "text/plain", strings.NewReader(strings.Join(jobs, "\n")))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.Status + ": " + strings.TrimSpace(string(body)), err
}

// awaitWaits reads waits made on clk until it has seen each of ds, so that
// the waiters are parked and moving time reaches them; other waits are
// left armed.
func awaitWaits(clk *waitClock, ds ...time.Duration) {
	want := map[time.Duration]int{}
	for _, d := range ds {
		want[d]++
	}
	for n := len(ds); n > 0; {
		if d := <-clk.waits; want[d] > 0 {
			want[d]--
			n--
		}
	}
}

// ExampleManager_Serve_main is the program's main: Serve until SIGTERM or
// Ctrl-C, then shut down within 10s, and exit non-zero if anything went
// wrong (an essential service gave up, a Stop failed, a Run would not
// return), so that the orchestrator restarts the process. It is compiled,
// not run.
func ExampleManager_Serve_main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", ":8080")
	if err != nil {
		log.Fatal(err)
	}
	if err := serveProgram(ctx, programEnv{Listener: ln, Out: os.Stdout}); err != nil {
		log.Fatal(err)
	}
}

// ExampleManager_Serve runs the program of ExampleManager_Serve_main on a
// mock clock, and sends it a real SIGTERM. A job is posted over HTTP, the
// consumer panics on one and is restarted, and at SIGTERM the shutdown
// drains for 2s, stops the server, lets the consumer finish the queue, and
// closes the store last.
func ExampleManager_Serve() {
	clk := newWaitClock()
	ln := lifecycletest.NewListener()
	restarted := make(chan struct{})
	env := programEnv{Listener: ln, Out: os.Stdout, Clock: clk, Options: []lifecycle.Option{
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)), // a program logs to slog.Default()
		lifecycle.WithEvents(func(e lifecycle.Event) {
			if e.Kind == lifecycle.AttemptStarted && e.Service == "consumer" && e.Attempt == 2 {
				close(restarted)
			}
		}),
	}}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	served := make(chan error)
	go func() { served <- serveProgram(ctx, env) }()

	status, err := postJobs(ln.Client(), "resize-1", "poison", "resize-2")
	fmt.Println("POST /jobs:", status, err)
	awaitWaits(clk, time.Minute, time.Second) // refresh ticked; consumer panicked, restarts in 1s
	clk.Add(time.Second)
	<-restarted
	fmt.Println("consumer restarted at", clk.Since(exampleStart))

	fmt.Println("SIGTERM")
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	awaitWaits(clk, 2*time.Second) // the drain
	clk.Add(2 * time.Second)
	fmt.Println("Serve returned", <-served, "at", clk.Since(exampleStart))
	// Output:
	// POST /jobs: 202 Accepted: 3 jobs queued <nil>
	// consumer restarted at 1s
	// SIGTERM
	// http: stopped taking requests: http: Server closed
	// consumer: drained the queue, 2 jobs done
	// store: closed with results [resize-1 resize-2], refreshed 1 time(s)
	// Serve returned <nil> at 3s
}

// lineWriter keeps what the services say, a line each.
type lineWriter struct {
	mu    sync.Mutex // guards lines
	lines []string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestServe_ProgramStopsServerThenDrainsConsumer runs the program of
// ExampleManager_Serve on virtual time: a job posted over HTTP, a panic
// and a restart, then the signal. The server stops first (its Serve's
// http.ErrServerClosed no failure), the consumer drains next, then the
// periodic job and the store; a request during the drain is still served,
// one after the server's turn is refused.
func TestServe_ProgramStopsServerThenDrainsConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		at := func(d time.Duration) time.Time { return start.Add(d) }
		var mu sync.Mutex // guards events
		var events []lifecycle.Event
		out := &lineWriter{}
		ln := lifecycletest.NewListener()
		env := programEnv{Listener: ln, Out: out, Options: []lifecycle.Option{
			lifecycle.WithLogger(slog.New(slog.DiscardHandler)),
			lifecycle.WithEvents(func(e lifecycle.Event) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
			}),
		}}
		ctx, sigterm := context.WithCancel(context.Background()) // main: signal.NotifyContext
		served := make(chan error)
		go func() { served <- serveProgram(ctx, env) }()

		// A job over HTTP; the consumer panics on the second and is
		// restarted 1s later.
		client := ln.Client()
		if status, err := postJobs(client, "resize-1", "poison", "resize-2"); err != nil || status != "202 Accepted: 3 jobs queued" {
			t.Fatalf("POST /jobs = %q, %v; want 202 Accepted: 3 jobs queued, nil", status, err)
		}
		time.Sleep(time.Second)
		synctest.Wait()

		// SIGTERM. During the drain the server still takes jobs.
		sigterm()
		synctest.Wait()
		if status, err := postJobs(client, "resize-3"); err != nil || status != "202 Accepted: 1 jobs queued" {
			t.Errorf("POST /jobs during the drain = %q, %v; want 202 Accepted: 1 jobs queued, nil", status, err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve = %v; want nil", err)
		}
		if got, want := time.Since(start), 3*time.Second; got != want {
			t.Errorf("Serve returned at %v; want %v (SIGTERM at 1s, 2s of drain)", got, want)
		}
		if _, err := postJobs(client, "resize-4"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("POST /jobs after Serve: err = %v; want connection refused", err)
		}

		// The services' own lines, each written before its turn ended: the
		// server stopped, then the consumer drained, then the store closed.
		wantOut := []string{
			"http: stopped taking requests: http: Server closed",
			"consumer: drained the queue, 3 jobs done",
			"store: closed with results [resize-1 resize-2 resize-3], refreshed 1 time(s)",
		}
		if !slices.Equal(out.lines, wantOut) {
			t.Errorf("the services said\n\t%s\nwant\n\t%s", strings.Join(out.lines, "\n\t"), strings.Join(wantOut, "\n\t"))
		}

		// The turns, last registered first, at SIGTERM plus the drain.
		mu.Lock()
		defer mu.Unlock()
		var turns []string
		for _, e := range events {
			switch e.Kind {
			case lifecycle.ServiceStopping:
				turns = append(turns, fmt.Sprintf("%v %s budget=%v", e.Time.Sub(start), e.Service, e.Duration))
			case lifecycle.ServiceStopped:
				turns = append(turns, fmt.Sprintf("%v %s stopped outcome=%v", e.Time.Sub(start), e.Service, e.Outcome))
			}
		}
		wantTurns := []string{
			"3s http budget=2s", "3s http stopped outcome=nil",
			"3s consumer budget=2s", "3s consumer stopped outcome=nil",
			"3s refresh budget=2s", "3s refresh stopped outcome=nil",
			"3s store budget=2s", "3s store stopped outcome=nil",
		}
		if !slices.Equal(turns, wantTurns) {
			t.Errorf("turns\n\t%s\nwant\n\t%s", strings.Join(turns, "\n\t"), strings.Join(wantTurns, "\n\t"))
		}

		// How each attempt ended: the server's http.ErrServerClosed came
		// after its turn began, so it is no failure and it was not
		// restarted; the consumer's panic was, once.
		ended := map[string]int{}
		for _, e := range events {
			if e.Kind == lifecycle.AttemptEnded {
				ended[e.Service]++
			}
			switch {
			case e.Kind == lifecycle.AttemptEnded && e.Service == "http":
				if !errors.Is(e.Err, http.ErrServerClosed) || !e.Canceled || e.Attempt != 1 || !e.Time.Equal(at(3*time.Second)) {
					t.Errorf("http ended: attempt %d at %v err=%v canceled=%v; want attempt 1 at 3s, http.ErrServerClosed, canceled",
						e.Attempt, e.Time.Sub(start), e.Err, e.Canceled)
				}
			case e.Kind == lifecycle.AttemptEnded && e.Service == "consumer" && e.Attempt == 1:
				if e.Outcome != lifecycle.OutcomePanic || e.Canceled || !e.Time.Equal(at(0)) {
					t.Errorf("consumer attempt 1 ended at %v outcome=%v canceled=%v; want at 0s, panic, not canceled",
						e.Time.Sub(start), e.Outcome, e.Canceled)
				}
			case e.Kind == lifecycle.AttemptEnded && e.Service == "consumer":
				if e.Attempt != 2 || !e.Canceled || !e.Time.Equal(at(3*time.Second)) {
					t.Errorf("consumer attempt %d ended at %v canceled=%v; want attempt 2 at 3s, canceled",
						e.Attempt, e.Time.Sub(start), e.Canceled)
				}
			case e.Kind == lifecycle.BackingOff && e.Service != "consumer",
				e.Kind == lifecycle.GaveUp:
				t.Errorf("unexpected %v of %s at %v", e.Kind, e.Service, e.Time.Sub(start))
			}
		}
		if want := map[string]int{"store": 1, "refresh": 1, "consumer": 2, "http": 1}; !maps.Equal(ended, want) {
			t.Errorf("attempts ended per service: %v; want %v", ended, want)
		}
	})
}
