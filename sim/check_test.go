package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/sim"
)

// checkedSchedule has something for every checker to look at.
var checkedSchedule = sim.Schedule{
	CancelAt: 100 * s1, StopAt: 50 * s1, StopTimeout: 3 * s1,
	HealthAt:  []time.Duration{0, 7 * s1, 20 * s1},
	HealthVia: []string{sim.ViaCall, sim.ViaCall, sim.ViaGet},
	Misuse:    []sim.Misuse{{Kind: "Register a duplicate name"}, {At: s1, Kind: "a second Run"}},
	Services: []sim.Service{
		{Steps: fails(5, sim.Step{End: sim.Error}), Stopper: &sim.StopStep{Took: s1, End: sim.Error},
			Health: &sim.HealthPlan{Tracker: true}},
		{Stopper: &sim.StopStep{Took: 2 * s1, End: sim.Nil}},
		{Steps: []sim.Step{{Run: 3 * s1, End: sim.Panic}}, Health: &sim.HealthPlan{Pieces: []sim.HealthPiece{
			{Until: 10 * s1, Name: "x", LastSuccess: s1, LastFailure: sim.Unset}, {Until: 20 * s1, Panic: true}}}},
		{Worker: &sim.WorkerPlan{Interval: 2 * s1, Ticks: []sim.Tick{{Work: 3 * s1, End: sim.Error}, {End: sim.Nil}}}},
	},
}

// TestCheck_ModelPasses proves the model's own trace satisfies every rule:
// the rules and the model agree.
func TestCheck_ModelPasses(t *testing.T) {
	exp := sim.Model(checkedSchedule)
	if err := sim.Check(checkedSchedule, &exp, &exp.Trace); err != nil {
		t.Fatalf("Check(model's trace) = %v; want nil", err)
	}
}

// TestCheck_EachRuleCatchesItsBreach corrupts the model's trace one way at
// a time and asserts the rule about it reports it.
func TestCheck_EachRuleCatchesItsBreach(t *testing.T) {
	tests := []struct {
		rule    string // a substring of the Checker's Rule
		corrupt func(tr *sim.Trace)
	}{
		{"every attempt's start", func(tr *sim.Trace) { tr.Services[0].Attempts[2].End++ }},
		{"nothing starts after cancellation", func(tr *sim.Trace) {
			tr.Services[1].Attempts = append(tr.Services[1].Attempts, sim.Attempt{Start: 100 * s1, End: 100 * s1, Outcome: sim.Nil})
		}},
		{"Run returns only after every Runner", func(tr *sim.Trace) { tr.RunReturned = 99 * s1 }},
		{"no restart once shutdown has begun", func(tr *sim.Trace) {
			tr.Services[0].Attempts = append(tr.Services[0].Attempts, sim.Attempt{Start: 60 * s1, End: 60 * s1, Outcome: sim.Error})
		}},
		{"events agree with the services' own trace", func(tr *sim.Trace) {
			// C7.1: an attempt ending after Stop began is not a failure.
			for k, e := range tr.Services[1].Events {
				if e.Kind == "AttemptEnded" {
					tr.Services[1].Events[k].Canceled = false
				}
			}
		}},
		{"reverse registration order", func(tr *sim.Trace) {
			r := tr.Stop.Results
			r[0], r[1] = r[1], r[0]
		}},
		{"call time + timeout/n", func(tr *sim.Trace) { tr.Services[1].Stops[0].Deadline++ }},
		{"never after its deadline", func(tr *sim.Trace) { tr.Services[0].Stops[0].Called += 2 * s1 }},
		{"no more than its timeout", func(tr *sim.Trace) { tr.Stop.Returned += 2 * s1 }},
		{"the StopReport is what the model says", func(tr *sim.Trace) { tr.Stop.Results[1].Abandoned = true }},
		{"Health: order, names and values", func(tr *sim.Trace) { tr.Health[1].Entries[1].Name = "x" }},
		{"the tracker contract", func(tr *sim.Trace) { tr.Health[1].Entries[0].Failures++ }},
		{"events agree with the services' own trace", func(tr *sim.Trace) {
			tr.Services[0].Events = tr.Services[0].Events[1:]
		}},
		{"events are what the model says", func(tr *sim.Trace) { tr.Services[2].Events[1].Detail = "?" }},
		{"logged with the service name", func(tr *sim.Trace) { tr.Services[2].Logs[0].Stack = false }},
		{"Names lists", func(tr *sim.Trace) { tr.Names[0] = "svc9" }},
		{"GaveUp() and Serve's error", func(tr *sim.Trace) { tr.GaveUp = append(tr.GaveUp, "svc0 at 1s") }},
		{"a Worker ticks on its grid", func(tr *sim.Trace) { tr.Services[3].Ticks[1].Start-- }},
		{"the health endpoint answers", func(tr *sim.Trace) { tr.Health[2].HTTP = "500" }},
		{"Health: order, names and values", func(tr *sim.Trace) { tr.Health[2].Entries[0].JSON += ",extra" }},
		{"programmer errors panic", func(tr *sim.Trace) { tr.Misuse[1].Prefix = false }},
		{"programmer errors panic", func(tr *sim.Trace) { tr.Misuse[0].Kept = false }},
		{"runs to its end", func(tr *sim.Trace) { tr.Stuck = "deadlock" }},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			exp := sim.Model(checkedSchedule)
			got := sim.Model(checkedSchedule).Trace // a fresh copy to corrupt
			tc.corrupt(&got)
			err := sim.Check(checkedSchedule, &exp, &got)
			if err == nil || !strings.Contains(err.Error(), tc.rule) {
				t.Errorf("Check = %v; want a violation of the rule %q", err, tc.rule)
			}
		})
	}
}

// TestCheck_ListsEveryViolation proves a checker reports all its
// violations, not the first.
func TestCheck_ListsEveryViolation(t *testing.T) {
	exp := sim.Model(checkedSchedule)
	got := sim.Model(checkedSchedule).Trace
	got.Services[0].Attempts[1].Start++
	got.Services[0].Attempts[3].Outcome = sim.Nil
	err := sim.Check(checkedSchedule, &exp, &got)
	for _, want := range []string{"svc0 run#2:", "svc0 run#4:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v; want it to list %q", err, want)
		}
	}
}

// TestVerify_ReportsNondeterminism proves two runs that differ fail
// Verify even when each is right, and that the report reads as the docs
// say: schedule, rule, diff, timeline with the differing line starred.
func TestVerify_ReportsNondeterminism(t *testing.T) {
	a := sim.Model(checkedSchedule).Trace
	b := sim.Model(checkedSchedule).Trace
	b.Health[2].Entries[0].LastError += "!"
	err := sim.Verify(checkedSchedule, &a, &b)
	if err == nil || !strings.Contains(err.Error(), "the same schedule gives the same trace") {
		t.Fatalf("Verify(a, b) = %v; want a nondeterminism failure", err)
	}

	a.Services[0].Attempts[4].End += 5 * s1
	err = sim.Verify(checkedSchedule, &a)
	if err == nil {
		t.Fatal("Verify(corrupt trace) = nil; want a failure")
	}
	for _, want := range []string{"svc0: run [0s error]", "schedule size: 4 services", "violated: every attempt's",
		"trace diff (-want +got)", "timeline", "svc0 got        *", "legend:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("failure report lacks %q:\n%v", want, err)
		}
	}
}

// TestCheck_SecondStop proves the rule "a second Stop waits for the first
// and returns its report" (C3.9) reports a second Shutdown that returned
// before the first finished, one that returned another report, and one
// that never returned.
func TestCheck_SecondStop(t *testing.T) {
	const rule = "a second Stop waits for the first and returns its report"
	s := checkedSchedule
	s.Stop2, s.Stop2At = true, s.StopAt+s1 // while the first Stop runs
	exp := sim.Model(s)
	if exp.Trace.Stop2 == nil || exp.Trace.Stop2.Returned <= s.Stop2At {
		t.Fatalf("model's second Stop = %+v; want one that waits past %v", exp.Trace.Stop2, s.Stop2At)
	}
	if err := sim.Check(s, &exp, &exp.Trace); err != nil {
		t.Fatalf("Check(model's trace) = %v; want nil", err)
	}
	tests := []struct {
		name    string
		corrupt func(tr *sim.Trace)
	}{
		{"did not wait for the first", func(tr *sim.Trace) { tr.Stop2.Returned = s.Stop2At }},
		{"another report", func(tr *sim.Trace) { tr.Stop2.SameReport = false }},
		{"never returned", func(tr *sim.Trace) { tr.Stop2 = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sim.Model(s).Trace // a fresh copy to corrupt
			tc.corrupt(&got)
			err := sim.Check(s, &exp, &got)
			if err == nil || !strings.Contains(err.Error(), "violated: "+rule) {
				t.Errorf("Check = %v; want a violation of the rule %q", err, rule)
			}
		})
	}
}
