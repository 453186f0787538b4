package sim

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// Verify checks runs, traces of schedule s simulated one after the other,
// against the model and each other: every [Checkers] rule holds for the
// first, and every run renders to the same text. It returns nil or a
// [*Failure].
func Verify(s Schedule, runs ...*Trace) error {
	exp := Model(s)
	f := &Failure{Schedule: s, Want: Resolve(exp, runs[0]), Got: runs[0]}
	f.Violations = Check(s, &exp, runs[0])
	first := ""
	for k, r := range runs[1:] {
		// Equal traces render alike: render only when they are not.
		if reflect.DeepEqual(r, runs[0]) {
			continue
		}
		if first == "" {
			first = runs[0].String()
		}
		if text := r.String(); text != first {
			f.Nondeterminism = fmt.Sprintf("run 1 and run %d of the same schedule differ (-run 1 +run %d):\n%s",
				k+2, k+2, cmp.Diff(strings.Split(first, "\n"), strings.Split(text, "\n")))
			break
		}
	}
	if f.Violations == nil && f.Nondeterminism == "" {
		return nil
	}
	return f
}

// Resolve returns the model's trace with each health entry that has two
// right answers set to the one got shows, if it shows one of them.
func Resolve(exp Expectation, got *Trace) *Trace {
	want := exp.Trace
	want.Misuse = slices.Clone(exp.Trace.Misuse)
	for j := range want.Misuse {
		if j < len(got.Misuse) {
			want.Misuse[j].Message = got.Misuse[j].Message // not predicted: the checker reads parts of it
		}
	}
	want.Health = make([]HealthSample, len(exp.Trace.Health))
	for j, h := range exp.Trace.Health {
		want.Health[j] = h
		want.Health[j].Entries = slices.Clone(h.Entries)
		for k := range h.Entries {
			alt, ok := exp.HealthAlt[[2]int{j, k}]
			if ok && j < len(got.Health) && k < len(got.Health[j].Entries) && got.Health[j].Entries[k] == alt {
				want.Health[j].Entries[k] = alt
			}
		}
	}
	return &want
}

// Failure is a schedule on which the Manager broke a rule.
type Failure struct {
	Schedule       Schedule
	Want, Got      *Trace
	Violations     error  // from [Check]
	Nondeterminism string // how two runs differed
}

// Error renders the failure for a newcomer: the schedule, the rules
// violated, the diff of the traces, and the timeline.
func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString("the Manager broke the spec on this schedule:\n")
	b.WriteString(indent(f.Schedule.String()))
	fmt.Fprintf(&b, "schedule size: %s\n", f.Schedule.Size())
	if f.Violations != nil {
		b.WriteString(f.Violations.Error() + "\n")
	}
	if f.Nondeterminism != "" {
		b.WriteString("violated: the same schedule gives the same trace\n" + indent(f.Nondeterminism))
	}
	if d := cmp.Diff(f.Want, f.Got); d != "" {
		b.WriteString("trace diff (-want +got):\n" + d)
	}
	b.WriteString(Timeline(f.Schedule, f.Want, f.Got))
	return b.String()
}

func indent(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

// Summary says what every check verified: each schedule runs twice, each
// run in its own synctest bubble, and the two traces must render
// ([Trace.String]) to the same text byte for byte; the first trace must
// satisfy every rule of [Checkers], each against the model or the
// schedule. TestSim prints it above its counters.
func Summary() string {
	var b strings.Builder
	b.WriteString("each schedule ran twice, in two synctest bubbles; the two traces (Trace.String: every Run and Stop call,\n" +
		"event, log record, report and Health sample, to the nanosecond) were identical byte for byte, and the first held\n" +
		"every property below against the model (docs/sim.md explains each):\n")
	for _, c := range Checkers {
		fmt.Fprintf(&b, "  - %s\n", c.Rule)
	}
	return b.String()
}
