package main

// Planted concurrency bugs of issue 10, round b: to be merged into the
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
	)
}
