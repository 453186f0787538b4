package sim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// StatesSample is one call of Manager.States (docs/contract.md, C9).
type StatesSample struct {
	At      time.Duration
	Entries []StateEntry
}

// StateEntry is one lifecycle.ServiceState, every time a virtual time
// (Unset for a zero time.Time).
type StateEntry struct {
	Name                string
	State               string // State.String(): "registered", "backing off", ...
	Since               time.Duration
	Ready               bool
	Attempts, Restarts  int
	ConsecutiveFailures int
	LastError           string
	LastFailure         time.Duration
	BackoffUntil        time.Duration
}

func (s StatesSample) String() string {
	b := make([]byte, 0, 64+96*len(s.Entries))
	b = append(b, "at "...)
	b = append(b, fmtDur(s.At)...)
	for _, e := range s.Entries {
		b = append(b, ' ')
		b = e.append(b)
	}
	return string(b)
}

func (e StateEntry) String() string { return string(e.append(nil)) }

// append writes e to b. Written out, not with fmt: a trace has a line
// per sample with an entry per service.
func (e StateEntry) append(b []byte) []byte {
	b = append(b, '{')
	b = append(b, e.Name...)
	b = append(b, ' ')
	b = append(b, e.State...)
	b = append(b, " since "...)
	b = append(b, fmtStamp(e.Since)...)
	if e.Ready {
		b = append(b, " ready"...)
	}
	b = append(b, " attempts="...)
	b = strconv.AppendInt(b, int64(e.Attempts), 10)
	b = append(b, " restarts="...)
	b = strconv.AppendInt(b, int64(e.Restarts), 10)
	if e.ConsecutiveFailures != 0 || e.LastError != "" || e.LastFailure != Unset {
		b = append(b, " failures="...)
		b = strconv.AppendInt(b, int64(e.ConsecutiveFailures), 10)
		b = append(b, " last="...)
		b = strconv.AppendQuote(b, e.LastError)
		b = append(b, " at "...)
		b = append(b, fmtStamp(e.LastFailure)...)
	}
	if e.BackoffUntil != Unset {
		b = append(b, " until "...)
		b = append(b, fmtStamp(e.BackoffUntil)...)
	}
	return append(b, '}')
}

// states records sample j of Manager.States.
func (r *recorder) states(j int, ss []lifecycle.ServiceState) {
	s := StatesSample{At: r.now(), Entries: make([]StateEntry, 0, len(ss))}
	for _, x := range ss {
		s.Entries = append(s.Entries, StateEntry{Name: x.Name, State: x.State.String(), Since: unstamp(x.Since), Ready: x.Ready,
			Attempts: x.Attempts, Restarts: x.Restarts, ConsecutiveFailures: x.ConsecutiveFailures, LastError: x.LastError,
			LastFailure: unstamp(x.LastFailure), BackoffUntil: unstamp(x.BackoffUntil)})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statesSamples[j] = s
}

// failureText is the LastError a failure leaves in ServiceState (C9.2):
// the text of the error the Manager classified the attempt with. detail
// is the attempt's Detail as an AttemptEnded event gives it.
func failureText(name string, o Outcome, detail string) string {
	switch o {
	case Nil:
		return "returned nil"
	case Panic:
		return (&lifecycle.PanicError{Service: name, Value: detailValue(detail)}).Error()
	case Goexit:
		return lifecycle.ErrGoexit.Error()
	}
	if detail == hostileDetail {
		return fmt.Sprintf("%T (its Error method panicked: %v)", (*hostileError)(nil), hostilePanic)
	}
	return detail
}

// detailValue stands for a panic value whose %v is detail.
type detailValue string

func (d detailValue) String() string { return string(d) }

// startTimeoutText is the text of the error of an attempt that was not
// ready within the start timeout gate (C9.4): it names the service and
// wraps lifecycle.ErrStartTimeout.
func startTimeoutText(name string, gate time.Duration) string {
	return fmt.Sprintf("lifecycle: service %q not ready within its start timeout %v: %s", name, gate, lifecycle.ErrStartTimeout.Error())
}

// checkStates holds each States sample against the model: one entry per
// service in registration order, each exactly as the model says.
func checkStates(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for j, want := range exp.Trace.States {
		if j >= len(got.States) {
			v.add("States sample %d at %v: missing", j, fmtDur(want.At))
			continue
		}
		have := got.States[j]
		if have.At != want.At {
			v.add("States sample %d taken at %v; want %v", j, fmtDur(have.At), fmtDur(want.At))
		}
		if len(have.Entries) != len(want.Entries) {
			v.add("States at %v: %d entries; want %d, one per service", fmtDur(want.At), len(have.Entries), len(want.Entries))
		}
		for k := range min(len(have.Entries), len(want.Entries)) {
			if h, w := have.Entries[k], want.Entries[k]; h != w {
				v.add("States at %v, %s: got %s; want %s", fmtDur(want.At), Name(k), h, w)
			}
		}
	}
	if len(got.States) > len(exp.Trace.States) {
		v.add("%d States samples; want %d", len(got.States), len(exp.Trace.States))
	}
	return v.err()
}
