package main

// issue8Mutants are the planted bugs of issue 8 (docs/contract.md, C7 and
// C8): no restart once shutdown has begun, giving up, ordered shutdown,
// drain and Serve. Each is a bug a plausible change could make; TestSim
// catches each (docs/sim.md, "Shutdown has begun, giving up, ordered
// shutdown and Serve").
var issue8Mutants = []mutant{
	{
		Name: "ordered-cancel-forward",
		Why:  "the ordered shutdown takes the services in registration order, not reverse (C8.2)",
		Edits: []edit{
			{"(*Manager).shutdownInOrder", "i := len(services) - 1", "i := 0"},
			{"(*Manager).shutdownInOrder", "i >= 0", "i < len(services)"},
			{"(*Manager).shutdownInOrder", "i--", "i++"},
		},
	},
	{
		Name: "ordered-share-over-stoppers",
		Why:  "the ordered shutdown divides the budget over the Stoppers only, not over every service (C8.3)",
		Edits: []edit{{"(*Manager).shutdownInOrder",
			"(timeout - rep.Drain) / time.Duration(n)",
			"(timeout - rep.Drain) / time.Duration(func() int {\n" +
				"\t\tk := 0\n\t\tfor _, s := range services { if s.stopper() != nil { k++ } }\n" +
				"\t\treturn max(k, 1)\n\t}())"}},
	},
	{
		Name:  "ordered-run-not-awaited",
		Why:   "a turn cancels the service's Run but waits only for its Stop (C8.2)",
		Edits: []edit{{"(*Manager).stopService", "ended = loopEnded", ""}},
	},
	{
		Name: "restart-after-shutdown",
		Why:  "a Runner that returns after Stop began is a failure and is restarted, until Run's ctx is done (C7.1)",
		Edits: []edit{{"(*supervisor).stopping",
			"isDone(sv.ctx) || isClosed(sv.m.halt)",
			"isDone(sv.ctx)"}},
	},
	{
		Name: "ordered-start-after-shutdown",
		Why:  "Run called once an ordered shutdown has begun still starts the services (C7.2)",
		Edits: []edit{{"(*Manager).Run",
			"isDone(ctx) || (ordered && (m.shuttingDown() || !s.x.launch.CompareAndSwap(unlaunched, launched)))",
			"isDone(ctx) || (ordered && !s.x.launch.CompareAndSwap(unlaunched, launched))"}},
	},
	{
		Name: "giveup-one-late",
		Why:  "a service gives up at the failure after the one that makes n within the window (C7.3)",
		Edits: []edit{
			{"(*failures).add", "len(f.times) >= limit", "len(f.times) > limit"},
		},
	},
	{
		Name: "window-closed",
		Why:  "the restart window is closed, [t-w, t], so a failure exactly w before counts (C7.3)",
		Edits: []edit{{"(*failures).add",
			"!f.times[keep].After(from)",
			"f.times[keep].Before(from)"}},
	},
	{
		Name: "window-from-start",
		Why:  "failures are counted at their attempt's start, not at the instant they ended (C7.3)",
		Edits: []edit{{"(*supervisor).retry",
			"sv.own.fails.add(end, x.cfg.limit, x.cfg.window)",
			"sv.own.fails.add(sv.start, x.cfg.limit, x.cfg.window)"}},
	},
	{
		Name: "drain-outside-budget",
		Why:  "the drain is added to the shutdown's budget instead of counted inside it (C8.4)",
		Edits: []edit{{"(*Manager).shutdownInOrder",
			"(timeout - rep.Drain) / time.Duration(n)",
			"timeout / time.Duration(n)"}},
	},
	{
		Name: "run-abandoned-by-turn-time",
		Why: "a turn's Run is judged abandoned by how long the turn took, not by when the Run ended: one " +
			"that returns at the very instant of its deadline is in time (C8.3)",
		Edits: []edit{{"(*Manager).stopService",
			"!res.RunEnded.Before(res.Deadline)",
			"m.clock.Since(began) > budget"}},
	},
	{
		Name: "serve-ignores-escalation",
		Why:  "Serve waits for its ctx only: an Essential service that gives up does not shut the program down (C7.5, C8.5)",
		Edits: []edit{{"(*Manager).Serve",
			"<-m.escalated",
			"<-make(chan struct{})"}},
	},
	{
		Name: "serve-error-without-giveups",
		Why:  "Serve's error joins the report's errors only, not the services that gave up (C8.5)",
		Edits: []edit{{"(*Manager).Serve",
			"errors.Join(append(m.GaveUp(), rep.Err())...)",
			"errors.Join(rep.Err())"}},
	},
	{
		Name:  "giveup-not-listed",
		Why:   "a service that gives up is not listed by Manager.GaveUp (C7.4)",
		Edits: []edit{{"(*supervisor).giveUp", "m.gaveUp = append(m.gaveUp, err)", ""}},
	},
	{
		Name:  "canceled-by-ctx-only",
		Why:   "AttemptEnded says Canceled only when ctx is done, not once shutdown has begun (C7.1)",
		Edits: []edit{{"(*supervisor).emitEnded", "Canceled: stopping", "Canceled: isDone(sv.ctx)"}},
	},
	{
		Name:  "service-ctx-outlives-run",
		Why:   "in an ordered shutdown, Run's ctx done does not cancel the services' own contexts (C8.2)",
		Edits: []edit{{"(*Manager).Run", "s.x.sctx.cancel(err)", "_, _ = s, err"}},
	},
	{
		Name: "service-done-ignores-run",
		Why: "an ordered service's loop decides by its own context alone, not Run's too: a Runner that returns " +
			"once Run's ctx is done, before Run has cancelled its context, is a failure (C7.1, C8.2)",
		Edits: []edit{{"(*supervisor).done", "x.sctx.cancelled() || isDone(sv.m.runCtx)", "x.sctx.cancelled()"}},
		// The sim's Runners return on their context or on a timer, and
		// none at the instant Run's ctx is done but before Run has
		// cancelled theirs: a unit test holds that moment open.
		Suite: "./lifecycle",
	},
	{
		Name: "derived-ctx-not-cancelled",
		Why: "a service's own context, cancelled, does not cancel the contexts its Runner derived from it " +
			"(its AfterFunc registrations are dropped, not called)",
		Edits: []edit{{"(*serviceCtx).cancel", "a.f()", "_ = a"}},
		// The sim's Runners derive no contexts.
		Suite: "./lifecycle",
	},
	{
		Name: "ctx-closed-before-cancelled",
		Why: "a service context's Done closes before it is marked cancelled: a Runner woken by the close " +
			"reads Err as nil, and the loop, asking the mark, counts its return a failure",
		Edits: []edit{
			{"(*serviceCtx).cancel", "c.state.Store(ctxMade | ctxCancelled)", ""},
			{"(*serviceCtx).cancel", "if ch != nil { close(ch) }",
				"if ch != nil { close(ch) }; schedpoint.Yield(\"ctx.cancel\", nil); c.state.Store(ctxMade | ctxCancelled)"},
		},
		// Only an interleaving between the close and the mark shows it.
		Test: "TestExplore", Tags: "lifecyclesched",
	},
	{
		Name: "turn-wait-from-now",
		Why: "a turn waits its whole share from when it starts waiting, not until its deadline: " +
			"time spent before the wait overruns it (C8.3)",
		Edits: []edit{{"(*Manager).stopService", "budget - m.clock.Since(began)", "budget"}},
		// On an honest fake clock no time passes within a turn before its
		// wait; the lying clock's jumps land there too rarely to count on.
		// TestOrdered_TurnWaitsOnlyUntilItsDeadline's clock moves on at
		// every reading.
		Suite: "./lifecycle",
	},
}

func init() { mutants = append(mutants, issue8Mutants...) }
