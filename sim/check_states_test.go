package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/sim"
)

// readySchedule has every state of C9.1 for the States checker to look
// at: a gated start whose first service is ready late once, times out,
// is restarted and is ready; services that back off, finish and give up;
// an unordered Stop that abandons a Stopper.
var readySchedule = sim.Schedule{
	Gate: 2 * s1, CancelAt: 40 * s1, StopAt: 30 * s1, StopTimeout: s1,
	StatesAt: []time.Duration{0, s1, 2 * s1, 3 * s1, 4 * s1, 6 * s1, 30 * s1, 31*s1 + ns, 40 * s1},
	Services: []sim.Service{
		{NotifyReady: true, Steps: []sim.Step{
			{Wait: true, Honour: true, Ready: 5 * s1},    // not ready within 2s: cancelled at 2s, restarted at 3s
			{Wait: true, Honour: true, Ready: s1 + ns}}}, // ready at 4s+1ns: svc1 starts then
		{Steps: []sim.Step{{Run: s1, End: sim.Error}, {Run: s1, End: sim.Finished}}},
		{Steps: []sim.Step{{Run: 0, End: sim.Nil}}, Limit: &sim.Limit{N: 1, Window: s1}},
		{Stopper: &sim.StopStep{Block: true}},
	},
}

// TestCheckStates_ModelPasses proves the model's own States samples hold,
// and that they say what the contract says at the points that matter.
func TestCheckStates_ModelPasses(t *testing.T) {
	exp := sim.Model(readySchedule)
	if exp.Ambiguous != "" {
		t.Fatalf("Ambiguous = %q; want a schedule the scheduler cannot change", exp.Ambiguous)
	}
	if err := sim.Check(readySchedule, &exp, &exp.Trace); err != nil {
		t.Fatalf("Check(model's trace) = %v; want nil", err)
	}
	want := map[[2]int]string{
		{1, 0}: "{svc0 starting since 0s attempts=1 restarts=0}",
		{1, 1}: "{svc1 registered since - attempts=0 restarts=0}",
		{3, 0}: `{svc0 backing off since 2s attempts=1 restarts=0 failures=1 last="lifecycle: service \"svc0\" not ready within its start timeout 2s: lifecycle: not ready within the start timeout" at 2s until 3s}`,
		{5, 0}: `{svc0 running since 4.000000001s ready attempts=2 restarts=1 failures=1 last="lifecycle: service \"svc0\" not ready within its start timeout 2s: lifecycle: not ready within the start timeout" at 2s}`,
		{5, 1}: `{svc1 backing off since 5.000000001s attempts=1 restarts=0 failures=1 last="svc1#1 error" at 5.000000001s until 6.000000001s}`,
		{6, 3}: "{svc3 stopping since 30s attempts=1 restarts=0}",
		{7, 3}: "{svc3 abandoned since 31s attempts=1 restarts=0}",
	}
	for k, w := range want {
		if got := exp.Trace.States[k[0]].Entries[k[1]].String(); got != w {
			t.Errorf("model's States at %v, svc%d = %s; want %s", readySchedule.StatesAt[k[0]], k[1], got, w)
		}
	}
}

// TestCheckStates_RealManager: the Manager agrees with the model on it.
func TestCheckStates_RealManager(t *testing.T) { simulate(t, readySchedule) }

// TestCheckStates_CatchesEachBreach corrupts the model's States samples
// one way at a time and asserts the States rule reports it.
func TestCheckStates_CatchesEachBreach(t *testing.T) {
	const rule = "States: every service's state"
	tests := []struct {
		name    string
		corrupt func(tr *sim.Trace)
	}{
		{"a backing-off service ready", func(tr *sim.Trace) { tr.States[3].Entries[0].Ready = true }},
		{"Since late by one event", func(tr *sim.Trace) { tr.States[5].Entries[0].Since = 3 * s1 }},
		{"a state late by one event", func(tr *sim.Trace) { tr.States[6].Entries[3].State = "running" }},
		{"consecutive failures off", func(tr *sim.Trace) { tr.States[5].Entries[1].ConsecutiveFailures++ }},
		{"BackoffUntil off by 1ns", func(tr *sim.Trace) { tr.States[5].Entries[1].BackoffUntil++ }},
		{"LastError not the timeout's", func(tr *sim.Trace) { tr.States[5].Entries[0].LastError = "context canceled" }},
		{"Restarts not Attempts-1", func(tr *sim.Trace) { tr.States[5].Entries[0].Restarts = 2 }},
		{"a service left out", func(tr *sim.Trace) { tr.States[2].Entries = tr.States[2].Entries[1:] }},
		{"a sample missing", func(tr *sim.Trace) { tr.States = tr.States[:3] }},
		{"a sample taken late", func(tr *sim.Trace) { tr.States[4].At++ }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp := sim.Model(readySchedule)
			got := sim.Model(readySchedule).Trace // a fresh copy to corrupt
			tc.corrupt(&got)
			err := sim.Check(readySchedule, &exp, &got)
			if err == nil || !strings.Contains(err.Error(), "violated: "+rule) {
				t.Errorf("Check = %v; want a violation of the rule %q", err, rule)
			}
		})
	}
}

// TestCheckStates_GatedStartOrder corrupts the first calls of a gated
// start and asserts the attempts rule reports a start that did not wait.
func TestCheckStates_GatedStartOrder(t *testing.T) {
	exp := sim.Model(readySchedule)
	if got := exp.Trace.Services[1].Attempts[0].Start; got != 4*s1+ns {
		t.Fatalf("model: svc1 first called at %v; want 4.000000001s, when svc0 was first ready", got)
	}
	got := sim.Model(readySchedule).Trace
	got.Services[1].Attempts[0].Start = 0 // did not wait for svc0
	if err := sim.Check(readySchedule, &exp, &got); err == nil || !strings.Contains(err.Error(), "svc1 run#1") {
		t.Errorf("Check = %v; want svc1 run#1 reported", err)
	}
}
