//go:build lifecyclesched

package sim

import "github.com/lifecyclesim/lifecycle/lifecycle"

// installScheduler hands the Manager's scheduling points to s until the
// returned function is called.
func installScheduler(s Scheduler) func() {
	lifecycle.SetScheduler(s.Yield)
	return func() { lifecycle.SetScheduler(nil) }
}
