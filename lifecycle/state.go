package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// State is where a service is in its life; see [Manager.States] and
// docs/contract.md, C9.
type State int

// The states of a service. GaveUp, Finished, Stopped and Abandoned are
// final, except that Abandoned replaces Stopped when a Stop call is
// abandoned after the service's Run had ended, and that a call of Run
// always makes the service Starting or Running (docs/contract.md, C9.1).
const (
	StateRegistered State = iota // registered; Run has not started it
	StateStarting                // Run called, not yet ready (see NotifyReady)
	StateRunning                 // Run called and ready
	StateBackingOff              // failed; restarted at BackoffUntil
	StateGaveUp                  // failed too often (see RestartLimit); not restarted
	StateFinished                // returned ErrFinished; not restarted
	StateStopping                // shutdown reached it: its turn began, or its Stop was called
	StateStopped                 // its supervise loop ended: its context was done or shutdown began
	StateAbandoned               // its Run or Stop was still running at its deadline

	stateCount // one past the last state: sizes stateNames
)

// stateNames is indexed by State; a test fails if a name is missing.
var stateNames = [stateCount]string{"registered", "starting", "running", "backing off", "gave up",
	"finished", "stopping", "stopped", "abandoned"}

func (s State) String() string {
	if s >= 0 && s < stateCount {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// final reports whether nothing but abandonment moves a service on from s.
func (s State) final() bool {
	return s == StateGaveUp || s == StateFinished || s == StateStopped || s == StateAbandoned
}

// ServiceState is one service's state, as [Manager.States] returns it.
type ServiceState struct {
	Name  string    // the registration name
	State State     // where it is
	Since time.Time // when it entered State; zero while Registered
	// Ready is set while the service is Running and ready: from its call
	// of Run, or with NotifyReady from its call of Ready.
	Ready bool

	Attempts int // calls of Run so far
	Restarts int // calls of Run after the first: Attempts-1, or 0

	// ConsecutiveFailures counts failures since the last attempt that ran
	// at least the backoff reset window (the run that resets the restart
	// delay also resets this count).
	ConsecutiveFailures int
	LastError           string    // the last failure's error text; "" before the first
	LastFailure         time.Time // when the last failure ended; zero before the first
	BackoffUntil        time.Time // while BackingOff: when it is to be restarted
}

// States returns the state of every registered service, reporter or not,
// in registration order. It calls nothing a service provides, so it never
// blocks on a service and is cheap enough for every probe: one allocation
// for any number of services. It is safe to call at any time from any
// goroutine.
func (m *Manager) States() []ServiceState {
	services, _ := m.snapshot()
	out := make([]ServiceState, len(services))
	for i, s := range services {
		out[i] = s.state(m)
	}
	return out
}

// status is a service's state, guarded by its service's mu. It is packed
// into 16 bytes, because every idle service carries it
// (docs/performance.md, "Idle memory").
type status struct {
	since instant // when the service entered its state
	word  uint64  // attempts<<8 | state<<1 | ready: see the methods below
}

// The fields packed into status.word.
const (
	readyBit     = 1
	stateShift   = 1
	stateMask    = 0x7f
	attemptShift = 8 // leaves 56 bits: attempts never run out
)

func (st *status) state() State  { return State(st.word >> stateShift & stateMask) }
func (st *status) ready() bool   { return st.word&readyBit != 0 }
func (st *status) attempts() int { return int(st.word >> attemptShift) }

// set puts the service in state since at, ready or not; attempts stay.
func (st *status) set(state State, at instant, ready bool) {
	w := st.word&^(stateMask<<stateShift|readyBit) | uint64(state)<<stateShift
	if ready {
		w |= readyBit
	}
	st.word, st.since = w, at
}

// instant is a time on the Manager's clock, as nanoseconds since the
// Manager's epoch (its clock's reading at NewManager): 8 bytes in each
// service's state where a time.Time takes 24. It turns back into the same
// time.Time for any clock reading within 292 years of the epoch.
type instant int64

// instant returns t as an instant.
func (m *Manager) instant(t time.Time) instant { return instant(t.Sub(m.epoch)) }

// now reads the Manager's clock for the start of an attempt. On the real
// clock it is the epoch plus the time since on the monotonic clock, one
// read of it where time.Now reads the wall clock too; on any other, the
// clock's Now, exact however far the clock has gone.
func (m *Manager) now() time.Time {
	if m.real {
		return m.epoch.Add(time.Since(m.epoch))
	}
	return m.clock.Now()
}

// time returns the time.Time that i stands for.
func (m *Manager) time(i instant) time.Time { return m.epoch.Add(time.Duration(i)) }

// failStatus is what a service's failures left behind, made at the first
// failure, so that a service that never fails does not carry it. It is
// guarded by the service's mu.
type failStatus struct {
	consecutive  int
	lastError    string
	lastFailure  time.Time
	backoffUntil time.Time
}

// state returns s's state as a ServiceState.
func (s *service) state(m *Manager) ServiceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	out := ServiceState{Name: s.name, State: st.state(), Ready: st.ready(),
		Attempts: st.attempts(), Restarts: max(st.attempts()-1, 0)}
	if out.State != StateRegistered {
		out.Since = m.time(st.since)
	}
	if x := s.x; x != nil && x.fail != nil {
		f := x.fail
		out.ConsecutiveFailures, out.LastError, out.LastFailure = f.consecutive, f.lastError, f.lastFailure
		if out.State == StateBackingOff {
			out.BackoffUntil = f.backoffUntil
		}
	}
	return out
}

// enter moves s to state at the instant at, unless s is in a final state
// (Abandoned may still replace Stopped). It reports whether it moved.
// (Nothing between Lock and Unlock can panic, so no defer: enter and
// started are on every service's path, and small frames keep it short.)
func (s *service) enter(state State, at instant) bool {
	s.mu.Lock()
	now := s.st.state()
	moved := !now.final() || (state == StateAbandoned && now == StateStopped)
	if moved {
		s.st.set(state, at, state == StateRunning)
	}
	s.mu.Unlock()
	return moved
}

// stopping moves s to Stopping at the instant at, if it is live: started,
// and its loop not over.
func (s *service) stopping(at instant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.st.state() {
	case StateStarting, StateRunning, StateBackingOff:
		s.st.set(StateStopping, at, false)
	}
}

// started records the start of an attempt at the instant at.
func (s *service) started(at instant, waitReady bool) {
	s.mu.Lock()
	s.st.word += 1 << attemptShift
	if waitReady {
		s.st.set(StateStarting, at, false)
	} else {
		s.st.set(StateRunning, at, true)
	}
	s.mu.Unlock()
}

// failed records a failure that ended at end (the instant at), after a run
// of ran, reset being the backoff reset window in force, and that s now
// waits until until before its restart.
func (s *service) failed(text string, end time.Time, at instant, ran, reset time.Duration, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.x == nil {
		s.x = new(svExtra)
	}
	f := s.x.fail
	if f == nil {
		f = new(failStatus)
		s.x.fail = f
	}
	if ran >= reset {
		f.consecutive = 0
	}
	f.consecutive++
	f.lastError, f.lastFailure = text, end
	if !until.IsZero() {
		s.st.set(StateBackingOff, at, false)
		f.backoffUntil = until
	}
}

// readyKey is the context key under which a NotifyReady service's Run
// finds its attempt.
type readyKey struct{}

// readyToken is one attempt of a NotifyReady service.
type readyToken struct {
	m       *Manager
	s       *service
	attempt int
	ready   chan struct{} // with a start timeout: closed by Ready; nil otherwise
	readied bool          // Ready has closed ready; guarded by the service's mu
}

// Ready tells the Manager that the service whose Run was given ctx is
// ready: an HTTP server once it listens, a consumer once connected (as a
// systemd Type=notify service sends READY=1). It matters only for services
// registered with [NotifyReady]: they are Starting, and not ready, from each
// call of Run until it calls Ready. For any other ctx Ready does nothing, so
// a Runner may call it whether or not it is registered so. A call from an
// attempt that has ended does nothing.
func Ready(ctx context.Context) {
	tok, ok := ctx.Value(readyKey{}).(*readyToken)
	if !ok {
		return
	}
	now := tok.m.instant(tok.m.clock.Now())
	s := tok.s
	s.mu.Lock()
	state, current := s.st.state(), s.st.attempts() == tok.attempt
	moved := current && state == StateStarting
	if moved {
		s.st.set(StateRunning, now, true)
	}
	// The start timeout is stopped by the attempt's Ready even once
	// shutdown has made it stopping or abandoned it (C9.4): it is not
	// ready then, but which came first, at one instant, must not decide
	// how it ends. (Once the attempt has ended its timer is stopped
	// already, and closing ready changes nothing.)
	disarm := current && tok.ready != nil && !tok.readied
	if disarm {
		tok.readied = true
	}
	s.mu.Unlock()
	if disarm {
		close(tok.ready)
	}
	if moved {
		s.openGate()
	}
}

// NotifyReady makes the service ready only once its Run calls [Ready], on
// each attempt, instead of as soon as Run is called. Until then it is
// Starting: readiness probes fail, and with [WithGatedStart] the next
// service waits.
func NotifyReady() ServiceOption {
	return func(c *serviceConfig) { c.notifyReady = true }
}

// ErrStartTimeout is the error of an attempt of a [NotifyReady] service
// that did not call [Ready] within the start timeout of [WithGatedStart]:
// a failure, after which the service is restarted with backoff. (An
// attempt that panics or calls runtime.Goexit after its start timeout
// keeps that ending, and its stack.)
var ErrStartTimeout = errors.New("lifecycle: not ready within the start timeout")

// startTimer is the start timeout of one attempt of a NotifyReady service
// under a gated start: if the attempt is not ready in time, its context is
// cancelled and, once Run returns, the attempt is a failure.
type startTimer struct {
	ready  chan struct{} // closed by Ready
	over   chan struct{} // closed when the attempt ends
	done   chan struct{} // closed when the timer's goroutine returns
	cancel context.CancelFunc
	fired  atomic.Bool
}

// armStartTimer starts the start timeout of the attempt tok stands for,
// and makes the attempt's context one it can cancel.
func (sv *supervisor) armStartTimer(tok *readyToken) *startTimer {
	own := sv.own
	ctx, cancel := context.WithCancel(own.runCtx)
	own.runCtx = ctx
	st := &startTimer{ready: make(chan struct{}), over: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	tok.ready = st.ready
	go st.run(sv.m.clock, sv.m.gate)
	return st
}

// run cancels the attempt's context if it is not ready within timeout.
func (st *startTimer) run(clock Clock, timeout time.Duration) {
	defer close(st.done)
	if wait(clock, timeout, st.ready, st.over) {
		st.fired.Store(true)
		st.cancel()
	}
}

// stop ends the timer with its attempt, and reports whether it fired: the
// attempt was not ready within the start timeout.
func (st *startTimer) stop() bool {
	close(st.over)
	<-st.done
	st.cancel()
	return st.fired.Load()
}
