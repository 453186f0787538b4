package main

// The planted bugs of state and readiness (docs/contract.md, C9), each
// judged by TestSim through its States samples, events and attempts.
func init() {
	mutants = append(mutants,
		mutant{
			Name:  "backing-off-ready",
			Why:   "a service backing off after a failure is reported ready",
			Edits: []edit{{"(*service).failed", "s.st.set(StateBackingOff, at, false)", "s.st.set(StateBackingOff, at, true)"}},
		},
		mutant{
			Name:  "ready-since-at-call",
			Why:   "a state late by one event: Ready makes the service running but leaves Since at the call of Run",
			Edits: []edit{{"Ready", "s.st.set(StateRunning, now, true)", "s.st.set(StateRunning, s.st.since, true); _ = now"}},
		},
		mutant{
			Name:  "turn-stopping-late",
			Why:   "a state late by one event: an ordered turn makes its service stopping only when it calls a Stop, so one without a Stopper goes from running straight to stopped",
			Edits: []edit{{"(*Manager).stopService", "s.stopping(m.instant(began))", ""}},
		},
		mutant{
			Name:  "gate-not-waiting",
			Why:   "the gated start does not wait: Run starts each service without waiting for the one before to be ready",
			Edits: []edit{{"(*Manager).Run", "x != nil && x.gate != nil", "false"}},
		},
		mutant{
			Name:  "start-timeout-off-by-one",
			Why:   "the start timeout fires 1ns late",
			Edits: []edit{{"(*startTimer).run", "wait(clock, timeout, st.ready, st.over)", "wait(clock, timeout+1, st.ready, st.over)"}},
		},
		mutant{
			Name:  "start-timeout-not-a-failure",
			Why:   "an attempt cancelled by its start timeout is not reported as one (no ErrStartTimeout): it fails with whatever Run returned",
			Edits: []edit{{"(*supervisor).startTimedOut", "st.stop()", "st.stop() && false"}},
		},
		mutant{
			Name:  "failures-not-reset",
			Why:   "ConsecutiveFailures is not reset by a run as long as the backoff reset window",
			Edits: []edit{{"(*service).failed", "if ran >= reset { f.consecutive = 0 }", ""}},
		},
		mutant{
			Name:  "ready-from-stale-attempt",
			Why:   "Ready from an attempt that has ended is accepted while a later attempt is starting",
			Edits: []edit{{"Ready", "moved := current && state == StateStarting", "moved := state == StateStarting"}},
		},
		mutant{
			Name: "ready-refused-once-stopping",
			Why: "Ready from an attempt that shutdown has made stopping (or abandoned) does not stop its start " +
				"timeout, which then cancels it: how it ends depends on which came first at one instant (C9.4)",
			Edits: []edit{{"Ready", "disarm := current && tok.ready != nil && !tok.readied", "disarm := moved && tok.ready != nil && !tok.readied"}},
		},
		mutant{
			Name:  "stopping-keeps-ready",
			Why:   "a service whose Stop was called, or whose turn began, stays ready while it stops",
			Edits: []edit{{"(*service).stopping", "s.st.set(StateStopping, at, false)", "s.st.set(StateStopping, at, s.st.ready())"}},
		},
		mutant{
			Name:  "abandoned-replaces-final",
			Why:   "an abandoned Stop replaces a final state other than stopped: a service that finished or gave up is reported abandoned",
			Edits: []edit{{"(*service).enter", "!now.final() || (state == StateAbandoned && now == StateStopped)", "!now.final() || state == StateAbandoned"}},
		},
	)
}
