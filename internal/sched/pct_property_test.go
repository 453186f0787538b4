package sched_test

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/lifecyclesim/lifecycle/internal/sched"
)

// TestPCT_Property checks the strategy on drawn sequences of offers: every
// choice is one of the options, the same seed and change points choose the
// same way every time, and between change points a goroutine once chosen
// over another is chosen over it again (priorities are fixed until a
// change point lowers one).
func TestPCT_Property(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		changes := rapid.SliceOfNDistinct(rapid.IntRange(0, 20), 0, 3, rapid.ID[int]).Draw(t, "changes")
		names := []string{"a", "b", "c", "d"}
		offers := rapid.SliceOfN(rapid.SliceOfNDistinct(rapid.SampledFrom(names), 1, 4, rapid.ID[string]), 1, 25).Draw(t, "offers")

		run := func() []string {
			p := sched.NewPCTAt(seed, changes)
			var chosen []string
			for step, opts := range offers {
				slices.Sort(opts) // the scheduler offers options sorted
				i := p.Choose(step, "", opts)
				if i < 0 || i >= len(opts) {
					t.Fatalf("step %d: chose %d of %d options", step, i, len(opts))
				}
				chosen = append(chosen, opts[i])
			}
			return chosen
		}
		first, again := run(), run()
		if !slices.Equal(first, again) {
			t.Fatalf("same seed chose %v, then %v", first, again)
		}
		if len(changes) > 0 {
			return
		}
		// No change points: a fixed priority order.
		beats := map[[2]string]bool{}
		for step, opts := range offers {
			for _, o := range opts {
				if o != first[step] {
					if beats[[2]string{o, first[step]}] {
						t.Fatalf("step %d: %s chosen over %s, which was chosen over it before", step, first[step], o)
					}
					beats[[2]string{first[step], o}] = true
				}
			}
		}
	})
}
