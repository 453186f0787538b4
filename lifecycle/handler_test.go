package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// serveHealth serves HealthHandler(m) on a real loopback server for the
// test and returns its URL and a client with a deadline.
func serveHealth(t *testing.T, m *lifecycle.Manager) (string, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(lifecycle.HealthHandler(m))
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Timeout = 10 * time.Second
	return srv.URL, c
}

// fetch does one request and returns the response with its whole body.
func fetch(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, string(body)
}

// panickyHealth is a service whose Health panics.
type panickyHealth struct{ mailService }

func (*panickyHealth) Health() lifecycle.WorkerHealth { panic("nil map") }

// plainService does not report health.
type plainService struct{}

func (plainService) Run(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

func TestHealthHandler_EmptyIsEmptyArray(t *testing.T) {
	m := lifecycle.NewManager()
	m.Register("no-health", plainService{})
	url, c := serveHealth(t, m)

	resp, body := fetch(t, c, http.MethodGet, url+"/api/workers")

	if resp.StatusCode != http.StatusOK || body != "[]\n" {
		t.Errorf("GET = %s %q; want 200 OK %q", resp.Status, body, "[]\n")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
}

func TestHealthHandler_GetServesHealthAsJSON(t *testing.T) {
	clk := fakeclock.New(t, extEpoch)
	m := lifecycle.NewManager(lifecycle.WithClock(clk), extQuiet)
	mail := &mailService{Tracker: lifecycle.Tracker{Clock: clk}}
	idx := lifecycle.NewWorker(time.Minute, func(context.Context) error { return nil }, lifecycle.WorkerClock(clk))
	m.Register("mailer", mail)
	m.Register("plain", plainService{})
	m.Register("indexer", idx)
	m.Register("broken", &panickyHealth{})
	mail.Success()
	clk.Advance(90 * time.Second)
	mail.Failure(errors.New("smtp: 421 try later"))
	url, c := serveHealth(t, m)

	resp, body := fetch(t, c, http.MethodGet, url)

	want := `[{"name":"mailer","last_success":"2031-06-01T12:00:00Z","last_failure":"2031-06-01T12:01:30Z",` +
		`"last_error":"smtp: 421 try later","consecutive_failures":1},` +
		`{"name":"indexer","consecutive_failures":0},` +
		`{"name":"broken","last_error":"lifecycle: Health of service \"broken\" panicked: nil map","consecutive_failures":0}]` + "\n"
	if resp.StatusCode != http.StatusOK || body != want {
		t.Errorf("GET = %s\n%s\nwant 200 OK\n%s", resp.Status, body, want)
	}
	var decoded []lifecycle.WorkerHealth
	if err := json.Unmarshal([]byte(body), &decoded); err != nil {
		t.Fatalf("body is not a JSON array of WorkerHealth: %v", err)
	}
	if got := m.Health(); len(decoded) != len(got) || decoded[0] != got[0] {
		t.Errorf("decoded %+v; want Manager.Health() %+v", decoded, got)
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q; want %q", k, got, v)
		}
	}
}

func TestHealthHandler_HeadHasHeadersAndNoBody(t *testing.T) {
	clk := fakeclock.New(t, extEpoch)
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	mail := &mailService{Tracker: lifecycle.Tracker{Clock: clk}}
	m.Register("mailer", mail)
	mail.Failure(errors.New("x"))
	url, c := serveHealth(t, m)

	get, getBody := fetch(t, c, http.MethodGet, url)
	head, headBody := fetch(t, c, http.MethodHead, url)

	if head.StatusCode != http.StatusOK || headBody != "" {
		t.Errorf("HEAD = %s with body %q; want 200 OK, no body", head.Status, headBody)
	}
	if ct := head.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("HEAD Content-Type %q; want application/json", ct)
	}
	if head.ContentLength != int64(len(getBody)) || get.ContentLength != int64(len(getBody)) {
		t.Errorf("Content-Length HEAD %d, GET %d; want both %d, the GET body's length",
			head.ContentLength, get.ContentLength, len(getBody))
	}
}

func TestHealthHandler_OtherMethodsAre405(t *testing.T) {
	m := lifecycle.NewManager()
	url, c := serveHealth(t, m)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, "PROPFIND"} {
		resp, body := fetch(t, c, method, url)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s = %s; want 405 Method Not Allowed", method, resp.Status)
		}
		if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
			t.Errorf("%s: Allow %q; want %q", method, allow, "GET, HEAD")
		}
		if strings.HasPrefix(body, "[") {
			t.Errorf("%s: body %q; want no health in it", method, body)
		}
	}
}

func TestHealthHandler_ConcurrentRequestsWhileHealthChanges(t *testing.T) {
	// Run with -race: requests read the health while a service records it.
	clk := fakeclock.New(t, extEpoch)
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	mail := &mailService{Tracker: lifecycle.Tracker{Clock: clk}}
	m.Register("mailer", mail)
	url, c := serveHealth(t, m)

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			clk.Advance(time.Second)
			mail.Record(map[bool]error{true: errors.New("x")}[i%3 == 0])
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 10 {
				resp, err := c.Get(url)
				if err != nil {
					t.Errorf("GET: %v", err)
					return
				}
				var hs []lifecycle.WorkerHealth
				err = json.NewDecoder(resp.Body).Decode(&hs)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || len(hs) != 1 || hs[0].Name != "mailer" {
					t.Errorf("GET = %s %+v (%v); want 200 and one entry for mailer", resp.Status, hs, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestHealthHandler_NilManagerPanics(t *testing.T) {
	defer func() {
		if msg, _ := recover().(string); !strings.HasPrefix(msg, "lifecycle: ") {
			t.Errorf("panic %q; want a message starting %q", msg, "lifecycle: ")
		}
	}()
	lifecycle.HealthHandler(nil)
}

func TestHealthHandler_HeadWritesNoBody(t *testing.T) {
	// net/http's server drops a HEAD body anyway; the handler must not
	// rely on that (a recorder, a proxy or a test harness would send it).
	m := lifecycle.NewManager()
	m.Register("mailer", &mailService{})
	h := lifecycle.HealthHandler(m)
	get, head := httptest.NewRecorder(), httptest.NewRecorder()

	h.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/api/workers", nil))
	h.ServeHTTP(head, httptest.NewRequest(http.MethodHead, "/api/workers", nil))

	if head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD wrote %d %q; want 200 and no body", head.Code, head.Body.String())
	}
	if cl, want := head.Header().Get("Content-Length"), fmt.Sprint(get.Body.Len()); cl != want {
		t.Errorf("HEAD Content-Length %q; want %q, the length of the GET body", cl, want)
	}
}

func TestHealthHandler_UnencodableHealthIs500(t *testing.T) {
	// encoding/json refuses a time past year 9999; the handler says so
	// with a 500 rather than sending half an array.
	clk := fakeclock.New(t, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	m := lifecycle.NewManager(lifecycle.WithClock(clk))
	mail := &mailService{Tracker: lifecycle.Tracker{Clock: clk}}
	m.Register("mailer", mail)
	mail.Success()
	url, c := serveHealth(t, m)

	resp, body := fetch(t, c, http.MethodGet, url)

	if resp.StatusCode != http.StatusInternalServerError || !strings.HasPrefix(body, "lifecycle: ") {
		t.Errorf("GET = %s %q; want 500 with a lifecycle: message", resp.Status, body)
	}
}
