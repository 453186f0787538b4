//go:build !lifecyclesched

package sim

// installScheduler needs the scheduling points, which exist only in builds
// with -tags lifecyclesched.
func installScheduler(Scheduler) func() {
	panic("sim: Options.Sched needs go test -tags lifecyclesched (the scheduling points compile to nothing without it)")
}
