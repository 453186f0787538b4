package main

// The planted bugs of the probes (docs/contract.md, C10) and of a Worker's
// tick failed records (issue 9, item 4), each judged by TestSim through
// its probe answers and log records.
func init() {
	mutants = append(mutants,
		mutant{
			Name: "probe-ready-during-drain",
			Why: "readiness's short answer skips the shutdown check: a probe without ?verbose answers 200 ok " +
				"while every service it checks is still ready, as during the drain",
			Edits: []edit{{"probe.quick", "if shut && !p.live { return false }", ""}},
		},
		mutant{
			Name:  "readiness-ignores-exclude",
			Why:   "readiness checks the services ?exclude names, as if no exclusion were given",
			Edits: []edit{{"probe.quick", "q.excluded(s)", "p.live && q.excluded(s)"}, {"probe.build", "q.excluded(s)", "p.live && q.excluded(s)"}, {"probe.buildJSON", "q.excluded(s)", "p.live && q.excluded(s)"}},
		},
		mutant{
			Name:  "probe-backing-off-ready",
			Why:   "the readiness probe counts a service backing off as ready, though States says it is not",
			Edits: []edit{{"probe.judge", "v.ok = ready || state == StateFinished", "v.ok = ready || state == StateFinished || state == StateBackingOff"}},
		},
		mutant{
			Name:  "liveness-essential-serve-fails",
			Why:   "liveness fails for an Essential service that gave up under Serve, which its escalation will restart",
			Edits: []edit{{"probe.judge", "escalates := serving && essential", "escalates := false && essential"}},
		},
		mutant{
			Name:  "probe-reason-at-since",
			Why:   "a verbose line with the wrong reason: a service that gave up, stopped or was abandoned is written \"<state> since T\", not \"<state> at T\"",
			Edits: []edit{{"appendReason", `buf = append(buf, " at "...)`, `buf = append(buf, " since "...)`}},
		},
		mutant{
			Name:  "probe-reason-until-since",
			Why:   "a verbose line with the wrong reason: \"backing off until T\" gives when the service began backing off, not when it restarts",
			Edits: []edit{{"probe.judge", "if !until.IsZero() { v.at = until }", "if !until.IsZero() { v.at = p.m.time(since) }"}},
		},
		mutant{
			Name:  "tick-failure-not-logged",
			Why:   "a Worker's tick that returns an error is recorded but not logged",
			Edits: []edit{{"(*Worker).tick", "w.logFailure(e.err)", ""}},
		},
		mutant{
			Name:  "tick-panic-logged",
			Why:   "a Worker's tick that panics is logged as a tick failure too, besides the Manager's record of the Run failure",
			Edits: []edit{{"(*Worker).failed", `w.tracker.Failure(fmt.Errorf("lifecycle: tick panicked: %v", pe.Value))`, `w.tracker.Failure(fmt.Errorf("lifecycle: tick panicked: %v", pe.Value)); w.logFailure(e.err)`}},
		},
	)
}
