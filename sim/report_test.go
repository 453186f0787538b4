package sim_test

import (
	"strings"
	"testing"

	"github.com/lifecyclesim/lifecycle/sim"
)

// TestResolve_KeepsEmptySamplesEmpty: a sample with no reporters is [],
// as Health returns it, not nil; a nil here put a bogus Entries: nil vs []
// line in the diff of every failure with such a sample.
func TestResolve_KeepsEmptySamplesEmpty(t *testing.T) {
	exp := sim.Expectation{Trace: sim.Trace{Health: []sim.HealthSample{{Entries: []sim.HealthEntry{}}}}}
	got := &sim.Trace{Health: []sim.HealthSample{{Entries: []sim.HealthEntry{}}}}
	if want := sim.Resolve(exp, got); want.Health[0].Entries == nil {
		t.Errorf("Resolve turned an empty sample into nil; want []")
	}
}

// TestSummary_NamesEveryProperty: the summary TestSim prints names each
// checker's rule, says what "run twice" compares, and where to read more.
func TestSummary_NamesEveryProperty(t *testing.T) {
	s := sim.Summary()
	for _, c := range sim.Checkers {
		if !strings.Contains(s, c.Rule) {
			t.Errorf("Summary() does not name the rule %q", c.Rule)
		}
	}
	for _, want := range []string{"twice", "byte for byte", "docs/sim.md"} {
		if !strings.Contains(s, want) {
			t.Errorf("Summary() does not say %q:\n%s", want, s)
		}
	}
}
