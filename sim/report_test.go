package sim_test

import (
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
