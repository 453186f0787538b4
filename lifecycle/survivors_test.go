package lifecycle_test

// Rules that no test pinned until mutation testing (gremlins) showed a
// mutant of the code that keeps them surviving the whole suite. Each test
// names the rule; the comment says which mutant it kills.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

func TestWithDrain_ZeroIsNoDrainNotAPanic(t *testing.T) {
	// C8.4, WithDrain's doc: it panics only if d < 0. (Kills d < 0 -> d <= 0
	// in WithDrain.)
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown(), lifecycle.WithDrain(0))
		m.Register("a", idle{})
		m.Register("b", idle{})
		rep := m.Shutdown(10 * time.Second)
		if rep.Drain != 0 || rep.Budget != 5*time.Second || !rep.Services[0].Began.Equal(rep.Start) {
			t.Errorf("report %+v; want no drain, 5s shares, the first turn at once", rep)
		}
	})
}

// waitRecorder is a Clock on package time (virtual inside a bubble) that
// records the d of every wait it is asked for.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *waitRecorder) Now() time.Time                  { return time.Now() }
func (c *waitRecorder) Since(t time.Time) time.Duration { return time.Since(t) }
func (c *waitRecorder) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

func (c *waitRecorder) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return time.After(d)
}

func (c *waitRecorder) take() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.waits
	c.waits = nil
	return w
}

func TestDrain_NothingToDrainArmsNoTimer(t *testing.T) {
	// C8.4: the drain is min(d, max(timeout, 0)). When that is 0 (no
	// WithDrain, WithDrain(0), or a budget of 0 or less) the shutdown goes
	// straight to the turns: it asks its Clock for no wait at all, not for
	// a wait of 0 that a mock clock might only fire once advanced. (Kills
	// d > 0 -> d >= 0 in shutdownInOrder.)
	for _, tc := range []struct {
		name    string
		drain   []lifecycle.Option
		timeout time.Duration
		want    time.Duration // the drain waited; 0: no wait
	}{
		{"no WithDrain", nil, 10 * time.Second, 0},
		{"WithDrain(0)", []lifecycle.Option{lifecycle.WithDrain(0)}, 10 * time.Second, 0},
		{"Shutdown(0)", []lifecycle.Option{lifecycle.WithDrain(2 * time.Second)}, 0, 0},
		{"Shutdown(-1s)", []lifecycle.Option{lifecycle.WithDrain(2 * time.Second)}, -time.Second, 0},
		{"2s drain", []lifecycle.Option{lifecycle.WithDrain(2 * time.Second)}, 10 * time.Second, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := &waitRecorder{}
				m := lifecycle.NewManager(append([]lifecycle.Option{quiet, lifecycle.WithClock(clk),
					lifecycle.WithOrderedShutdown()}, tc.drain...)...)
				m.Register("a", idle{})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				ran := make(chan struct{})
				go func() { m.Run(ctx); close(ran) }()
				synctest.Wait()
				clk.take()

				rep := m.Shutdown(tc.timeout)
				waits := clk.take()
				for _, d := range waits {
					if d <= 0 {
						t.Errorf("Shutdown(%v) asked the Clock for a wait of %v; want none of d <= 0", tc.timeout, d)
					}
				}
				if rep.Drain != tc.want {
					t.Errorf("Drain %v; want %v", rep.Drain, tc.want)
				}
				if tc.want > 0 && (len(waits) == 0 || waits[0] != tc.want) {
					t.Errorf("waits %v; want the drain of %v first, on the Clock", waits, tc.want)
				}
				cancel() // Run returns once its ctx is done
				<-ran
			})
		})
	}
}

func TestOrdered_StopErrorIsInTheServicesErrAndTheReports(t *testing.T) {
	// C8.6: a ServiceStop's Err joins the abandonment of Run and Stop's
	// Err; StopReport.Err, and so Serve, report it. (Kills call != nil ->
	// call == nil in stopService.)
	synctest.Test(t, func(t *testing.T) {
		errFlush := errors.New("flush failed")
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown())
		m.Register("plain", idle{})
		m.Register("db", stopFunc(func(context.Context) error { return errFlush }))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		synctest.Wait()

		rep := m.Shutdown(4 * time.Second)
		cancel() // Run returns once its ctx is done
		<-ran
		if len(rep.Services) != 2 {
			t.Fatalf("services %+v; want db then plain", rep.Services)
		}
		db, plain := rep.Services[0], rep.Services[1]
		if db.Service != "db" || !db.Stopper || db.RunAbandoned || db.Stop.Abandoned || !errors.Is(db.Stop.Err, errFlush) {
			t.Errorf("db %+v; want a Stopper whose Stop returned %v in time", db, errFlush)
		}
		if !errors.Is(db.Err, errFlush) || !strings.Contains(db.Err.Error(), `"db"`) {
			t.Errorf("db's Err = %v; want Stop's error, naming db", db.Err)
		}
		if plain.Err != nil {
			t.Errorf("plain's Err = %v; want nil", plain.Err)
		}
		if err := rep.Err(); !errors.Is(err, errFlush) {
			t.Errorf("StopReport.Err() = %v; want Stop's error", err)
		}
	})
}

func TestProbes_QueryKeysArePercentDecoded(t *testing.T) {
	// A query key is read as url.Values reads it: %76erbose is verbose,
	// %65xclude is exclude. (Kills err == nil -> err != nil after
	// QueryUnescape(key) in parse.)
	m := lifecycle.NewManager(quiet)
	m.Register("db", idle{}) // never run: not ready
	h := probeMux(m)
	wantProbe(t, h, "/livez?%76erbose", "200 [+]db ok\nlivez check passed\n")
	wantProbe(t, h, "/readyz?%65xclude=db", "200 ok\n")
	wantProbe(t, h, "/readyz?%zz&exclude=db", "200 ok\n") // a key that does not decode is kept as it is
}

func TestProbes_PerServicePathExcludesNothing(t *testing.T) {
	// C10: a per-service path checks that service; ?exclude does not take
	// it out. (Kills key == "exclude" -> != and pass == 0 -> pass != 0 in
	// parse's first pass, which then collects the exclusions itself.)
	m := lifecycle.NewManager(quiet)
	m.Register("db", idle{}) // never run: not ready
	m.Register("cache", idle{})
	h := probeMux(m)
	wantProbe(t, h, "/readyz/db?exclude=db", "503 [+]shutdown ok\n[-]db not ready: not started\nreadyz check failed\n")
	wantProbe(t, h, "/readyz/db?verbose&exclude=db&exclude=cache",
		"503 [+]shutdown ok\n[-]db not ready: not started\nreadyz check failed\n")
}

func TestProbes_HealthJSONNamesByteExact(t *testing.T) {
	// appendJSONString: only '"', '\\' and bytes below 0x20 are escaped,
	// valid UTF-8 (a literal U+FFFD included) passes as it is, and each
	// byte of invalid UTF-8 becomes \ufffd. json.Unmarshal accepts raw
	// invalid UTF-8 and \u escapes of any character, so this compares
	// bytes. (Kills c < utf8.RuneSelf -> <=, and r == utf8.RuneError ->
	// != and size == 1 -> != in appendJSONString.)
	for _, tc := range []struct{ name, key string }{
		{"a b", `"a b"`},
		{"del\x7f", "\"del\x7f\""},
		{"cont\x80", `"cont\ufffd"`},
		{"bad\xff\xfe", `"bad\ufffd\ufffd"`},
		{"trunc\xe6\x97", `"trunc\ufffd\ufffd"`},
		{"é日本", `"é日本"`},
		{"repl\uFFFD", "\"repl\uFFFD\""},
		{"ctl\x00\x1f", `"ctl\u0000\u001f"`},
		{"esc\"\\\n\r\t", `"esc\"\\\n\r\t"`},
	} {
		m := lifecycle.NewManager(quiet)
		m.Register(tc.name, idle{}) // never run: registered, not ready
		got, _ := probeAnswer(lifecycle.ReadinessHandler(m), http.MethodGet, "/readyz", "Accept", "application/health+json")
		want := `503 {"status":"fail","checks":{` + tc.key +
			`:[{"componentType":"component","status":"fail","observedValue":"registered","output":"not started"}]}}` + "\n"
		if got != want {
			t.Errorf("name %q:\n got %q\nwant %q", tc.name, got, want)
		}
	}
}

func TestState_StringNamesEveryStateAndNumbersTheRest(t *testing.T) {
	// Every State has its name; any other value, just past the last one
	// included, prints as State(n). (Kills s < stateCount -> <=, which
	// indexes past the names.)
	want := []string{"registered", "starting", "running", "backing off", "gave up",
		"finished", "stopping", "stopped", "abandoned"}
	for s := lifecycle.StateRegistered; s <= lifecycle.StateAbandoned; s++ {
		if got := s.String(); got != want[s] {
			t.Errorf("State(%d).String() = %q; want %q", int(s), got, want[s])
		}
	}
	for _, s := range []lifecycle.State{lifecycle.StateAbandoned + 1, -1} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("State(%d).String() panicked: %v", int(s), r)
				}
			}()
			if got, want := s.String(), "State("+strconv.Itoa(int(s))+")"; got != want {
				t.Errorf("State(%d).String() = %q; want %q", int(s), got, want)
			}
		}()
	}
}

func TestStates_AbandonedStopReplacesStoppedButNoOtherFinalState(t *testing.T) {
	// C9.1: gave up, finished, stopped and abandoned are final, except
	// that abandoned replaces stopped when a Stop is abandoned after Run
	// ended. (Kills state == StateAbandoned -> != and s.st.state ==
	// StateStopped -> != in service.enter.)
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		blocks := func(context.Context) error { <-release; return nil }
		quit := make(chan struct{})
		m := lifecycle.NewManager(quiet)
		// Its Stop makes its Run return (stopped, shutdown having begun),
		// then hangs past its deadline.
		m.Register("quits", stopRunFunc{
			run:  func(context.Context) error { <-quit; return nil },
			stop: func(ctx context.Context) error { close(quit); return blocks(ctx) },
		})
		m.Register("finished", stopRunFunc{run: func(context.Context) error { return lifecycle.ErrFinished }, stop: blocks})
		m.Register("gave up", stopRunFunc{run: func(context.Context) error { return errors.New("disk full") }, stop: blocks},
			lifecycle.RestartLimit(1, time.Minute))
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		synctest.Wait()

		// Shares of 1s, last registered first: gave up abandoned at 1s,
		// finished at 2s, quits (stopped at 2s) at 3s.
		rep := m.Shutdown(3 * time.Second)
		for _, r := range rep.Stoppers {
			if !r.Abandoned {
				t.Errorf("%s: %+v; want its Stop abandoned", r.Service, r)
			}
		}
		wantStates(t, "after the shutdown", states(m, start),
			`quits abandoned since 3s ready=false attempts=1 restarts=0 fails=0 "" at - until -`,
			`finished finished since 0s ready=false attempts=1 restarts=0 fails=0 "" at - until -`,
			`gave up gave up since 0s ready=false attempts=1 restarts=0 fails=1 "disk full" at 0s until -`)
		close(release)
		cancel()
		<-ran
	})
}
