package sim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// featuresProbes are the behaviours of the probes (C10) and of a Worker's
// tick failed records (issue 9, item 4) a run should reach.
var featuresProbes = []string{
	// Answers.
	"probe: readiness passed", "probe: readiness failed", "probe: liveness passed", "probe: liveness failed",
	"probe: readiness failed at shutdown's first instant", "probe: readiness failed during a drain, every service ready",
	"probe: liveness passed after a give-up, shutdown begun",
	// Each state's line.
	"probe: not ready: not started", "probe: not ready: starting", "probe: not ready: backing off",
	"probe: not ready: gave up", "probe: not ready: stopping", "probe: not ready: stopped", "probe: not ready: abandoned",
	"probe: ready: finished",
	// Requests.
	"probe: ?verbose, passing", "probe: ?exclude of a failing service", "probe: ?exclude matching no service",
	"probe: per-service path", "probe: per-service path, no such service", "probe: per-service path ignores ?exclude",
	"probe: per-service readiness failed for shutdown alone", "probe: application/health+json", "probe: health+json among other types",
	"probe: application/health+json failed for shutdown", "probe: HEAD", "probe: POST refused",
	// At a GaveUp event, before the Manager escalates it.
	"probe at a give-up: an Essential one under Serve is live", "probe at a give-up: an Essential one under Run failed",
	// A Worker's tick failed records.
	"Worker tick failure logged", "Worker tick failures counted across a restart", "Worker tick failure logged during an unordered shutdown",
}

func init() { Features = append(Features, featuresProbes...) }

// reachedProbes adds the features of the probes and tick records that s
// reaches.
func reachedProbes(s Schedule, exp *Expectation, add func(bool, string)) {
	tr := &exp.Trace
	for j, p := range s.Probes {
		if j >= len(tr.Probes) {
			break
		}
		a := tr.Probes[j]
		passed, failed := strings.HasPrefix(a.HTTP, "200 "), strings.HasPrefix(a.HTTP, "503 ")
		shut := shutSeen(s, tr, p.At)
		add(!p.Live && passed, "probe: readiness passed")
		add(!p.Live && failed, "probe: readiness failed")
		add(p.Live && passed, "probe: liveness passed")
		add(p.Live && failed, "probe: liveness failed")
		add(!p.Live && failed && shut && p.At == tr.Stop.Start && p.At > 0, "probe: readiness failed at shutdown's first instant")
		add(p.Method == http.MethodHead, "probe: HEAD")
		add(p.Method == http.MethodPost, "probe: POST refused")
		add(p.One != "" && strings.HasPrefix(a.HTTP, "404 "), "probe: per-service path, no such service")
		if !passed && !failed {
			continue
		}
		states := statesAtProbe(exp, s, p)
		ready := func(e StateEntry) bool { return e.State == stRunning && e.Ready || e.State == stFinished }
		add(!p.Live && shut && s.ordered() && p.At < tr.Stop.Start+tr.Stop.Drain && len(states) > 0 &&
			!slices.ContainsFunc(states, func(e StateEntry) bool { return !ready(e) }), "probe: readiness failed during a drain, every service ready")
		gaveUp := slices.IndexFunc(states, func(e StateEntry) bool { return e.State == stGaveUp })
		add(p.Live && passed && shut && gaveUp >= 0 && (p.One == "" || p.One == Name(gaveUp)) && !slices.Contains(p.Exclude, Name(gaveUp)),
			"probe: liveness passed after a give-up, shutdown begun")
		body := strings.Join(a.Body, "\n")
		for _, st := range []string{stStarting, stBackingOff, stGaveUp, stStopping, stStopped, stAbandoned} {
			add(strings.Contains(body, "not ready: "+st), "probe: not ready: "+st)
		}
		add(strings.Contains(body, "not ready: not started"), "probe: not ready: not started")
		for i, e := range states {
			add(!p.Live && e.State == stFinished && (strings.Contains(body, "[+]"+Name(i)+" ok") || strings.Contains(body, Name(i)+" pass finished")),
				"probe: ready: finished")
		}
		add(p.Verbose && passed && !p.json(), "probe: ?verbose, passing")
		add(p.One == "" && slices.ContainsFunc(p.Exclude, func(x string) bool {
			i := slices.IndexFunc(states, func(e StateEntry) bool { return e.Name == x })
			if i < 0 {
				return false
			}
			ok, _ := verdict(s, i, states[i], time.Time{}, p.Live, shut)
			return !ok
		}), "probe: ?exclude of a failing service")
		add(strings.Contains(body, "warn: some checks cannot be excluded"), "probe: ?exclude matching no service")
		add(p.One != "", "probe: per-service path")
		add(p.One != "" && slices.Contains(p.Exclude, p.One), "probe: per-service path ignores ?exclude")
		add(p.One != "" && !p.Live && failed && shut && slices.ContainsFunc(states, func(e StateEntry) bool { return e.Name == p.One && ready(e) }),
			"probe: per-service readiness failed for shutdown alone")
		add(p.Accept == AcceptHealthJSON, "probe: application/health+json")
		add(p.Accept == AcceptMixed, "probe: health+json among other types")
		add(p.json() && !p.Live && failed && shut && p.Method == http.MethodGet, "probe: application/health+json failed for shutdown")
	}
	for _, p := range tr.GiveUpProbes {
		ok := strings.HasPrefix(p.HTTP, "200 ")
		add(s.Serve && ok && p.At <= tr.Stop.Start, "probe at a give-up: an Essential one under Serve is live")
		i := slices.IndexFunc(tr.Names, func(n string) bool { return strings.HasSuffix(p.Req, "/livez/"+n) })
		add(!s.Serve && !ok && i >= 0 && s.Services[i].Essential, "probe at a give-up: an Essential one under Run failed")
	}
	for i, sv := range s.Services {
		if sv.Worker == nil {
			continue
		}
		st := &tr.Services[i]
		for _, l := range st.Logs {
			if l.Tick == 0 {
				continue
			}
			add(true, "Worker tick failure logged")
			add(!s.ordered() && l.At >= s.StopAt && l.At < s.CancelAt, "Worker tick failure logged during an unordered shutdown")
			// More consecutive failures than its attempt has had: the
			// count goes on from the attempt before (the Tracker is the
			// Worker's, kept across Run calls).
			for _, a := range st.Attempts {
				if l.At < a.Start || l.At > a.End {
					continue
				}
				n := 0
				for _, c := range st.Ticks {
					if c.Start >= a.Start && c.End <= l.At && c.Outcome != "" && c.Outcome != Nil && c.Outcome != Finished {
						n++
					}
				}
				add(l.Tick > n, "Worker tick failures counted across a restart")
			}
		}
	}
}

// statesAtProbe is every service's state as probe p sees it, by the model.
func statesAtProbe(exp *Expectation, s Schedule, p Probe) []StateEntry {
	out := make([]StateEntry, 0, len(s.Services))
	for i := range s.Services {
		out = append(out, stateAt(Name(i), exp.ops[i], p.At))
	}
	return out
}
