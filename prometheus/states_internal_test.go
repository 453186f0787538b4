package lifecycleprom

import (
	"testing"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestCollect_UnknownStateGetsASeriesOfItsOwn feeds a State newer than
// this package: it is exported at 1 under its own name, every known state
// at 0.
func TestCollect_UnknownStateGetsASeriesOfItsOwn(t *testing.T) {
	c := NewStateCollector(lifecycle.NewManager())
	ch := make(chan prometheus.Metric, 20)
	c.collect(ch, []lifecycle.ServiceState{{Name: "db", State: lifecycle.State(99)}})
	close(ch)
	on, n := "", 0
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		n++
		if pb.GetGauge().GetValue() == 1 {
			for _, l := range pb.GetLabel() {
				if l.GetName() == "state" {
					on += l.GetValue()
				}
			}
		}
	}
	if on != "State(99)" || n != len(states)+2 {
		t.Errorf("state at 1: %q, %d series; want State(99), %d", on, n, len(states)+2)
	}
}

// TestStateLabels_EveryStateNamed fails if a State's name is missing: a
// label like State(3) would mean this list and lifecycle's disagree.
func TestStateLabels_EveryStateNamed(t *testing.T) {
	want := []string{"registered", "starting", "running", "backing_off", "gave_up",
		"finished", "stopping", "stopped", "abandoned"}
	if len(stateLabels) != len(want) {
		t.Fatalf("stateLabels = %q; want %q", stateLabels, want)
	}
	for i := range want {
		if stateLabels[i] != want[i] {
			t.Errorf("stateLabels[%d] = %q; want %q", i, stateLabels[i], want[i])
		}
	}
	if got := lifecycle.State(len(states)).String(); got != "State(9)" {
		t.Errorf("the State after the last known one is %q; want State(9): lifecycle has a state this package does not export", got)
	}
}
