package main

// A mutant is one planted bug: a set of edits of the library's source (see
// [edit]), each naming the function it rewrites and the expression or
// statement it rewrites there, so that a mutant survives refactors of the
// code around it and fails loudly once the code it targets has changed.
type mutant struct {
	Name  string
	Why   string // the bug, as a reviewer would describe it
	Edits []edit
	// Suite, if set, is the package whose tests must catch the bug instead
	// of the sim: for a bug that only shows under an interleaving virtual
	// time cannot force. Its Why says why.
	Suite string
	// Test, if set, is the sim test that catches the bug instead of
	// TestSim (TestSimLies: time that lies; TestSimSched: the seeded
	// scheduler), and Tags the build tags it needs (lifecyclesched).
	Test, Tags string
}

// mutants is the catalogue. Each is a bug a plausible change could make.
var mutants = []mutant{
	{
		Name: "stop-forward-order",
		Why:  "Stoppers called in registration order instead of reverse",
		Edits: []edit{
			{"(*Manager).shutdown", "i := len(stoppers) - 1", "i := 0"},
			{"(*Manager).shutdown", "i >= 0", "i < len(stoppers)"},
			{"(*Manager).shutdown", "i--", "i++"},
		},
	},
	{
		Name: "share-over-all-services",
		Why:  "the timeout is divided by every service, not only by the Stoppers",
		Edits: []edit{{"(*Manager).shutdown",
			"timeout / time.Duration(n)",
			"timeout / time.Duration(len(services))"}},
	},
	{
		Name: "backoff-never-reset",
		Why:  "a long run does not start the doubling again",
		Edits: []edit{{"(*backoff).next",
			"delay = b.initial",
			"_ = b.initial"}},
	},
	{
		Name:  "reset-strict",
		Why:   "the reset window compared with > instead of >=",
		Edits: []edit{{"(*backoff).next", "ran >= b.reset", "ran > b.reset"}},
	},
	{
		Name:  "reset-counts-backoff",
		Why:   "the reset window counts the backoff wait as running time",
		Edits: []edit{{"(*backoff).next", "ran >= b.reset", "ran+delay >= b.reset"}},
	},
	{
		Name:  "double-before-first-wait",
		Why:   "the delay is doubled before the first restart",
		Edits: []edit{{"loop", "sv.m, sv.s, sv.ctx, sv.delay = m, s, ctx, m.initial", "sv.m, sv.s, sv.ctx, sv.delay = m, s, ctx, 2*m.initial"}},
	},
	{
		Name: "cap-off-by-one",
		Why:  "the maximum delay is exceeded by one nanosecond",
		Edits: []edit{{"(*backoff).next",
			"min(double(delay), b.maximum)",
			"min(double(delay), b.maximum+1)"}},
	},
	{
		Name: "doubling-overflows",
		Why:  "doubling a huge delay overflows instead of saturating",
		Edits: []edit{{"double",
			"if d > math.MaxInt64/2 { return math.MaxInt64 }",
			""}},
	},
	{
		// The loop checks ctx before every attempt, so a wait cut short
		// that carries on must also skip that check to restart anything.
		Name: "restart-after-cancel",
		Why:  "a backoff wait cut short by cancellation restarts the service",
		Edits: []edit{
			{"loop", "sv.done()", "false"},
			{"(*supervisor).retry",
				"if !sv.backOff(wait) || sv.stopping() { sv.finish(m.clock.Now(), StateStopped); return false }",
				"sv.backOff(wait)"},
		},
	},
	{
		Name: "setbackoff-clamps-at-once",
		Why:  "a SetBackoff while running clamps the very next wait into the new [initial, maximum] instead of following the recipe",
		Edits: []edit{{"(*supervisor).retry",
			"wait, kept := b.next(sv.delay, ran)",
			"wait, kept := b.next(min(max(sv.delay, b.initial), b.maximum), ran)"}},
	},
	{
		Name: "setbackoff-mid-iteration",
		Why:  "a SetBackoff made during a wait caps that iteration's doubling, before the next iteration",
		Edits: []edit{{"(*supervisor).retry",
			"sv.delay = kept",
			"sv.delay = min(kept, m.backoff.Load().maximum)"}},
	},
	{
		Name: "nil-return-finishes",
		Why:  "a Runner returning nil is treated as done for good, not restarted",
		Edits: []edit{{"runEnding",
			"ending{outcome: OutcomeNil}",
			"ending{outcome: OutcomeFinished}"}},
	},
	{
		Name:  "finished-unwrapped-only",
		Why:   "ErrFinished matched with == so a wrapped one restarts the service",
		Edits: []edit{{"runEnding", "errors.Is(err, ErrFinished)", "err == ErrFinished"}},
	},
	{
		Name:  "goexit-ends-loop",
		Why:   "a Runner calling runtime.Goexit is never restarted",
		Edits: []edit{{"(*supervisor).carryOn", "go loop(nil, nil, sv.carried(), &e)", "if e.outcome == OutcomeGoexit { sv.m.runs.Done() } else { go loop(nil, nil, sv.carried(), &e) }"}},
	},
	{
		Name:  "run-returns-before-runners",
		Why:   "Run returns at cancellation without waiting for its Runners",
		Edits: []edit{{"(*Manager).Run", "wg.Wait()", ""}},
	},
	{
		Name: "stop-waits-for-ignorer",
		Why:  "a Stopper that ignores its context is waited for past its deadline",
		Edits: []edit{{"(*stopCall).atDeadline",
			"c.decided.CompareAndSwap(false, true)",
			"false && c.decided.CompareAndSwap(false, true)"}},
	},
	{
		// A tick's panic is carried on (raised again); a Stop's must not be.
		Name: "stop-panic-not-contained",
		Why:  "a panicking Stopper takes the program down",
		Edits: []edit{{"stopDidNotReturn",
			"if e.outcome == OutcomeGoexit { exit(e) }",
			"if e.outcome == OutcomeGoexit { exit(e) } else { panic(e.err) }"}},
	},
	{
		Name: "deadline-instant-in-time",
		Why: "a Stopper returning once its deadline passed counts as in time if it beats the Manager " +
			"to the verdict (neither ctx nor the clock consulted); caught when the deadline is delivered late",
		Test: "TestSimLies",
		Edits: []edit{{"(*Manager).callStop",
			"late := ctx.Err() != nil || !m.clock.Now().Before(deadline)",
			"late := false"}},
	},
	{
		Name: "stop-verdict-no-clock",
		Why: "the overrun fault of issue 7: lateness judged by ctx.Err() alone, so a Stopper still running " +
			"at its deadline by the Clock is reported in time when the ctx's timer is delivered late",
		Test: "TestSimLies",
		Edits: []edit{{"(*Manager).callStop",
			"late := ctx.Err() != nil || !m.clock.Now().Before(deadline)",
			"late := ctx.Err() != nil"}},
	},
	{
		Name: "shutdown-check-then-act",
		Why: "Shutdown's first-call check and the set of m.stopping are not under one lock " +
			"(the scheduling point stands for the lock acquisition between them): two concurrent " +
			"Shutdowns both do the work and call every Stopper twice",
		Test: "TestSimSched", Tags: "lifecyclesched",
		Edits: []edit{{"(*Manager).Shutdown",
			"m.stopping = st",
			"m.stopMu.Unlock()\n\tschedpoint.Yield(\"shutdown.set\", nil)\n\tm.stopMu.Lock()\n\tm.stopping = st"}},
	},
	{
		Name: "shutdown-unlocked-fast-path",
		Why: "Shutdown checks m.stopping before taking the lock and not again under it " +
			"(double-checked locking without the second check): two concurrent Shutdowns both do the work",
		Test: "TestSimSched", Tags: "lifecyclesched",
		Edits: []edit{
			{"(*Manager).Shutdown",
				"m.stopMu.Lock()",
				"if st := m.stopping; st != nil { <-st.done; return st.report }\n" +
					"\tschedpoint.Yield(\"shutdown.lock\", nil)\n\tm.stopMu.Lock()"},
			{"(*Manager).Shutdown", "m.stopping == nil", "true"},
		},
	},
	{
		Name: "stop-verdict-ignores-return",
		Why: "at the deadline the Manager reports abandoned even when the call already ended in time, " +
			"so its error is neither reported nor logged; needs the real-clock race, forced by a unit test",
		Edits: []edit{{"(*stopCall).atDeadline",
			"c.decided.CompareAndSwap(false, true)",
			"c.decided.CompareAndSwap(false, true) || true"}},
		Suite: "./lifecycle",
	},
	{
		Name: "error-text-unguarded",
		Why: "a failure is logged with err.Error(), which panics for an error whose Error method panics " +
			"(a typed nil pointer's, say); the logger contains the panic, and the failure goes unlogged",
		Edits: []edit{{"(*supervisor).logFailure",
			"errorText(r.err)",
			"r.err.Error()"}},
	},
	{
		Name:  "stop-zero-calls-nothing",
		Why:   "Stop with timeout <= 0 skips the Stoppers instead of calling them expired",
		Edits: []edit{{"(*Manager).shutdown", "i >= 0", "i >= 0 && timeout > 0"}},
	},
	{
		Name: "health-order-reversed",
		Why:  "Health lists reporters in reverse registration order",
		Edits: []edit{{"(*Manager).Health",
			"out[i] = m.health(s)",
			"out[len(reporters)-1-i] = m.health(s)"}},
	},
	{
		Name: "health-name-kept",
		Why:  "Health keeps the name a service reports instead of its registration name",
		Edits: []edit{{"(*Manager).health",
			"h.Name = s.name",
			`if h.Name == "" { h.Name = s.name }`}},
	},
	{
		Name: "health-panic-silent",
		Why:  "a panicking Health gives an entry that does not say it panicked",
		Edits: []edit{{"(*Manager).health",
			`WorkerHealth{Name: s.name, LastError: fmt.Sprintf("lifecycle: Health of service %q panicked: %v", s.name, v)}`,
			"WorkerHealth{Name: s.name}"}},
	},
	{
		// The wait is jittered in place; keep the unjittered one aside.
		Name: "event-delay-before-jitter",
		Why:  "the BackingOff event reports the delay before jitter, not the one waited",
		Edits: []edit{
			{"(*supervisor).retry",
				"wait, kept := b.next(sv.delay, ran)",
				"wait, kept := b.next(sv.delay, ran)\n\tunjittered := wait"},
			{"(*supervisor).retry", "Duration: wait", "Duration: unjittered"},
		},
	},
}
