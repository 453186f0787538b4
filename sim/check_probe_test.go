package sim_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lifecyclesim/lifecycle/sim"
)

// probeSchedule has, for the probes to read, a service that backs off,
// an Essential one that gives up under Run, a NotifyReady one starting,
// one finished and a Worker whose ticks fail, around a panic; then an
// ordered shutdown with a drain.
var probeSchedule = sim.Schedule{
	Ordered: true, Drain: 2 * s1, StopAt: 10 * s1, StopTimeout: 5 * s1, CancelAt: 20 * s1, GiveUpProbes: true,
	Services: []sim.Service{
		{Steps: []sim.Step{{Run: s1, End: sim.Error}}},
		{Steps: []sim.Step{{Run: s1, End: sim.Error}}, Limit: &sim.Limit{N: 1, Window: s1}, Essential: true},
		{NotifyReady: true, Steps: []sim.Step{{Wait: true, Honour: true, Ready: 3 * s1}}},
		{Steps: []sim.Step{{Run: s1, End: sim.Finished}}},
		{Worker: &sim.WorkerPlan{Interval: s1, Ticks: []sim.Tick{{End: sim.Error}, {End: sim.Panic}, {End: sim.Error}, {End: sim.Nil}}}},
	},
	Probes: []sim.Probe{
		{At: 500 * ms, Method: http.MethodGet, Verbose: true},
		{At: 1500 * ms, Method: http.MethodGet, Verbose: true, Exclude: []string{"svc2", "svc9"}},
		{At: 1500 * ms, Method: http.MethodGet, Live: true},
		{At: 5 * s1, Method: http.MethodGet, One: "svc3"},
		{At: 10 * s1, Method: http.MethodGet, One: "svc3", Exclude: []string{"svc3"}},
		{At: 11 * s1, Method: http.MethodGet, Live: true},
		{At: 11 * s1, Method: http.MethodGet, Accept: sim.AcceptHealthJSON},
		{At: 5 * s1, Method: http.MethodHead, Live: true, Verbose: true},
		{At: 5 * s1, Method: http.MethodPost},
		{At: 5 * s1, Method: http.MethodGet, Live: true, One: "svc7"},
		{At: 1500 * ms, Method: http.MethodGet, Accept: sim.AcceptMixed, Exclude: []string{"svc1"}},
		{At: 1500 * ms, Method: http.MethodGet, Live: true, Exclude: []string{"svc1"}},
	},
}

// TestCheckProbes_ModelPasses proves the model's own answers hold, and
// that they say what C10 says at the points that matter.
func TestCheckProbes_ModelPasses(t *testing.T) {
	exp := sim.Model(probeSchedule)
	if exp.Ambiguous != "" {
		t.Fatalf("Ambiguous = %q; want a schedule the scheduler cannot change", exp.Ambiguous)
	}
	if err := sim.Check(probeSchedule, &exp, &exp.Trace); err != nil {
		t.Fatalf("Check(model's trace) = %v; want nil", err)
	}
	const text = `type="text/plain; charset=utf-8" cache="no-store" nosniff="nosniff" vary="Accept" length of the body`
	want := map[int]string{
		// Each state's reason, the exclusion and the warning (C10.7).
		1: `503 ` + text + ` ["[+]shutdown ok" "[-]svc0 not ready: backing off until 2026-01-01T00:00:02Z" ` +
			`"[-]svc1 not ready: gave up at 2026-01-01T00:00:01Z" "[+]svc2 excluded: ok" "[+]svc3 ok" ` +
			`"[-]svc4 not ready: backing off until 2026-01-01T00:00:02Z" "warn: some checks cannot be excluded: no matches for \"svc9\"" ` +
			`"readyz check failed"]`,
		// An Essential give-up fails liveness under Run (C10.5) ...
		2: `503 ` + text + ` ["[+]svc0 ok" "[-]svc1 failed: gave up at 2026-01-01T00:00:01Z" "[+]svc2 ok" "[+]svc3 ok" "[+]svc4 ok" "livez check failed"]`,
		// ... but not once shutdown has begun.
		5: `200 ` + text + ` ["ok"]`,
		// A finished service is ready; during the drain its own path
		// fails, for shutdown alone, whatever ?exclude says (C10.3, C10.4).
		3: `200 ` + text + ` ["ok"]`,
		4: `503 ` + text + ` ["[-]shutdown failed: shutdown has begun" "[+]svc3 ok" "readyz check failed"]`,
		6: `503 type="application/health+json" cache="no-store" nosniff="nosniff" vary="Accept" length of the body ` +
			`["status=fail output=\"shutdown has begun\"" "svc0 pass running" "svc1 fail gave up output=\"gave up at 2026-01-01T00:00:01Z\"" ` +
			`"svc2 pass running" "svc3 pass finished" "svc4 pass running"]`,
		8: `405 allow="GET, HEAD" cache="no-store" []`,
		// Excluded, a give-up fails nothing.
		11: `200 ` + text + ` ["ok"]`,
		9:  `404 cache="no-store" []`,
	}
	for j, w := range want {
		p := exp.Trace.Probes[j]
		if got := strings.TrimPrefix(p.String(), "at "+p.At.String()+": "+p.Req+" -> "); got != w {
			t.Errorf("model's probe %s:\n got %s\nwant %s", p.Req, got, w)
		}
	}
	// The Worker's tick failed records: the failures' counts go on
	// across the panic, which is a Run failure's record, with its stack.
	var logs []string
	for _, l := range exp.Trace.Services[4].Logs {
		logs = append(logs, l.String())
	}
	if w := []string{`0s ERROR tick failed "svc4 tick#1 error" consecutive=1`, `1s ERROR with stack`,
		`2s ERROR tick failed "svc4 tick#3 error" consecutive=3`}; !slices.Equal(logs, w) {
		t.Errorf("model's svc4 logs = %q; want %q", logs, w)
	}
}

// TestCheckProbes_RealManager: the Manager agrees with the model on it.
func TestCheckProbes_RealManager(t *testing.T) { simulate(t, probeSchedule) }

// TestCheckProbes_CatchesEachBreach corrupts the model's probe answers,
// and its tick failed records, one way at a time and asserts the rule
// about them reports it.
func TestCheckProbes_CatchesEachBreach(t *testing.T) {
	const probes, logs = "probes: status, headers and body lines", "failures, panics (with stack) and overruns are logged"
	tests := []struct {
		name, rule string
		corrupt    func(tr *sim.Trace)
	}{
		{"200 during the drain", probes, func(tr *sim.Trace) {
			tr.Probes[4].HTTP = strings.Replace(tr.Probes[4].HTTP, "503", "200", 1)
		}},
		{"?exclude ignored", probes, func(tr *sim.Trace) {
			tr.Probes[1].Body[3] = "[-]svc2 not ready: starting since 2026-01-01T00:00:00Z"
		}},
		{"a backing-off service ready", probes, func(tr *sim.Trace) { tr.Probes[1].Body[1] = "[+]svc0 ok" }},
		{"a reason off", probes, func(tr *sim.Trace) {
			tr.Probes[1].Body[2] = "[-]svc1 not ready: gave up since 2026-01-01T00:00:01Z"
		}},
		{"no warning", probes, func(tr *sim.Trace) { tr.Probes[1].Body = slices.Delete(tr.Probes[1].Body, 6, 7) }},
		{"liveness failed once shutdown began", probes, func(tr *sim.Trace) {
			tr.Probes[5].HTTP = strings.Replace(tr.Probes[5].HTTP, "200", "503", 1)
		}},
		{"the JSON's status", probes, func(tr *sim.Trace) { tr.Probes[6].Body[0] = "status=pass" }},
		{"a header missing", probes, func(tr *sim.Trace) {
			tr.Probes[3].HTTP = strings.Replace(tr.Probes[3].HTTP, `vary="Accept"`, `vary=""`, 1)
		}},
		{"HEAD with a body", probes, func(tr *sim.Trace) { tr.Probes[7].Body = []string{"ok"} }},
		{"an answer missing", probes, func(tr *sim.Trace) { tr.Probes = tr.Probes[:3] }},
		{"liveness passed at an Essential give-up under Run", probes, func(tr *sim.Trace) {
			tr.GiveUpProbes[0].HTTP = strings.Replace(tr.GiveUpProbes[0].HTTP, "503", "200", 1)
		}},
		{"a tick failure not logged", logs, func(tr *sim.Trace) { tr.Services[4].Logs = tr.Services[4].Logs[1:] }},
		{"a tick failed record for the panic", logs, func(tr *sim.Trace) {
			tr.Services[4].Logs[1].Tick, tr.Services[4].Logs[1].Err = 2, "svc4 tick#2 panic"
		}},
		{"a tick failure's count restarted", logs, func(tr *sim.Trace) { tr.Services[4].Logs[2].Tick = 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp := sim.Model(probeSchedule)
			got := sim.Model(probeSchedule).Trace // a fresh copy to corrupt
			tc.corrupt(&got)
			err := sim.Check(probeSchedule, &exp, &got)
			if err == nil || !strings.Contains(err.Error(), "violated: "+tc.rule) {
				t.Errorf("Check = %v; want a violation of the rule %q", err, tc.rule)
			}
		})
	}
}

// TestProbes_AtAGiveUp: asked from the GaveUp event, before the Manager
// escalates, liveness fails for a give-up under Run, Essential or not,
// and passes for an Essential one under Serve (C10.5), and, once
// shutdown has begun, for any.
func TestProbes_AtAGiveUp(t *testing.T) {
	limit := &sim.Limit{N: 1, Window: s1}
	fail := []sim.Step{{Run: s1, End: sim.Error}}
	for _, tc := range []struct {
		name string
		s    sim.Schedule
		want []string
	}{
		{"under Run", sim.Schedule{CancelAt: 5 * s1, StopAt: 5 * s1, GiveUpProbes: true,
			Services: []sim.Service{{Steps: fail, Limit: limit, Essential: true}, {Steps: fail, Limit: limit}}},
			[]string{"503 [-]svc0 failed: gave up at 2026-01-01T00:00:01Z|livez check failed",
				"503 [-]svc1 failed: gave up at 2026-01-01T00:00:01Z|livez check failed"}},
		{"under Serve", sim.Schedule{Serve: true, Drain: s1, StopTimeout: 5 * s1, CancelAt: 9 * s1, GiveUpProbes: true,
			Services: []sim.Service{{Steps: fail, Limit: limit, Essential: true}}},
			[]string{"200 ok"}},
		{"during the drain", sim.Schedule{Ordered: true, StopAt: 500 * ms, Drain: 5 * s1, StopTimeout: 5 * s1, CancelAt: 9 * s1, GiveUpProbes: true,
			Services: []sim.Service{{Steps: fail, Limit: limit}}},
			[]string{"200 ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if exp := sim.Model(tc.s); exp.Ambiguous != "" {
				t.Fatalf("Ambiguous = %q; want a schedule the scheduler cannot change", exp.Ambiguous)
			}
			tr := simulate(t, tc.s)
			var got []string
			for _, p := range tr.GiveUpProbes {
				got = append(got, p.HTTP[:4]+strings.Join(p.Body, "|"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("probes at the give-ups = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestProbes_BackoffPastMaxInt64: a restart delay that reaches past the
// last instant a Duration since Epoch holds is written as the instant it
// is, not the saturated one.
func TestProbes_BackoffPastMaxInt64(t *testing.T) {
	s := sim.Schedule{
		Backoff:  &sim.Backoff{Initial: 1 << 62, Maximum: 1 << 62, Reset: s1},
		CancelAt: 1<<62 + 1<<61, StopAt: 1<<62 + 1<<61,
		Services: []sim.Service{{Steps: []sim.Step{{Run: 1 << 62, End: sim.Error}}}},
		Probes:   []sim.Probe{{At: 1<<62 + 1<<61 - 1, Method: http.MethodGet}},
	}
	tr := simulate(t, s)
	// 2^62ns + 2^62ns after Epoch: 1ns past MaxInt64 (…807Z).
	if w := "[-]svc0 not ready: backing off until 2318-04-12T23:47:16.854775808Z"; !slices.Contains(tr.Probes[0].Body, w) {
		t.Errorf("probe = %q; want a line %q", tr.Probes[0].Body, w)
	}
}
