package sim

import "time"

// featuresIssue9 are the behaviours of state and readiness (C9) a run
// should reach.
var featuresIssue9 = []string{
	// States samples.
	"States sampled", "States sampled at a change's instant, seeing it", "States sampled at a change's instant, before it",
	"sampled registered once Run ran", "sampled starting", "sampled running and ready", "sampled backing off",
	"sampled gave up", "sampled finished", "sampled stopping", "sampled stopped", "sampled abandoned",
	"consecutive failures reset by a long run",
	// Readiness.
	"NotifyReady: ready", "NotifyReady: never ready", "NotifyReady: Ready from an attempt that ended, during a later one",
	"NotifyReady: Ready after the service began stopping",
	// The gated start.
	"gated start", "gated start waited for Ready", "gated start went on at a loop's end",
	"gated start: Stop started the rest at once", "gated start: ctx done while Run waited", "gated start: ordered shutdown while Run waited",
	"start timeout fired", "start timeout, then restarted with backoff", "ready 1ns before the start timeout",
	"Ready after the start timeout, from the attempt still running", "start timeout fired during shutdown",
}

func init() { Features = append(Features, featuresIssue9...) }

// reachedIssue9 adds the features of state and readiness that s reaches.
func reachedIssue9(s Schedule, exp *Expectation, add func(bool, string)) {
	tr := &exp.Trace
	for _, sample := range tr.States {
		for _, e := range sample.Entries {
			add(e.Attempts > 0, "States sampled")
			add(e.Since == sample.At && sample.At > 0, "States sampled at a change's instant, seeing it")
			add(e.State == stRegistered && sample.At > 0 && s.CancelAt > 0 && sample.At > s.StopAt, "sampled registered once Run ran")
			add(e.State == stStarting, "sampled starting")
			add(e.State == stRunning && e.Ready, "sampled running and ready")
			add(e.State == stBackingOff, "sampled backing off")
			add(e.State == stGaveUp, "sampled gave up")
			add(e.State == stFinished, "sampled finished")
			add(e.State == stStopping, "sampled stopping")
			add(e.State == stStopped, "sampled stopped")
			add(e.State == stAbandoned, "sampled abandoned")
		}
	}
	firstStart := func(i int) time.Duration {
		if a := tr.Services[i].Attempts; len(a) > 0 {
			return a[0].Start
		}
		return Unset
	}
	for i, sv := range s.Services {
		st := tr.Services[i]
		// A sample at the instant of a change it does not see: the change
		// comes from a timer of the Manager or the service.
		for _, a := range st.Attempts {
			for j, at := range s.StatesAt {
				if at == a.End && at > a.Start && at != s.CancelAt && at != s.StopAt {
					e := tr.States[j].Entries[i]
					add(e.Since < at, "States sampled at a change's instant, before it")
				}
			}
		}
		for k, r := range exp.Restarts[i] {
			a := st.Attempts[r.Attempt]
			for _, at := range s.StatesAt {
				add(r.Reset && k > 0 && exp.Restarts[i][k-1].Attempt == r.Attempt-1 && at > a.End, "consecutive failures reset by a long run")
			}
		}
		if s.Gate > 0 {
			add(true, "gated start")
			if i > 0 {
				prev, first := tr.Services[i-1].Attempts, firstStart(i)
				if first > 0 && len(prev) > 0 {
					add(s.Services[i-1].NotifyReady && first < exp.Ended[i-1], "gated start waited for Ready")
					add(first == exp.Ended[i-1], "gated start went on at a loop's end")
					add(!s.ordered() && first == s.StopAt, "gated start: Stop started the rest at once")
				}
				if first == Unset && len(prev) > 0 {
					add(!s.ordered() || s.CancelAt < tr.Stop.Start, "gated start: ctx done while Run waited")
					add(s.ordered() && tr.Stop.Start < s.CancelAt && tr.Stop.Start > 0, "gated start: ordered shutdown while Run waited")
				}
			}
		}
		if !sv.NotifyReady {
			continue
		}
		timeout := startTimeoutText(Name(i), s.Gate)
		fired := map[int]bool{}
		for _, e := range st.Events {
			if e.Kind == "AttemptEnded" && e.Detail == timeout {
				fired[e.Attempt-1] = true
				add(true, "start timeout fired")
				add(e.Canceled, "start timeout fired during shutdown")
			}
		}
		for k, a := range st.Attempts {
			step := sv.step(k)
			if step.Ready == Unset {
				add(a.End-a.Start > s.Gate && s.Gate > 0 || s.Gate == 0 && a.End > a.Start, "NotifyReady: never ready")
				continue
			}
			r := a.Start + step.Ready
			add(r <= a.End && !fired[k], "NotifyReady: ready")
			add(fired[k] && k+1 < len(st.Attempts), "start timeout, then restarted with backoff")
			add(s.Gate > 0 && step.Ready == s.Gate-1 && r < a.End && !fired[k], "ready 1ns before the start timeout")
			add(fired[k] && r > a.Start+s.Gate && r < a.End, "Ready after the start timeout, from the attempt still running")
			stop := stoppedAt(s, tr, i)
			add(r > stop && r < a.End && a.Start < stop, "NotifyReady: Ready after the service began stopping")
			for _, b := range st.Attempts[k+1:] {
				later := sv.step(k + 1)
				add(r > a.End && r > b.Start && r < b.End && (later.Ready == Unset || r < b.Start+later.Ready),
					"NotifyReady: Ready from an attempt that ended, during a later one")
			}
		}
	}
}
