package sim_test

import (
	"testing"

	"github.com/lifecyclesim/lifecycle/sim"
	"pgregory.net/rapid"
)

// FuzzSchedule is TestSim driven by the fuzzer: its input is the bit
// stream rapid draws a schedule from, and each schedule runs twice in
// synctest bubbles (rapid.SyncTest) and is verified like TestSim's.
// The seed corpus is in testdata/fuzz/FuzzSchedule.
func FuzzSchedule(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(func(t *rapid.T) {
		checkSchedule(t, sim.Schedules().Draw(t, "schedule"))
	}))
}

// BenchmarkSchedule measures whole checks as TestSim does them: a drawn
// schedule run twice, each in its own bubble, and verified. One op is one
// schedule; it also reports schedules/s.
//
// synctest.Test needs a *testing.T, which a benchmark lacks, so the loop
// runs inside a test started with testing.RunTests (matching any -run,
// and run once whatever -count says).
func BenchmarkSchedule(b *testing.B) {
	schedules := make([]sim.Schedule, 1000)
	for i := range schedules {
		schedules[i] = sim.Schedules().Example(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	matchAll := func(string, string) (bool, error) { return true, nil }
	ran := false // RunTests runs it -test.count times (and per -test.cpu): once is the op count
	ok := testing.RunTests(matchAll, []testing.InternalTest{{Name: "BenchmarkSchedule", F: func(t *testing.T) {
		if ran {
			return
		}
		ran = true
		for i := range b.N {
			simulate(t, schedules[i%len(schedules)])
		}
	}}})
	if !ok {
		b.Fatal("a schedule failed")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "schedules/s")
}
