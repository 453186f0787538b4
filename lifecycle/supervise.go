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
	m.names = nameSet{} // registration is closed: only Register reads it
	services, ordered := m.list(), m.ordered
	// halt tells the services, unless shutdown is ordered, that they are
	// to stop: Run's ctx is done, or shutdown has begun. One channel, so
	// that a restart delay waits on two, not three. Set under mu, where
	// shutdown reads haltStop after closing shut: one of the two calls it.
	haltCtx, haltStop := context.WithCancel(ctx)
	m.halt, m.haltStop = haltCtx.Done(), haltStop
	if m.shuttingDown() {
		haltStop()
	}
	// What ordered shutdown and a gated start need is made here, under mu,
	// so that a shutdown running at the same time sees each service either
	// not set up (Run not called) or whole.
	if ordered || m.gate > 0 {
		for _, s := range services {
			x := s.extra()
			if ordered {
				x.sctx.parent = ctx
			}
			if m.gate > 0 {
				x.gate = make(chan struct{})
			}
		}
	}
	m.runCtx, m.initial = ctx, m.backoff.Load().initial
	m.mu.Unlock()

	// Start one supervise loop per service, in registration order; none
	// once ctx is done, nor in an ordered shutdown once it has begun. (The
	// seed's unordered Stop does not keep Run from starting services; it
	// keeps them from being restarted.) With a gated start, each waits for
	// the one before it to be ready, or to have ended.
	wg := &m.runs
	wg.Add(len(services))
	gated := m.gate != 0 // WithGatedStart's timeout is positive
	for i, s := range services {
		// An ordered shutdown's turn may have claimed the loop first: then
		// it is never started, and the turn has nothing to wait for.
		if isDone(ctx) || (ordered && (m.shuttingDown() || !s.x.launch.CompareAndSwap(unlaunched, launched))) {
			for _, s := range services[i:] {
				m.neverStarted(s)
				wg.Done()
			}
			break
		}
		var x *svExtra
		if gated {
			x = s.x // read before the loop starts: at its first failure, the loop may set it
		}
		go loop(m, s, nil, nil)
		if x != nil && x.gate != nil {
			select {
			case <-x.gate:
			case <-ctx.Done():
			case <-m.shut:
			}
		}
	}

	// In an ordered shutdown each service has a context of its own, which
	// is not in ctx's set of children (see serviceCtx): once ctx is done,
	// cancel each.
	if ordered {
		<-ctx.Done()
		err := ctx.Err()
		for _, s := range services {
			schedpoint.Yield("run.cancel", nil)
			s.x.sctx.cancel(err)
		}
	}

	// Wait for every Runner to return, and for ctx: services that finished
	// for good end their loops before ctx is done.
	wg.Wait()
	<-ctx.Done()
	haltStop()
}

// extra returns s.x, making it if s has none. It is for Run's set-up, and
// is called with the Manager's mu held.
func (s *service) extra() *svExtra {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.x == nil {
		s.x = new(svExtra)
	}
	return s.x
}

// supervisor is the state of one service's supervise loop. It lives on
// the loop's goroutine's stack (after a Goexit, the goroutine that carries
// the loop on has its own copy): only that goroutine touches it, and an
// idle service costs no heap for it.
type supervisor struct {
	m       *Manager
	s       *service
	ctx     context.Context // Run's, or in an ordered shutdown the service's own
	attempt int             // attempts started so far
	delay   time.Duration   // the next restart delay, before jitter
	start   time.Time       // when the current attempt started
	over    bool            // finish has run: the loop is over
	calling bool            // Run is being called: contain has work if the loop's frame unwinds
	own     *loopOwn        // made at the first restart delay, or at the start for RestartLimit and NotifyReady
}

// loopOwn is what a supervise loop keeps besides its supervisor, made
// when first needed so that an idle service's stack does not carry it.
type loopOwn struct {
	timer *time.Timer // the restart delay's timer on the real clock, made at the first and reused
	fails failures    // recent failures, for RestartLimit
	// runCtx is the context of the current attempt of a NotifyReady
	// service: it carries the attempt's readyToken (and with a gated
	// start, is cancelled at the start timeout). nil: the supervisor's ctx.
	runCtx context.Context
	// For a NotifyReady service under a gated start: the current
	// attempt's start timeout.
	startTimer *startTimer
}

// The values of svExtra.launch.
const (
	unlaunched int32 = iota
	launched
	claimed
)

// svExtra is what only some services need: the settings Register gave
// them, what ordered shutdown, a gated start, RestartLimit or NotifyReady
// use, and what failures left behind, kept apart so that a service without
// them does not carry it. See service.x for who may write it.
type svExtra struct {
	cfg  serviceConfig // as Register's options set it
	fail *failStatus   // what failures left behind, made at the first; guarded by the service's mu

	// For an ordered shutdown (its parent nil, and all unused, otherwise):
	// the service's own context, set up by Run; launch, which says
	// whether Run has started the loop (launched) or the shutdown's turn
	// came first and claimed it (claimed), one compare-and-swap from
	// unlaunched deciding, once. Guarded by the service's mu: over says
	// the loop is over, and endedAt when (zero: it never started); ended
	// is made by a turn that waits for the loop, and closed when it is
	// over.
	sctx    serviceCtx
	launch  atomic.Int32
	over    bool
	endedAt time.Time
	ended   chan struct{}

	// For a gated start (nil and unused otherwise): gate is closed once
	// the service is first ready, or its loop is over, whichever is first;
	// gateOpen, guarded by the service's mu, says it is.
	gate     chan struct{}
	gateOpen bool
}

// neverStarted records that Run will never start s's loop: Run's ctx was
// done, or an ordered shutdown had begun, before its turn to start came.
func (m *Manager) neverStarted(s *service) {
	sv := supervisor{m: m, s: s}
	sv.finish(time.Time{}, StateRegistered)
}

// loop is the recipe of supervision (docs/contract.md, C2): run, and after
// each failure wait and run again, until the service stops. It runs s's
// loop with ctx (Run's, unless the service has its own) and the first
// restart delay. If a Runner panics or calls runtime.Goexit, its goroutine
// cannot go on: the loop goes on in a new goroutine (see contain), given
// the supervisor as carried and the attempt's ending as after. Either
// way, the loop ends here, once.
//
// The supervisor lives in loop's frame, which with the Runner's own frames
// is all an idle service has on its stack: keeping it small keeps nearly
// every service within the runtime's smallest stack (docs/performance.md,
// "Idle memory").
func loop(m *Manager, s *service, carried *supervisor, after *ending) {
	var sv supervisor
	if carried != nil {
		sv = *carried
	} else {
		ctx := m.runCtx
		if x := s.x; x.ordered() {
			ctx = &x.sctx
		}
		sv.m, sv.s, sv.ctx, sv.delay = m, s, ctx, m.initial
		if x := s.x; x != nil && (x.cfg.limit > 0 || x.cfg.notifyReady) {
			sv.own = new(loopOwn)
		}
	}
	if sv.m.labels {
		pprof.SetGoroutineLabels(sv.s.labelled())
	}
	defer sv.contain()
	for {
		var e ending
		if after != nil {
			e, after = *after, nil
		} else {
			if sv.done() {
				break
			}
			sv.begin()
			// Run is called from this frame, contain being its deferred
			// call: a frame per attempt would put every idle service
			// over the runtime's smallest stack (docs/performance.md,
			// "Idle memory"). The error is classified before calling is
			// cleared, so that an error whose methods panic (a typed nil
			// pointer's Error or Is, say) is contained like a panic.
			sv.calling = true
			e = runEnding(sv.s.runner.Run(sv.runCtx()))
			sv.calling = false
		}
		if !sv.afterAttempt(e) {
			break
		}
	}
	if !sv.over {
		sv.finish(sv.m.clock.Now(), StateStopped)
	}
	if own := sv.own; own != nil && own.timer != nil {
		own.timer.Stop()
	}
	sv.m.runs.Done()
}

// stopping reports whether the service is to stop: its context is done,
// or (unless shutdown is ordered, when each service's turn cancels its
// context) shutdown has begun.
func (sv *supervisor) stopping() bool {
	// ctx first: a Runner that returned because it saw ctx done may run
	// before a context derived from ctx (halt) is cancelled too.
	if sv.ordered() {
		return sv.done()
	}
	return isDone(sv.ctx) || isClosed(sv.m.halt)
}

// done reports whether the service's context is done, or Run's: in an
// ordered shutdown Run cancels the service's own context a moment after
// its own is done (see serviceCtx), and nothing the loop decides waits
// for that moment.
func (sv *supervisor) done() bool {
	if x := sv.s.x; x.ordered() {
		return x.sctx.cancelled() || isDone(sv.m.runCtx)
	}
	return isDone(sv.ctx)
}

// ordered reports whether the service's own turn in an ordered shutdown
// cancels its context.
func (sv *supervisor) ordered() bool { return sv.s.x.ordered() }

// ordered reports whether x is of a service in an ordered shutdown, with
// a context of its own; x may be nil.
func (x *svExtra) ordered() bool { return x != nil && x.sctx.parent != nil }

// finish records that the loop is over, at the instant at, leaving the
// service in state (unless a final state came first), and tells whoever
// waits for it: an ordered shutdown, a gated start. Later calls do
// nothing. It is called on the loop's goroutine, or on Run's for a loop
// that never started (state StateRegistered, at unused).
func (sv *supervisor) finish(at time.Time, state State) {
	if sv.over {
		return
	}
	sv.over = true
	if state != StateRegistered {
		sv.s.enter(state, sv.m.instant(at))
	}
	if sv.s.x != nil {
		sv.tell(at, state)
	}
}

// tell is finish's telling whoever waits for the loop to be over: a
// gated start, an ordered shutdown's turn.
func (sv *supervisor) tell(at time.Time, state State) {
	sv.s.openGate()
	if x := sv.s.x; x.ordered() {
		sv.s.mu.Lock()
		x.over, x.endedAt = true, at
		if x.ended != nil {
			close(x.ended)
		}
		sv.s.mu.Unlock()
	}
}

// openGate lets a gated start go on to the next service.
func (s *service) openGate() {
	x := s.x
	if x == nil || x.gate == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !x.gateOpen {
		x.gateOpen = true
		close(x.gate)
	}
}

// begin starts an attempt: it records it and makes what the Run call
// needs. (The call itself is loop's: begin's frame is off the stack while
// Run runs.)
func (sv *supervisor) begin() {
	m := sv.m
	schedpoint.Yield("supervise.run", sv.s)
	sv.attempt++
	sv.start = m.now()
	x := sv.s.x
	notify := x != nil && x.cfg.notifyReady
	sv.s.started(m.instant(sv.start), notify)
	if m.events != nil {
		sv.emitStarted()
	}
	if notify {
		sv.awaitReady()
	} else {
		sv.s.openGate() // ready as soon as it is called
	}
}

// emitStarted emits the AttemptStarted event.
func (sv *supervisor) emitStarted() {
	sv.m.emit(Event{Kind: AttemptStarted, Service: sv.s.name, Time: sv.start, Attempt: sv.attempt})
}

// awaitReady makes the context of an attempt of a NotifyReady service:
// one that carries the attempt's readyToken, and under a gated start one
// that its start timeout cancels.
//
//go:noinline
func (sv *supervisor) awaitReady() {
	m, own := sv.m, sv.own
	own.runCtx = sv.ctx
	tok := &readyToken{m: m, s: sv.s, attempt: sv.attempt}
	if m.gate > 0 {
		own.startTimer = sv.armStartTimer(tok)
	}
	own.runCtx = context.WithValue(own.runCtx, readyKey{}, tok)
}

// runCtx returns the context for the next call of Run: the
// supervisor's, or for a NotifyReady service the attempt's own.
func (sv *supervisor) runCtx() context.Context {
	if own := sv.own; own != nil && own.runCtx != nil {
		return own.runCtx
	}
	return sv.ctx
}

// contain is loop's deferred call. If the loop's frame is unwinding while
// Run is being called, Run did not return: it panicked (or classifying
// its error did), or it called runtime.Goexit. Either way this goroutine
// cannot go on: contain recovers a panic, with its stack, and carries the
// loop on in a new goroutine with a copy of the supervisor (this one is
// on the stack of the goroutine that is ending), given the attempt's
// ending.
func (sv *supervisor) contain() {
	if !sv.calling {
		return
	}
	sv.calling = false
	sv.carryOn(contained(recover(), sv.s.name))
}

// carryOn carries the loop on in a new goroutine, given the ending of the
// attempt whose Runner did not return.
func (sv *supervisor) carryOn(e ending) {
	go loop(nil, nil, sv.carried(), &e)
}

// carried returns a copy of sv, on the heap, for the goroutine that
// carries the loop on.
func (sv *supervisor) carried() *supervisor {
	c := *sv
	return &c
}

// afterAttempt handles the end of an attempt: it reports true if the service
// is to be run again, after waiting out the restart delay. The paths are
// apart (stopped, finished, retry) so that its own frame, on the stack of
// every service as it ends, stays small.
func (sv *supervisor) afterAttempt(e ending) bool {
	m := sv.m
	ran := m.clock.Since(sv.start)
	end := sv.start.Add(ran)
	if own := sv.own; own != nil && own.startTimer != nil {
		e = sv.startTimedOut(e)
	}
	stopping := sv.stopping()
	if m.events != nil {
		sv.emitEnded(e, end, ran, stopping)
	}
	switch {
	case stopping:
		sv.finish(end, StateStopped)
		sv.stopped(e, ran, !sv.done())
		return false
	case e.outcome == OutcomeFinished:
		sv.finished(end, ran)
		return false
	}
	return sv.retry(e, end, ran)
}

// startTimedOut ends the attempt's start timeout, and returns its ending:
// e, or ErrStartTimeout's if the timeout fired. A panic or Goexit keeps its
// own ending (and its stack): it is a failure either way.
func (sv *supervisor) startTimedOut(e ending) ending {
	st := sv.own.startTimer
	sv.own.startTimer = nil
	if st.stop() && e.outcome != OutcomePanic && e.outcome != OutcomeGoexit {
		e = ending{outcome: OutcomeError, err: fmt.Errorf("lifecycle: service %q not ready within its start timeout %v: %w",
			sv.s.name, sv.m.gate, ErrStartTimeout)}
	}
	return e
}

// emitEnded emits the AttemptEnded event.
func (sv *supervisor) emitEnded(e ending, end time.Time, ran time.Duration, stopping bool) {
	sv.m.emit(Event{Kind: AttemptEnded, Service: sv.s.name, Time: end, Attempt: sv.attempt,
		Outcome: e.outcome, Err: e.err, Duration: ran, Canceled: stopping})
}

// stopped logs the end of a Runner that ended once it was to stop, its
// loop over: it has done its job, whatever it returned; but a panic or
// Goexit is a bug worth a log line, and a return once shutdown has begun
// (its ctx still live) is worth one at Info. The log calls are functions
// of their own, so that stopped, on every service's path as it ends,
// keeps a small frame.
func (sv *supervisor) stopped(e ending, ran time.Duration, live bool) {
	switch {
	case e.outcome == OutcomePanic || e.outcome == OutcomeGoexit:
		sv.logFailure(e, ran, "lifecycle: service failed during shutdown", 0)
	case live:
		sv.logReturnedInShutdown(e)
	}
}

// logReturnedInShutdown logs at Info a Runner that returned once shutdown
// had begun, its ctx still live.
//
//go:noinline
func (sv *supervisor) logReturnedInShutdown(e ending) {
	sv.m.logAttrs(slog.LevelInfo, "lifecycle: service returned after shutdown began; not restarted", func() []slog.Attr {
		return []slog.Attr{slog.String("service", sv.s.name), slog.Int("attempt", sv.attempt),
			slog.String("outcome", e.outcome.String())}
	})
}

// finished ends the loop of a Runner that returned ErrFinished.
func (sv *supervisor) finished(end time.Time, ran time.Duration) {
	sv.finish(end, StateFinished)
	sv.m.logAttrs(slog.LevelInfo, "lifecycle: service finished", func() []slog.Attr {
		return []slog.Attr{slog.String("service", sv.s.name), slog.Int("attempt", sv.attempt), slog.Duration("ran", ran)}
	})
}

// retry handles a failure that ended at end after a run of ran: unless
// the service gives up, it waits out the restart delay and reports true,
// or reports false if the service is to stop meanwhile.
func (sv *supervisor) retry(e ending, end time.Time, ran time.Duration) bool {
	m := sv.m
	// The setting is read once per failure, so a SetBackoff made meanwhile
	// applies from here on: to the reset, and to the doubling.
	b := m.backoff.Load()
	text := "returned nil"
	if e.err != nil {
		text = errorText(e.err)
	}
	if x := sv.s.x; x != nil && x.cfg.limit > 0 && sv.own.fails.add(end, x.cfg.limit, x.cfg.window) {
		sv.s.failed(text, end, m.instant(end), ran, b.reset, time.Time{})
		sv.finish(end, StateGaveUp)
		sv.giveUp(e, end)
		return false
	}
	wait, kept := b.next(sv.delay, ran)
	wait = m.jitter.apply(wait)
	sv.s.failed(text, end, m.instant(end), ran, b.reset, end.Add(wait))
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
	halt := sv.m.halt
	if sv.ordered() {
		halt = sv.ctx.Done() // each turn cancels its ctx
	}
	schedpoint.Yield("supervise.sleep", sv.s)
	if !sv.m.real {
		return wait(sv.m.clock, d, halt, nil)
	}
	// On the real clock, one timer serves every restart of the loop.
	if sv.own == nil {
		sv.own = new(loopOwn)
	}
	return waitReusing(&sv.own.timer, d, halt)
}

// giveUp records that the service gave up after the failure e, which ended
// at end, and escalates if the service is essential.
func (sv *supervisor) giveUp(e ending, end time.Time) {
	m, c := sv.m, sv.s.x.cfg
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

// logFailure logs a failure at Error. (Not inlined: it is off the path
// every service takes, and inlined it would widen the frames on it.)
//
//go:noinline
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
