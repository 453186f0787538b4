package lifecycle_test

// Issue 9, item 3: the liveness and readiness probes (docs/contract.md,
// C10), answered with ServeHTTP on a recorder inside synctest bubbles.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// probeMux mounts both probes as their doc comments show.
func probeMux(m *lifecycle.Manager) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/livez", lifecycle.LivenessHandler(m))
	mux.Handle("/livez/{service...}", lifecycle.LivenessHandler(m))
	mux.Handle("/readyz", lifecycle.ReadinessHandler(m))
	mux.Handle("/readyz/{service...}", lifecycle.ReadinessHandler(m))
	return mux
}

// probeAnswer is one answer, as "503 <body>".
func probeAnswer(h http.Handler, method, target string, header ...string) (string, http.Header) {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return fmt.Sprintf("%d %s", rec.Code, rec.Body.String()), rec.Header()
}

// wantProbe checks the answers to GET target.
func wantProbe(t *testing.T, h http.Handler, target, want string) {
	t.Helper()
	if got, _ := probeAnswer(h, http.MethodGet, target); got != want {
		t.Errorf("GET %s:\n got %q\nwant %q", target, got, want)
	}
}

// t0 is the instant a synctest bubble starts at, as the probes print it.
func at(d time.Duration) string {
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(d).Format(time.RFC3339Nano)
}

func TestReadiness_FollowsEveryServicesState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.SetBackoff(time.Second, time.Second, time.Minute)
		m.Register("cache", idle{})
		var dbCalls atomic.Int32
		m.Register("db", runFunc(func(ctx context.Context) error { // fails at 2s, restarts at 3s
			if dbCalls.Add(1) == 1 {
				time.Sleep(2 * time.Second)
				return errors.New("connection refused")
			}
			<-ctx.Done()
			return nil
		}))
		m.Register("migrate", runFunc(func(context.Context) error { // a one-shot job, done at 1s
			time.Sleep(time.Second)
			return lifecycle.ErrFinished
		}))
		m.Register("api", runFunc(func(ctx context.Context) error { // ready at 500ms
			time.Sleep(500 * time.Millisecond)
			lifecycle.Ready(ctx)
			<-ctx.Done()
			return nil
		}), lifecycle.NotifyReady())
		h := probeMux(m)

		wantProbe(t, h, "/readyz", "503 [+]shutdown ok\n"+
			"[-]cache not ready: not started\n[-]db not ready: not started\n"+
			"[-]migrate not ready: not started\n[-]api not ready: not started\nreadyz check failed\n")
		wantProbe(t, h, "/livez", "200 ok\n")

		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		synctest.Wait()
		wantProbe(t, h, "/readyz", "503 [+]shutdown ok\n[+]cache ok\n[+]db ok\n[+]migrate ok\n"+
			"[-]api not ready: starting since "+at(0)+"\nreadyz check failed\n")

		time.Sleep(1500 * time.Millisecond) // api ready, migrate finished: ready
		wantProbe(t, h, "/readyz", "200 ok\n")
		wantProbe(t, h, "/readyz?verbose", "200 [+]shutdown ok\n[+]cache ok\n[+]db ok\n[+]migrate ok\n[+]api ok\nreadyz check passed\n")

		time.Sleep(time.Second) // 2.5s: db backs off until 3s
		wantProbe(t, h, "/readyz", "503 [+]shutdown ok\n[+]cache ok\n"+
			"[-]db not ready: backing off until "+at(3*time.Second)+"\n[+]migrate ok\n[+]api ok\nreadyz check failed\n")
		wantProbe(t, h, "/livez", "200 ok\n") // the Manager restarts it: alive
		wantProbe(t, h, "/readyz?exclude=db", "200 ok\n")
		wantProbe(t, h, "/readyz?verbose&exclude=db&exclude=nope&exclude=n%C3%B6", "200 [+]shutdown ok\n[+]cache ok\n"+
			"[+]db excluded: ok\n[+]migrate ok\n[+]api ok\n"+
			"warn: some checks cannot be excluded: no matches for \"nope\", \"nö\"\nreadyz check passed\n")
		wantProbe(t, h, "/readyz/db", "503 [+]shutdown ok\n[-]db not ready: backing off until "+at(3*time.Second)+"\nreadyz check failed\n")
		wantProbe(t, h, "/readyz/cache", "200 ok\n")
		wantProbe(t, h, "/readyz/cache?verbose", "200 [+]shutdown ok\n[+]cache ok\nreadyz check passed\n")
		wantProbe(t, h, "/readyz/nope", "404 lifecycle: no service \"nope\"\n")
		wantProbe(t, h, "/livez/nope", "404 lifecycle: no service \"nope\"\n")

		time.Sleep(time.Second) // 3.5s: db restarted at 3s
		wantProbe(t, h, "/readyz", "200 ok\n")

		cancel() // no Stop: every loop ends, stopped
		<-ran
		wantProbe(t, h, "/readyz/cache", "503 [+]shutdown ok\n[-]cache not ready: stopped at "+at(3500*time.Millisecond)+"\nreadyz check failed\n")
		wantProbe(t, h, "/livez", "200 ok\n")
	})
}

func TestReadiness_FailsFromTheDrainOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet, lifecycle.WithDrain(2*time.Second))
		m.Register("db", idle{})
		m.Register("api", idle{})
		h := probeMux(m)
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error)
		go func() { served <- m.Serve(ctx, 10*time.Second) }()
		synctest.Wait()
		wantProbe(t, h, "/readyz", "200 ok\n")

		cancel() // the drain: 2s in which every service still runs
		synctest.Wait()
		time.Sleep(time.Second)
		down := "[-]shutdown failed: shutdown has begun\n"
		wantProbe(t, h, "/readyz", "503 "+down+"[+]db ok\n[+]api ok\nreadyz check failed\n")
		wantProbe(t, h, "/readyz?exclude=db&exclude=api", "503 "+down+
			"[+]db excluded: ok\n[+]api excluded: ok\nreadyz check failed\n")
		wantProbe(t, h, "/readyz/api", "503 "+down+"[+]api ok\nreadyz check failed\n")
		wantProbe(t, h, "/livez?verbose", "200 [+]db ok\n[+]api ok\nlivez check passed\n")
		if err := <-served; err != nil {
			t.Errorf("Serve: %v; want nil", err)
		}
		wantProbe(t, h, "/livez", "200 ok\n")
	})
}

// gaveUp registers a service that gives up at its first failure, at 1s.
func gaveUp(m *lifecycle.Manager, name string, opts ...lifecycle.ServiceOption) {
	m.Register(name, runFunc(func(context.Context) error {
		time.Sleep(time.Second)
		return errors.New("disk full")
	}), append(opts, lifecycle.RestartLimit(1, time.Minute))...)
}

func TestLiveness_FailsWhenAServiceGaveUpAndNothingEscalates(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []lifecycle.ServiceOption
	}{
		{"not essential", nil},
		{"essential under Run", []lifecycle.ServiceOption{lifecycle.Essential()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := lifecycle.NewManager(quiet)
				m.Register("cache", idle{})
				gaveUp(m, "db", tc.opts...)
				h := probeMux(m)
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan struct{})
				go func() { m.Run(ctx); close(ran) }()
				time.Sleep(1500 * time.Millisecond)

				failed := "[-]db failed: gave up at " + at(time.Second) + "\n"
				wantProbe(t, h, "/livez", "503 [+]cache ok\n"+failed+"livez check failed\n")
				wantProbe(t, h, "/livez/db", "503 "+failed+"livez check failed\n")
				wantProbe(t, h, "/livez/cache", "200 ok\n")
				wantProbe(t, h, "/livez?exclude=db", "200 ok\n")
				wantProbe(t, h, "/readyz", "503 [+]shutdown ok\n[+]cache ok\n"+
					"[-]db not ready: gave up at "+at(time.Second)+"\nreadyz check failed\n")

				// Shutdown is the escalation: alive from its first instant.
				m.Stop(time.Second)
				wantProbe(t, h, "/livez", "200 ok\n")
				cancel()
				<-ran
			})
		})
	}
}

func TestLiveness_AnEssentialServiceUnderServeEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hold := make(chan struct{}) // keeps cache's Stop, and so the shutdown, going
		m := lifecycle.NewManager(quiet)
		m.Register("cache", stopperFunc(func(context.Context) error { <-hold; return nil }))
		gaveUp(m, "db", lifecycle.Essential())
		h := probeMux(m)
		served := make(chan error)
		go func() { served <- m.Serve(context.Background(), 10*time.Second) }()
		time.Sleep(1500 * time.Millisecond) // db gave up at 1s; the shutdown waits on cache
		wantProbe(t, h, "/livez?verbose", "200 [+]cache ok\n[+]db ok\nlivez check passed\n")
		wantProbe(t, h, "/readyz", "503 [-]shutdown failed: shutdown has begun\n[-]cache not ready: stopped at "+
			at(time.Second)+"\n[-]db not ready: gave up at "+at(time.Second)+"\nreadyz check failed\n")
		close(hold)
		if err := <-served; err == nil {
			t.Error("Serve returned nil; want the give-up error")
		}
	})
}

func TestProbes_MethodsAndHeaders(t *testing.T) {
	m := lifecycle.NewManager(quiet)
	m.Register("cache", idle{})
	h := probeMux(m)

	got, hd := probeAnswer(h, http.MethodPost, "/readyz")
	if !strings.HasPrefix(got, "405 ") || hd.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %q with Allow %q; want 405 with Allow: GET, HEAD", got, hd.Get("Allow"))
	}
	got, getHd := probeAnswer(h, http.MethodGet, "/readyz?verbose")
	gotHead, headHd := probeAnswer(h, http.MethodHead, "/readyz?verbose")
	if gotHead != "503 " {
		t.Errorf("HEAD: %q; want 503 and no body", gotHead)
	}
	for _, k := range []string{"Content-Type", "Content-Length", "Cache-Control", "X-Content-Type-Options", "Vary"} {
		if getHd.Get(k) != headHd.Get(k) || getHd.Get(k) == "" {
			t.Errorf("%s: GET %q, HEAD %q; want the same, set", k, getHd.Get(k), headHd.Get(k))
		}
	}
	if getHd.Get("Content-Length") != fmt.Sprint(len(got)-len("503 ")) {
		t.Errorf("Content-Length %s; want %d", getHd.Get("Content-Length"), len(got)-len("503 "))
	}
	if getHd.Get("Cache-Control") != "no-store" || getHd.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("headers %v; want no-store, text/plain", getHd)
	}
}

// healthDoc is the IETF health check response, as far as the probes fill it.
type healthDoc struct {
	Status string `json:"status"`
	Output string `json:"output"`
	Checks map[string][]struct {
		ComponentType string `json:"componentType"`
		Status        string `json:"status"`
		ObservedValue string `json:"observedValue"`
		Output        string `json:"output"`
	} `json:"checks"`
}

func TestProbes_HealthJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.Register("cache", idle{})
		gaveUp(m, "db \"main\"\n")
		h := probeMux(m)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go m.Run(ctx)
		time.Sleep(1500 * time.Millisecond)

		accept := []string{"Accept", "application/health+json, text/plain;q=0.5"}
		for _, tc := range []struct {
			target, want string
		}{
			{"/readyz", `503 {"status":"fail","checks":{"cache":[{"componentType":"component","status":"pass","observedValue":"running"}],` +
				`"db \"main\"\n":[{"componentType":"component","status":"fail","observedValue":"gave up","output":"gave up at ` + at(time.Second) + `"}]}}` + "\n"},
			{"/readyz/cache", `200 {"status":"pass","checks":{"cache":[{"componentType":"component","status":"pass","observedValue":"running"}]}}` + "\n"},
			{"/livez?exclude=db+%22main%22%0A", `200 {"status":"pass","checks":{"cache":[{"componentType":"component","status":"pass","observedValue":"running"}]}}` + "\n"},
		} {
			got, hd := probeAnswer(h, http.MethodGet, tc.target, accept...)
			if got != tc.want {
				t.Errorf("GET %s:\n got %s\nwant %s", tc.target, got, tc.want)
			}
			if ct := hd.Get("Content-Type"); ct != "application/health+json" {
				t.Errorf("GET %s: Content-Type %q; want application/health+json", tc.target, ct)
			}
			var doc healthDoc
			if err := json.Unmarshal([]byte(got[4:]), &doc); err != nil {
				t.Errorf("GET %s: not JSON: %v", tc.target, err)
			}
		}

		m.Stop(time.Second)
		got, _ := probeAnswer(h, http.MethodGet, "/readyz", accept...)
		var doc healthDoc
		if err := json.Unmarshal([]byte(got[4:]), &doc); err != nil || doc.Status != "fail" || doc.Output != "shutdown has begun" {
			t.Errorf("during shutdown: %s (%v); want status fail, output \"shutdown has begun\"", got, err)
		}
	})
}

func TestProbes_HealthJSONEscapesAnyName(t *testing.T) {
	names := []string{"plain", "quote\" back\\slash", "ctl\x00\x1f\t\r\n", "bad\xff\xfeutf8", "日本", "a:b", "<&>"}
	m := lifecycle.NewManager(quiet)
	for _, name := range names {
		m.Register(name, idle{})
	}
	got, _ := probeAnswer(lifecycle.ReadinessHandler(m), http.MethodGet, "/readyz", "Accept", "application/health+json")
	var doc healthDoc
	if err := json.Unmarshal([]byte(got[4:]), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	for _, name := range names {
		key := string([]rune(name)) // each invalid byte U+FFFD
		if c := doc.Checks[key]; len(c) != 1 || c[0].Status != "fail" || c[0].ObservedValue != "registered" {
			t.Errorf("checks[%q] = %+v; want one failing check, registered", key, c)
		}
	}
}

func TestProbes_NilManagerPanics(t *testing.T) {
	for name, f := range map[string]func(*lifecycle.Manager) http.Handler{
		"LivenessHandler": lifecycle.LivenessHandler, "ReadinessHandler": lifecycle.ReadinessHandler,
	} {
		func() {
			defer func() {
				if v := recover(); v != fmt.Sprintf("lifecycle: %s(nil)", name) {
					t.Errorf("%s(nil) panicked with %v", name, v)
				}
			}()
			f(nil)
		}()
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header,
// cleared between requests, so that what a request allocates is the
// handler's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// probeFleet returns a Manager running n idle services, and a function
// that ends its Run. Inside a bubble, they are all running at its return.
func probeFleet(n int) (*lifecycle.Manager, func()) {
	m := lifecycle.NewManager(quiet)
	for i := range n {
		m.Register(fmt.Sprintf("svc-%05d", i), idle{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { m.Run(ctx); close(ran) }()
	synctest.Wait()
	return m, func() { cancel(); <-ran }
}

// probeAllocs is the bound on the allocations of one probe request for
// 1,000 services, as for States: the Content-Length header's value and
// its slice (the value is allocated only from 100 bytes on).
const probeAllocs = 2

func TestProbes_AllocationsPerRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, stop := probeFleet(1000)
		defer stop()
		w := &discardWriter{h: make(http.Header)}
		for _, target := range []string{"/readyz", "/livez", "/readyz?verbose", "/livez?verbose", "/readyz/svc-00500",
			"/readyz?exclude=svc-00001&exclude=nope&verbose"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			h := lifecycle.ReadinessHandler(m)
			if strings.HasPrefix(target, "/livez") {
				h = lifecycle.LivenessHandler(m)
			}
			if name, ok := strings.CutPrefix(target, "/readyz/"); ok {
				req.SetPathValue("service", name)
			}
			if raceEnabled && strings.Contains(target, "verbose") {
				continue // the race detector makes sync.Pool drop buffers at random
			}
			h.ServeHTTP(w, req) // fill the buffer pool
			want := float64(probeAllocs)
			if strings.Contains(target, "exclude=") {
				want++ // the exclusions, in one slice
			}
			if got := testing.AllocsPerRun(100, func() { clear(w.h); h.ServeHTTP(w, req) }); got > want {
				t.Errorf("GET %s with 1,000 services: %v allocations per request; want at most %v", target, got, want)
			}
		}
	})
}
