package lifecycle

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"
)

// WorkerHealth is one service's health, as reported by a [HealthReporter]
// and returned by [Manager.Health]. LastSuccess and LastFailure are zero
// until the first success and the first failure.
type WorkerHealth struct {
	Name                string    `json:"name"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	LastFailure         time.Time `json:"last_failure,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
}

// Health returns the health of every registered service that implements
// [HealthReporter], in registration order, with Name set to the registration
// name whatever the service put there. Services that do not implement it
// are left out. Health never returns nil: with no reporters it returns an
// empty slice.
//
// Health is safe to call at any time from any goroutine, before, during and
// after Run and Stop. A service whose Health panics does not take the caller
// down: its entry has the registration name and a LastError saying that it
// panicked, and the panic is logged.
func (m *Manager) Health() []WorkerHealth {
	_, reporters := m.snapshot()
	out := make([]WorkerHealth, len(reporters))
	for i, s := range reporters {
		out[i] = m.health(s)
	}
	return out
}

func (m *Manager) health(s *service) (h WorkerHealth) {
	defer func() {
		if v := recover(); v != nil {
			h = WorkerHealth{Name: s.name, LastError: fmt.Sprintf("lifecycle: Health of service %q panicked: %v", s.name, v)}
			m.logAttrs(slog.LevelError, "lifecycle: Health panicked", func() []slog.Attr {
				// fmt recovers a panicking Error or String method; a handler may not.
				return []slog.Attr{slog.String("service", s.name), slog.String("panic", fmt.Sprint(v))}
			})
		}
	}()
	h = s.reporter().Health()
	h.Name = s.name
	return h
}

// Tracker keeps a service's [WorkerHealth] by the per-tick contract: a
// success sets LastSuccess and resets ConsecutiveFailures to 0; a failure
// sets LastFailure and LastError and adds 1 to ConsecutiveFailures. Embed
// one in a service to make it a [HealthReporter].
//
// The zero value is ready to use and stamps events with package time; set
// Clock before first use to stamp them with another clock. A Tracker is safe
// for concurrent use and must not be copied after first use.
type Tracker struct {
	// Clock stamps successes and failures; nil means package time.
	Clock Clock

	mu sync.Mutex   // guards h
	h  WorkerHealth // Name is left empty: the Manager sets it
}

func (t *Tracker) now() time.Time {
	if t.Clock == nil {
		return time.Now()
	}
	return t.Clock.Now()
}

// Success records a successful tick.
func (t *Tracker) Success() {
	now := t.now()
	schedpoint.Yield("tracker.update", nil) // stamped, not yet written
	t.mu.Lock()
	defer t.mu.Unlock()
	t.h.LastSuccess = now
	t.h.ConsecutiveFailures = 0
}

// Failure records a failed tick with its error. A nil err is recorded as a
// failure with LastError "unknown error".
func (t *Tracker) Failure(err error) {
	msg := "unknown error"
	if err != nil {
		msg = errorText(err)
	}
	now := t.now()
	schedpoint.Yield("tracker.update", nil) // stamped, not yet written
	t.mu.Lock()
	defer t.mu.Unlock()
	t.h.LastFailure = now
	t.h.LastError = msg
	t.h.ConsecutiveFailures++
}

// Record records a success if err is nil and a failure otherwise.
func (t *Tracker) Record(err error) {
	if err == nil {
		t.Success()
	} else {
		t.Failure(err)
	}
}

// Health returns the recorded health. It implements [HealthReporter].
func (t *Tracker) Health() WorkerHealth {
	schedpoint.Yield("tracker.health", nil)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.h
}
