package main

// A mutant is one planted bug: a set of exact rewrites of the library's
// source. Each Old must occur exactly once in its file, so a mutant that no
// longer matches the code fails loudly instead of silently testing nothing.
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

type edit struct {
	File     string // relative to the module root
	Old, New string
}

// mutants is the catalogue. Each is a bug a plausible change could make.
var mutants = []mutant{
	{
		Name: "stop-forward-order",
		Why:  "Stoppers called in registration order instead of reverse",
		Edits: []edit{{"lifecycle/stop.go",
			"for i := len(stoppers) - 1; i >= 0; i-- {",
			"for i := range stoppers {"}},
	},
	{
		Name: "share-over-all-services",
		Why:  "the timeout is divided by every service, not only by the Stoppers",
		Edits: []edit{{"lifecycle/stop.go",
			"rep.Budget = timeout / time.Duration(n)",
			"rep.Budget = timeout / time.Duration(len(services))"}},
	},
	{
		Name: "backoff-never-reset",
		Why:  "a long run does not start the doubling again",
		Edits: []edit{{"lifecycle/supervise.go",
			"if ran >= b.reset {\n\t\tsv.delay = b.initial\n\t}",
			"if ran >= b.reset {\n\t\t_ = b.initial\n\t}"}},
	},
	{
		Name: "reset-strict",
		Why:  "the reset window compared with > instead of >=",
		Edits: []edit{{"lifecycle/supervise.go",
			"if ran >= b.reset {",
			"if ran > b.reset {"}},
	},
	{
		Name: "reset-counts-backoff",
		Why:  "the reset window counts the backoff wait as running time",
		Edits: []edit{{"lifecycle/supervise.go",
			"if ran >= b.reset {",
			"if ran+sv.delay >= b.reset {"}},
	},
	{
		Name: "double-before-first-wait",
		Why:  "the delay is doubled before the first restart",
		Edits: []edit{{"lifecycle/supervise.go",
			"delay: initial, after: prev}",
			"delay: 2 * initial, after: prev}"}},
	},
	{
		Name: "cap-off-by-one",
		Why:  "the maximum delay is exceeded by one nanosecond",
		Edits: []edit{{"lifecycle/supervise.go",
			"sv.delay = min(double(sv.delay), b.maximum)",
			"sv.delay = min(double(sv.delay), b.maximum+1)"}},
	},
	{
		Name: "doubling-overflows",
		Why:  "doubling a huge delay overflows instead of saturating",
		Edits: []edit{{"lifecycle/backoff.go",
			"if d > math.MaxInt64/2 {\n\t\treturn math.MaxInt64\n\t}\n\treturn 2 * d",
			"_ = math.MaxInt64\n\treturn 2 * d"}},
	},
	{
		Name: "restart-after-cancel",
		Why:  "a backoff wait cut short by cancellation restarts the service",
		Edits: []edit{
			{"lifecycle/supervise.go", "for sv.ctx.Err() == nil {", "for {"},
			{"lifecycle/clock.go", "case <-ctx.Done():\n\t\t\tstop()\n\t\t\treturn false", "case <-ctx.Done():\n\t\t\tstop()\n\t\t\treturn true"},
		},
	},
	{
		Name: "setbackoff-clamps-at-once",
		Why:  "a SetBackoff while running clamps the very next wait into the new [initial, maximum] instead of following the recipe",
		Edits: []edit{{"lifecycle/supervise.go",
			"delay := m.jitter.apply(sv.delay)",
			"sv.delay = min(max(sv.delay, b.initial), b.maximum)\n\tdelay := m.jitter.apply(sv.delay)"}},
	},
	{
		Name: "setbackoff-mid-iteration",
		Why:  "a SetBackoff made during a wait caps that iteration's doubling, before the next iteration",
		Edits: []edit{{"lifecycle/supervise.go",
			"sv.delay = min(double(sv.delay), b.maximum)",
			"sv.delay = min(double(sv.delay), m.backoff.Load().maximum)"}},
	},
	{
		Name: "nil-return-finishes",
		Why:  "a Runner returning nil is treated as done for good, not restarted",
		Edits: []edit{{"lifecycle/supervise.go",
			"return result{outcome: OutcomeNil}",
			"return result{outcome: OutcomeFinished}"}},
	},
	{
		Name: "finished-unwrapped-only",
		Why:  "ErrFinished matched with == so a wrapped one restarts the service",
		Edits: []edit{
			{"lifecycle/supervise.go", "case errors.Is(err, ErrFinished):", "case err == ErrFinished:"},
			{"lifecycle/supervise.go", "func classify(err error) result {", "func classify(err error) result {\n\t_ = errors.Is"},
		},
	},
	{
		Name: "goexit-ends-loop",
		Why:  "a Runner calling runtime.Goexit is never restarted",
		Edits: []edit{{"lifecycle/supervise.go",
			"go sv.resume(r)",
			"sv.wg.Done()"}},
	},
	{
		Name: "run-returns-before-runners",
		Why:  "Run returns at cancellation without waiting for its Runners",
		Edits: []edit{{"lifecycle/supervise.go",
			"wg.Wait()\n\t<-ctx.Done()",
			"<-ctx.Done()"}},
	},
	{
		Name: "stop-waits-for-ignorer",
		Why:  "a Stopper that ignores its context is waited for past its deadline",
		Edits: []edit{{"lifecycle/stop.go",
			"if v.CompareAndSwap(undecided, abandoned) {",
			"if false && v.CompareAndSwap(undecided, abandoned) {"}},
	},
	{
		Name: "stop-panic-not-contained",
		Why:  "a panicking Stopper takes the program down",
		Edits: []edit{{"lifecycle/stop.go",
			"if v := recover(); v != nil {\n\t\t\t\tend = stopEnd{outcome: OutcomePanic",
			"if v := recover(); v != nil {\n\t\t\t\tpanic(v)\n\t\t\t\tend = stopEnd{outcome: OutcomePanic"}},
	},
	{
		Name: "deadline-instant-in-time",
		Why: "a Stopper returning once its deadline passed counts as in time if it beats the Manager " +
			"to the verdict (neither ctx nor the clock consulted); caught when the deadline is delivered late",
		Test: "TestSimLies",
		Edits: []edit{{"lifecycle/stop.go",
			"end.late = ctx.Err() != nil || !m.clock.Now().Before(deadline) || !v.CompareAndSwap(undecided, inTime)",
			"end.late = !v.CompareAndSwap(undecided, inTime)"}},
	},
	{
		Name: "stop-verdict-no-clock",
		Why: "the overrun fault of issue 7: lateness judged by ctx.Err() alone, so a Stopper still running " +
			"at its deadline by the Clock is reported in time when the ctx's timer is delivered late",
		Test: "TestSimLies",
		Edits: []edit{{"lifecycle/stop.go",
			"end.late = ctx.Err() != nil || !m.clock.Now().Before(deadline) || !v.CompareAndSwap(undecided, inTime)",
			"end.late = ctx.Err() != nil || !v.CompareAndSwap(undecided, inTime)"}},
	},
	{
		Name: "shutdown-check-then-act",
		Why: "Shutdown's first-call check and the set of m.stopping are not under one lock " +
			"(the scheduling point stands for the lock acquisition between them): two concurrent " +
			"Shutdowns both do the work and call every Stopper twice",
		Test: "TestSimSched", Tags: "lifecyclesched",
		Edits: []edit{{"lifecycle/stop.go",
			"\tst := &stopRun{done: make(chan struct{})}\n\tm.stopping = st\n\tm.stopMu.Unlock()",
			"\tm.stopMu.Unlock()\n\tschedpoint.Yield(\"shutdown.set\", nil)\n\tst := &stopRun{done: make(chan struct{})}\n" +
				"\tm.stopMu.Lock()\n\tm.stopping = st\n\tm.stopMu.Unlock()"}},
	},
	{
		Name: "shutdown-unlocked-fast-path",
		Why: "Shutdown checks m.stopping before taking the lock and not again under it " +
			"(double-checked locking without the second check): two concurrent Shutdowns both do the work",
		Test: "TestSimSched", Tags: "lifecyclesched",
		Edits: []edit{{"lifecycle/stop.go",
			"\tm.stopMu.Lock()\n\tif st := m.stopping; st != nil {\n\t\tm.stopMu.Unlock()\n\t\t<-st.done",
			"\tif st := m.stopping; st != nil {\n\t\t<-st.done\n\t\treturn st.report\n\t}\n" +
				"\tschedpoint.Yield(\"shutdown.lock\", nil)\n\tm.stopMu.Lock()\n\tif false {\n\t\tst := m.stopping\n\t\t<-st.done"}},
	},
	{
		Name: "stop-verdict-ignores-return",
		Why: "at the deadline the Manager reports abandoned even when the call already ended in time, " +
			"so its error is neither reported nor logged; needs the real-clock race, forced by a unit test",
		Edits: []edit{{"lifecycle/stop.go",
			"if v.CompareAndSwap(undecided, abandoned) {",
			"if v.CompareAndSwap(undecided, abandoned) || true {"}},
		Suite: "./lifecycle",
	},
	{
		Name: "error-text-unguarded",
		Why: "a failure is logged with err.Error(), which panics for a typed nil error and kills the process; " +
			"the sim's services return no such errors, a unit test does",
		Edits: []edit{{"lifecycle/supervise.go",
			`slog.String("error", errorText(r.err))`,
			`slog.String("error", r.err.Error())`}},
		Suite: "./lifecycle",
	},
	{
		Name: "stop-zero-calls-nothing",
		Why:  "Stop with timeout <= 0 skips the Stoppers instead of calling them expired",
		Edits: []edit{{"lifecycle/stop.go",
			"for i := len(stoppers) - 1; i >= 0; i-- {",
			"for i := len(stoppers) - 1; i >= 0 && timeout > 0; i-- {"}},
	},
	{
		Name: "health-order-reversed",
		Why:  "Health lists reporters in reverse registration order",
		Edits: []edit{{"lifecycle/health.go",
			"out[i] = m.health(s)",
			"out[len(reporters)-1-i] = m.health(s)"}},
	},
	{
		Name: "health-name-kept",
		Why:  "Health keeps the name a service reports instead of its registration name",
		Edits: []edit{{"lifecycle/health.go",
			"h.Name = s.name\n\treturn h",
			"if h.Name == \"\" {\n\t\th.Name = s.name\n\t}\n\treturn h"}},
	},
	{
		Name: "health-panic-silent",
		Why:  "a panicking Health gives an entry that does not say it panicked",
		Edits: []edit{{"lifecycle/health.go",
			"h = WorkerHealth{Name: s.name, LastError: fmt.Sprintf(\"lifecycle: Health of service %q panicked: %v\", s.name, v)}",
			"h = WorkerHealth{Name: s.name}; _ = fmt.Sprint"}},
	},
	{
		Name: "event-delay-before-jitter",
		Why:  "the BackingOff event reports the delay before jitter, not the one waited",
		Edits: []edit{{"lifecycle/supervise.go",
			"Attempt: sv.attempt, Duration: delay})",
			"Attempt: sv.attempt, Duration: sv.delay})"}},
	},
}
