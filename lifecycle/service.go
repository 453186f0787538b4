package lifecycle

import (
	"fmt"
	"time"
)

// A ServiceOption configures one service at registration; see
// [Manager.Register].
type ServiceOption func(*serviceConfig)

// serviceConfig is one service's settings. The zero value is the seed's
// behaviour: restart for ever, never escalate.
type serviceConfig struct {
	limit     int           // RestartLimit's n; 0: no limit
	window    time.Duration // RestartLimit's window
	essential bool          // giving up shuts the program down (Serve)

	notifyReady bool // ready only once Run calls Ready
}

// RestartLimit makes the service give up after n failures within window,
// as Erlang/OTP supervisors and systemd's StartLimitBurst do: the failure
// that makes n failures in the half-open window (t-window, t], t being the
// instant that failure ended, is not followed by a restart. A service that
// gives up is logged at Error, reported by a [GaveUp] event and by
// [Manager.GaveUp], and stays down; with [Essential], [Manager.Serve]
// then shuts the whole program down.
//
// Only failures count (C2.3): not a return once the context is done or
// shutdown has begun, nor [ErrFinished]. RestartLimit(1, w) gives up at the
// first failure. It panics unless n >= 1 and window > 0.
func RestartLimit(n int, window time.Duration) ServiceOption {
	if n < 1 || window <= 0 {
		panic(fmt.Sprintf("lifecycle: RestartLimit(%d, %v): want n >= 1 and window > 0", n, window))
	}
	return func(c *serviceConfig) { c.limit, c.window = n, window }
}

// Essential makes the service's giving up (see [RestartLimit]) fatal to
// the program: [Manager.Serve] then shuts every service down in order and
// returns an error naming it, so that the process exits and its
// orchestrator restarts it. Without Essential, a service that gives up
// stays down while the others run on, degraded.
func Essential() ServiceOption {
	return func(c *serviceConfig) { c.essential = true }
}

// GiveUpError reports a service that gave up after too many failures; see
// [RestartLimit]. It wraps the last failure's error.
type GiveUpError struct {
	Service  string        // the registration name
	Failures int           // the n of RestartLimit
	Window   time.Duration // the window of RestartLimit
	At       time.Time     // when the last failure ended
	Last     error         // the last failure: Run's error, a *PanicError, ErrGoexit, or nil for a nil return
}

func (e *GiveUpError) Error() string {
	last := "returned nil"
	if e.Last != nil {
		last = errorText(e.Last)
	}
	return fmt.Sprintf("lifecycle: service %q gave up after %d failures within %v; last: %s",
		e.Service, e.Failures, e.Window, last)
}

// Unwrap returns the last failure's error.
func (e *GiveUpError) Unwrap() error { return e.Last }

// failures keeps the end times of a service's recent failures, for
// RestartLimit. Only the supervise loop touches it.
type failures struct {
	times []time.Time // within the window of the latest, oldest first; at most limit
}

// add records a failure that ended at t and reports whether it makes limit
// failures within the half-open window (t-window, t].
func (f *failures) add(t time.Time, limit int, window time.Duration) bool {
	from := t.Add(-window) // failures at or before from are out
	keep := 0
	for keep < len(f.times) && !f.times[keep].After(from) {
		keep++
	}
	// A service gives up at the failure that makes limit, so no more than
	// limit are ever kept.
	f.times = append(f.times[keep:], t)
	return len(f.times) >= limit
}
