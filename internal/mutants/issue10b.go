package main

// Planted concurrency bugs of issue 10, round b, to be merged into the
// catalogue (mutants.go) by the lead.
func init() {
	mutants = append(mutants,
		mutant{
			// The scheduling point stands for the preemption any unlocked
			// write of several fields allows: a reader between two of them.
			Name: "tracker-unlocked-write",
			Why: "Tracker.Failure writes its fields without t.mu, so a Health sample racing it " +
				"sees LastFailure and LastError of the new failure with the old ConsecutiveFailures",
			Test: "TestExplore", Tags: "lifecyclesched",
			Edits: []edit{
				{"(*Tracker).Failure", "t.mu.Lock()", ""},
				{"(*Tracker).Failure", "defer t.mu.Unlock()", ""},
				{"(*Tracker).Failure", "t.h.LastError = msg",
					"t.h.LastError = msg\n\tschedpoint.Yield(\"tracker.torn\", nil)"},
			},
		},
		mutant{
			// Preferring the other case, ended, is harmless: the verdict
			// travels with the value. Preferring the deadline is not,
			// once it skips the verdict.
			Name: "stop-select-prefers-deadline",
			Why: "the Manager's wait for a Stopper first checks its deadline in a non-blocking select and, " +
				"if it has passed, reports the call abandoned without taking the verdict: a call that " +
				"ended in time, descheduled before it sent its end, loses its error (neither reported nor logged)",
			Test: "TestSimSchedClock", Tags: "lifecyclesched",
			Edits: []edit{{"(*Manager).stopOne",
				`schedpoint.Yield("stop.select", nil)`,
				`schedpoint.Yield("stop.select", nil)
				select {
				case <-ctx.Done():
					return c.result(stopEnd{late: true})
				default:
				}`}},
		},
	)

	// stop-verdict-ignores-return is now a sim kill: the clock moving while
	// the Stopper's goroutine is parked between its verdict and its send
	// (TestSimSchedClock) makes the Manager see the deadline first.
	for i := range mutants {
		if mutants[i].Name == "stop-verdict-ignores-return" {
			mutants[i].Suite, mutants[i].Test, mutants[i].Tags = "", "TestSimSchedClock", "lifecyclesched"
			mutants[i].Why = "at the deadline the Manager reports abandoned even when the call already took the " +
				"in-time verdict, so its error is neither reported nor logged"
		}
	}
}
