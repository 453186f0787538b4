//go:build unix

package lifecycle_test

// The benchmarks of bench_test.go with ordered shutdown on
// (WithOrderedShutdown, as under Serve): each service's Run has a context
// of its own. Each again has its "bare" sub-benchmark in the same run, so
// results read as ratios (docs/performance.md); the memory and paired
// start/cancel benchmarks also have "bare_own_ctx", bare goroutines that
// each wait on a context of their own, the least a hand-written ordered
// shutdown keeps.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// BenchmarkIdleMemoryOrdered is BenchmarkIdleMemory with ordered shutdown,
// and a "bare_own_ctx" baseline.
func BenchmarkIdleMemoryOrdered(b *testing.B) {
	benchIdleMemory(b, lifecycle.WithOrderedShutdown())
	b.Run("bare_own_ctx", func(b *testing.B) {
		var perService float64
		for b.Loop() {
			base := heapAndStacks()
			stop := startBareFleetOwnCtx(true)
			perService += float64(heapAndStacks()-base) / fleet
			stop()
		}
		b.ReportMetric(perService/float64(b.N), "bytes/service")
	})
}

// startBareFleetOwnCtx is startBareFleet with a context per goroutine,
// derived from one, and their cancel functions kept in registration
// order: what a hand-written program needs to stop its goroutines one by
// one. Its result cancels them in reverse order, waiting for each, if
// oneByOne; otherwise it cancels the one they derive from and waits for
// them all.
func startBareFleetOwnCtx(oneByOne bool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var started sync.WaitGroup
	started.Add(fleet)
	cancels := make([]context.CancelFunc, fleet)
	ended := make([]chan struct{}, fleet)
	for i := range fleet {
		c, cancel := context.WithCancel(ctx)
		cancels[i], ended[i] = cancel, make(chan struct{})
		go func() {
			defer close(ended[i])
			started.Done()
			<-c.Done()
		}()
	}
	started.Wait()
	return func() {
		if !oneByOne {
			cancel()
		}
		for i := fleet - 1; i >= 0; i-- {
			cancels[i]()
			<-ended[i]
		}
		cancel()
	}
}

// BenchmarkStartCancelOrderedPaired is BenchmarkStartCancelPaired with
// ordered shutdown on, against both bare baselines: x-bare-cpu against
// bare goroutines on one context, as everywhere, and x-own-ctx-cpu
// against bare goroutines with a context each (startBareFleetOwnCtx).
// "cancel" ends the fleet by cancelling Run's context, and the baseline
// by cancelling the context theirs derive from; "shutdown" ends the fleet
// by Shutdown (10,000 turns, each cancelling one service and waiting for
// it), and the baseline by cancelling each in reverse order, waiting for
// each.
func BenchmarkStartCancelOrderedPaired(b *testing.B) {
	for _, shutdown := range []bool{false, true} {
		name := "cancel"
		if shutdown {
			name = "shutdown"
		}
		b.Run(name, func(b *testing.B) {
			var own time.Duration
			manager := startCancelPaired(b, func() {
				before := cpuTime()
				startBareFleetOwnCtx(shutdown)()
				own += cpuTime() - before
			}, shutdown, lifecycle.WithOrderedShutdown())
			b.ReportMetric(float64(own)/float64(b.N), "own-ctx-cpu-ns/op")
			b.ReportMetric(float64(manager)/float64(own), "x-own-ctx-cpu")
		})
	}
}

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
