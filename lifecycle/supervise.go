package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"
)

// Run runs every registered service until ctx is done, restarting each one
// that fails, and returns once ctx is done and every Runner has returned.
//
// Run starts one goroutine per service, in registration order; which Runner
// is called first is up to the scheduler. Every call of a Runner is made
// after a check that found ctx live, and once a service's goroutine has seen
// ctx done it starts nothing more: a ctx already done at the call starts
// nothing, and a call whose check came just before cancel() may begin while
// cancel() returns, with a ctx that is already done.
//
// Once shutdown has begun ([Manager.Stop], [Manager.Shutdown]), a Runner
// that returns is not a failure and is not restarted: the return is logged
// at Info, and a service waiting out a restart delay stops waiting. In an
// ordered shutdown (see [WithOrderedShutdown]) that holds for each service
// from its turn, when its context is cancelled; until then it is
// supervised as before.
//
// A Runner's failure (an error, a nil return, a panic or runtime.Goexit while
// ctx is live) is logged with the service name and the service is restarted
// after a backoff delay (see [Manager.SetBackoff]); nothing a Runner does can
// take the Manager down. Run does not return before ctx is done, even if
// every service has finished for good (see [ErrFinished]).
//
// Run may be called only once; a second call panics. Register panics once
// Run has been called.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		panic("lifecycle: Manager.Run called twice")
	}
	m.running = true
	services := m.services
	// halt tells the services, unless shutdown is ordered, that they are
	// to stop: Run's ctx is done, or shutdown has begun. One channel, so
	// that a restart delay waits on two, not three. Set under mu, where
	// shutdown reads haltStop after closing shut: one of the two calls it.
	haltCtx, haltStop := context.WithCancel(ctx)
	m.halt, m.haltStop = haltCtx.Done(), haltStop
	if m.shuttingDown() {
		haltStop()
	}
	// Every supervisor is made here, under mu, so that a shutdown running
	// at the same time sees each service either not started or whole.
	wg := &m.runs
	initial := m.backoff.Load().initial
	for _, s := range services {
		sv := &s.sv
		*sv = supervisor{m: m, s: s, ctx: ctx, delay: initial}
		if m.ordered || m.gate > 0 || s.cfg != (serviceConfig{}) {
			sv.x = new(svExtra)
		}
		if m.ordered {
			sv.ctx, sv.x.cancel = context.WithCancel(ctx)
			sv.x.ended = make(chan struct{})
		}
		if m.gate > 0 {
			sv.x.gate = make(chan struct{})
		}
		sv.set = true
	}
	m.mu.Unlock()

	// Start one supervise loop per service, in registration order; none
	// once ctx is done, nor in an ordered shutdown once it has begun. (The
	// seed's unordered Stop does not keep Run from starting services; it
	// keeps them from being restarted.) With a gated start, each waits for
	// the one before it to be ready, or to have ended.
	for i, s := range services {
		// An ordered shutdown's turn may have claimed the loop first: then
		// it is never started, and the turn has nothing to wait for.
		if isDone(ctx) || (m.ordered && m.shuttingDown()) || !s.sv.launch.CompareAndSwap(unlaunched, launched) {
			for _, s := range services[i:] {
				s.sv.finish(time.Time{}, StateRegistered) // never started
			}
			break
		}
		wg.Add(1)
		go s.sv.loop(nil)
		if x := s.sv.x; x != nil && x.gate != nil {
			select {
			case <-x.gate:
			case <-ctx.Done():
			case <-m.shut:
			}
		}
	}

	// Wait for every Runner to return, and for ctx: services that finished
	// for good end their loops before ctx is done.
	wg.Wait()
	<-ctx.Done()
	haltStop()
}

// supervisor is the state of one service's supervise loop, kept in its
// service. Only the loop's goroutine touches it (after a Goexit, the
// goroutine that carries the loop on), except as svExtra says.
type supervisor struct {
	m       *Manager
	s       *service
	ctx     context.Context // Run's, or in an ordered shutdown the service's own
	attempt int             // attempts started so far
	delay   time.Duration   // the next restart delay, before jitter
	start   time.Time       // when the current attempt started
	over    bool            // finish has run: the loop is over
	set     bool            // Run has set the supervisor up; guarded by the Manager's mu
	// launch says whether Run has started the loop (launched) or an
	// ordered shutdown's turn came first and claimed it (claimed); one
	// compare-and-swap from unlaunched decides, once.
	launch atomic.Int32
	x      *svExtra // what the opt-in features need; nil without them
}

// The values of supervisor.launch.
const (
	unlaunched int32 = iota
	launched
	claimed
)

// svExtra is the part of a supervisor that only ordered shutdown, a gated
// start, RestartLimit or NotifyReady use, kept apart so that a service
// without them does not carry it.
type svExtra struct {
	cancel context.CancelFunc // cancels the supervisor's ctx: nil unless shutdown is ordered
	fails  failures           // recent failures, for RestartLimit

	// runCtx is the context of the current attempt of a NotifyReady
	// service: it carries the attempt's readyToken (and with a gated
	// start, is cancelled at the start timeout). nil: the supervisor's ctx.
	runCtx context.Context
	// For a NotifyReady service under a gated start: the current
	// attempt's start timeout.
	startTimer *startTimer

	// For an ordered shutdown (nil and unused otherwise): ended is closed
	// as soon as the loop is over, before its last log line, and endedAt
	// says when (zero: the loop never started). The shutdown reads endedAt
	// once ended is closed.
	ended   chan struct{}
	endedAt time.Time

	// For a gated start (nil and unused otherwise): gate is closed once
	// the service is first ready, or its loop is over, whichever is first;
	// gateOpen, guarded by the service's mu, says it is.
	gate     chan struct{}
	gateOpen bool
}

// loop is the recipe of supervision (docs/contract.md, C2): run, and after
// each failure wait and run again, until the service stops. If a Runner
// calls runtime.Goexit, its goroutine cannot be saved: the loop goes on in
// a new goroutine, given the attempt's ending as after. Either way, the
// loop ends here, once.
func (sv *supervisor) loop(after *ending) {
	if sv.m.labels {
		pprof.SetGoroutineLabels(sv.s.labelled())
	}
	for {
		var e ending
		if after != nil {
			e, after = *after, nil
		} else {
			if isDone(sv.ctx) {
				break
			}
			e = sv.runOnce()
		}
		if !sv.afterAttempt(e) {
			break
		}
	}
	if !sv.over {
		sv.finish(sv.m.clock.Now(), StateStopped)
	}
	sv.m.runs.Done()
}

// stopping reports whether the service is to stop: its context is done,
// or (unless shutdown is ordered, when each service's turn cancels its
// context) shutdown has begun.
func (sv *supervisor) stopping() bool {
	// ctx first: a Runner that returned because it saw ctx done may run
	// before a context derived from ctx (halt) is cancelled too.
	return isDone(sv.ctx) || (!sv.ordered() && isClosed(sv.m.halt))
}

// ordered reports whether the service's own turn in an ordered shutdown
// cancels its context.
func (sv *supervisor) ordered() bool {
	return sv.x != nil && sv.x.cancel != nil
}

// finish records that the loop is over, at the instant at, leaving the
// service in state (unless a final state came first), and tells whoever
// waits for it: an ordered shutdown, a gated start. Later calls do
// nothing. It is called on the loop's goroutine, or on Run's for a loop
// that never started.
func (sv *supervisor) finish(at time.Time, state State) {
	if sv.over {
		return
	}
	sv.over = true
	if state != StateRegistered {
		sv.s.enter(state, at)
	}
	sv.openGate()
	if x := sv.x; x != nil && x.ended != nil {
		x.endedAt = at
		close(x.ended)
	}
}

// openGate lets a gated start go on to the next service.
func (sv *supervisor) openGate() {
	x := sv.x
	if x == nil || x.gate == nil {
		return
	}
	sv.s.mu.Lock()
	defer sv.s.mu.Unlock()
	if !x.gateOpen {
		x.gateOpen = true
		close(x.gate)
	}
}

// runOnce calls Run once and returns how it ended. If Run calls
// runtime.Goexit, runOnce does not return: a new goroutine carries the loop
// on.
func (sv *supervisor) runOnce() ending {
	m := sv.m
	schedpoint.Yield("supervise.run", sv)
	sv.attempt++
	sv.start = m.clock.Now()
	notify := sv.s.cfg.notifyReady
	sv.s.started(sv.start, notify)
	if m.events != nil {
		m.emit(Event{Kind: AttemptStarted, Service: sv.s.name, Time: sv.start, Attempt: sv.attempt})
	}
	if notify {
		x := sv.x
		x.runCtx = sv.ctx
		tok := &readyToken{sv: sv, attempt: sv.attempt}
		if m.gate > 0 {
			x.startTimer = sv.armStartTimer(tok)
		}
		x.runCtx = context.WithValue(x.runCtx, readyKey{}, tok)
	} else {
		sv.openGate() // ready as soon as it is called
	}
	return guard(sv.s.name, sv.call, sv.goexited, false)
}

func (sv *supervisor) call() ending {
	ctx := sv.ctx
	if x := sv.x; x != nil && x.runCtx != nil {
		ctx = x.runCtx
	}
	return runEnding(sv.s.runner.Run(ctx))
}

func (sv *supervisor) goexited(e ending) { go sv.loop(&e) }

// afterAttempt handles the end of an attempt: it reports true if the service
// is to be run again, after waiting out the restart delay.
func (sv *supervisor) afterAttempt(e ending) bool {
	m := sv.m
	ran := m.clock.Since(sv.start)
	end := sv.start.Add(ran)
	if x := sv.x; x != nil && x.startTimer != nil {
		st := x.startTimer
		x.startTimer = nil
		// A panic or Goexit keeps its own ending (and its stack): it is a
		// failure either way.
		if st.stop() && e.outcome != OutcomePanic && e.outcome != OutcomeGoexit {
			e = ending{outcome: OutcomeError, err: fmt.Errorf("lifecycle: service %q not ready within its start timeout %v: %w",
				sv.s.name, m.gate, ErrStartTimeout)}
		}
	}
	stopping := sv.stopping()
	if m.events != nil {
		m.emit(Event{Kind: AttemptEnded, Service: sv.s.name, Time: end, Attempt: sv.attempt,
			Outcome: e.outcome, Err: e.err, Duration: ran, Canceled: stopping})
	}

	// A Runner that ends once it is to stop has done its job, whatever it
	// returned; but a panic or Goexit is a bug worth a log line.
	if stopping {
		sv.finish(end, StateStopped)
		switch {
		case e.outcome == OutcomePanic || e.outcome == OutcomeGoexit:
			sv.logFailure(e, ran, "lifecycle: service failed during shutdown", 0)
		case !isDone(sv.ctx):
			m.logAttrs(slog.LevelInfo, "lifecycle: service returned after shutdown began; not restarted", func() []slog.Attr {
				return []slog.Attr{slog.String("service", sv.s.name), slog.Int("attempt", sv.attempt),
					slog.String("outcome", e.outcome.String())}
			})
		}
		return false
	}
	if e.outcome == OutcomeFinished {
		sv.finish(end, StateFinished)
		m.logAttrs(slog.LevelInfo, "lifecycle: service finished", func() []slog.Attr {
			return []slog.Attr{slog.String("service", sv.s.name), slog.Int("attempt", sv.attempt), slog.Duration("ran", ran)}
		})
		return false
	}
	// The setting is read once per failure, so a SetBackoff made meanwhile
	// applies from here on: to the reset, and to the doubling.
	b := m.backoff.Load()
	sv.s.failed(e.err, end, ran, b.reset)
	if c := sv.s.cfg; c.limit > 0 && sv.x.fails.add(end, c.limit, c.window) {
		sv.finish(end, StateGaveUp)
		sv.giveUp(e, end)
		return false
	}
	wait, kept := b.next(sv.delay, ran)
	wait = m.jitter.apply(wait)
	sv.s.backingOff(end, end.Add(wait))
	sv.logFailure(e, ran, "lifecycle: service failed; restarting", wait)
	if m.events != nil {
		m.emit(Event{Kind: BackingOff, Service: sv.s.name, Time: m.clock.Now(), Attempt: sv.attempt, Duration: wait})
	}
	if !sv.backOff(wait) || sv.stopping() {
		sv.finish(m.clock.Now(), StateStopped)
		return false
	}
	sv.delay = kept
	return true
}

// backOff waits d before a restart and reports true, or reports false as
// soon as the service is to stop. The caller has just found it not
// stopping, and checks again after the wait.
func (sv *supervisor) backOff(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	halt := sv.m.halt
	if sv.ordered() {
		halt = sv.ctx.Done() // each turn cancels its ctx
	}
	schedpoint.Yield("supervise.sleep", sv)
	return wait(sv.m.clock, d, halt, nil)
}

// giveUp records that the service gave up after the failure e, which ended
// at end, and escalates if the service is essential.
func (sv *supervisor) giveUp(e ending, end time.Time) {
	m, c := sv.m, sv.s.cfg
	err := &GiveUpError{Service: sv.s.name, Failures: c.limit, Window: c.window, At: end, Last: e.err}
	m.mu.Lock()
	m.gaveUp = append(m.gaveUp, err)
	m.mu.Unlock()
	sv.logFailure(e, end.Sub(sv.start), "lifecycle: service gave up: too many failures; not restarted", 0)
	if m.events != nil {
		m.emit(Event{Kind: GaveUp, Service: sv.s.name, Time: end, Attempt: sv.attempt, Outcome: e.outcome, Err: err})
	}
	if c.essential {
		m.escalate.Do(func() { close(m.escalated) })
	}
}

func (sv *supervisor) logFailure(r ending, ran time.Duration, msg string, delay time.Duration) {
	sv.m.logAttrs(slog.LevelError, msg, func() []slog.Attr {
		attrs := []slog.Attr{
			slog.String("service", sv.s.name),
			slog.Int("attempt", sv.attempt),
			slog.String("outcome", r.outcome.String()),
			slog.Duration("ran", ran),
		}
		if r.err != nil {
			attrs = append(attrs, slog.String("error", errorText(r.err)))
		}
		if delay > 0 {
			attrs = append(attrs, slog.Duration("restart_in", delay))
		}
		if pe, ok := r.err.(*PanicError); ok {
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
		return attrs
	})
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// isDone reports whether ctx is done, as ctx.Err() != nil does, but without
// a lock: once a cancelCtx is cancelled, its Err receives from Done, which
// locks the channel, and every service that ends at one cancellation would
// contend for that lock (BenchmarkStartCancel, docs/performance.md).
func isDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
