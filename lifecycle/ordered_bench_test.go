//go:build unix

package lifecycle_test

// The benchmarks of bench_test.go with ordered shutdown on
// (WithOrderedShutdown, as under Serve): each service's Run has a context
// of its own and its loop an ended channel. Each again has its "bare"
// sub-benchmark in the same run, so results read as ratios
// (docs/performance.md).

import (
	"testing"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// BenchmarkIdleMemoryOrdered is BenchmarkIdleMemory with ordered shutdown.
func BenchmarkIdleMemoryOrdered(b *testing.B) { benchIdleMemory(b, lifecycle.WithOrderedShutdown()) }

// BenchmarkStartCancelOrdered is BenchmarkStartCancel with ordered
// shutdown: "manager" and "manager_with_register" cancel Run's context, as
// there; "shutdown_with_register" ends the fleet with the ordered
// Shutdown instead, 10,000 turns one after another, each cancelling one
// service and waiting for its Run to return.
func BenchmarkStartCancelOrdered(b *testing.B) {
	ordered := lifecycle.WithOrderedShutdown()
	b.Run("manager", func(b *testing.B) { startCancel(b, false, false, ordered) })
	b.Run("manager_with_register", func(b *testing.B) { startCancel(b, true, false, ordered) })
	b.Run("shutdown_with_register", func(b *testing.B) { startCancel(b, true, true, ordered) })
	b.Run("bare", startCancelBare)
}

// BenchmarkRestartOrdered is BenchmarkRestart with ordered shutdown: the
// service's own context is checked after each attempt.
func BenchmarkRestartOrdered(b *testing.B) { benchRestart(b, lifecycle.WithOrderedShutdown()) }

// BenchmarkIdleMemoryLabels is BenchmarkIdleMemory with pprof goroutine
// labels on: the cost of WithGoroutineLabels per service.
func BenchmarkIdleMemoryLabels(b *testing.B) { benchIdleMemory(b, lifecycle.WithGoroutineLabels()) }
