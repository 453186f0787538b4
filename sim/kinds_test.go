package sim_test

import (
	"testing"

	"github.com/lifecyclesim/lifecycle/sim"
)

// TestStreamOf_ClassifiesEveryKind fails when lifecycle gains an EventKind
// that the sim does not file as a Run or a Stop event: add it to streamOf.
func TestStreamOf_ClassifiesEveryKind(t *testing.T) {
	kinds := sim.EventKinds()
	if len(kinds) < 6 {
		t.Fatalf("EventKinds() = %v; want at least the six kinds of the seed", kinds)
	}
	for _, k := range kinds {
		if !sim.Classified(k) {
			t.Errorf("EventKind %v is not classified as a Run or a Stop event in sim.streamOf", k)
		}
	}
}
