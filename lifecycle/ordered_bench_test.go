//go:build unix

package lifecycle_test

// The benchmarks of bench_test.go with ordered shutdown on
// (WithOrderedShutdown, as under Serve): each service's Run has a context
// of its own and its loop an ended channel. Each again has its "bare"
// sub-benchmark in the same run, so results read as ratios
// (docs/performance.md).

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// BenchmarkIdleMemoryOrdered is BenchmarkIdleMemory with ordered shutdown.
func BenchmarkIdleMemoryOrdered(b *testing.B) {
	b.Run("manager", func(b *testing.B) {
		var perService float64
		for b.Loop() {
			base := heapAndStacks()
			ctx, cancel := context.WithCancel(context.Background())
			var started sync.WaitGroup
			started.Add(fleet)
			m := lifecycle.NewManager(lifecycle.WithOrderedShutdown())
			for _, name := range fleetNames {
				m.Register(name, parker{&started})
			}
			done := make(chan struct{})
			go func() { defer close(done); m.Run(ctx) }()
			started.Wait()
			perService += float64(heapAndStacks()-base) / fleet
			runtime.KeepAlive(m)
			cancel()
			<-done
		}
		b.ReportMetric(perService/float64(b.N), "bytes/service")
	})
	b.Run("bare", func(b *testing.B) {
		var perService float64
		for b.Loop() {
			base := heapAndStacks()
			stop := startBareFleet()
			perService += float64(heapAndStacks()-base) / fleet
			stop()
		}
		b.ReportMetric(perService/float64(b.N), "bytes/service")
	})
}

// BenchmarkStartCancelOrdered is BenchmarkStartCancel with ordered
// shutdown: "manager" and "manager_with_register" cancel Run's context, as
// there; "shutdown_with_register" ends the fleet with the ordered
// Shutdown instead, 10,000 turns one after another, each cancelling one
// service and waiting for its Run to return.
func BenchmarkStartCancelOrdered(b *testing.B) {
	startCancel := func(b *testing.B, timeRegister, shutdown bool) {
		b.ReportAllocs()
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			before := cpuTime()
			if !timeRegister {
				b.StopTimer()
			}
			ctx, cancel := context.WithCancel(context.Background())
			var started sync.WaitGroup
			started.Add(fleet)
			m := lifecycle.NewManager(lifecycle.WithOrderedShutdown())
			for _, name := range fleetNames {
				m.Register(name, parker{&started})
			}
			if !timeRegister {
				b.StartTimer()
				before = cpuTime()
			}
			done := make(chan struct{})
			go func() { defer close(done); m.Run(ctx) }()
			started.Wait()
			if shutdown {
				if err := m.Shutdown(time.Hour).Err(); err != nil {
					b.Fatal(err)
				}
			}
			cancel()
			<-done
			cpu += cpuTime() - before
		}
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
	b.Run("manager", func(b *testing.B) { startCancel(b, false, false) })
	b.Run("manager_with_register", func(b *testing.B) { startCancel(b, true, false) })
	b.Run("shutdown_with_register", func(b *testing.B) { startCancel(b, true, true) })
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime()
		for b.Loop() {
			startBareFleet()()
		}
		reportCPU(b, cpu)
	})
}

// BenchmarkRestartOrdered is BenchmarkRestart with ordered shutdown: the
// service's own context is checked after each attempt.
func BenchmarkRestartOrdered(b *testing.B) {
	b.Run("manager", func(b *testing.B) {
		b.ReportAllocs()
		m := lifecycle.NewManager(lifecycle.WithOrderedShutdown(),
			lifecycle.WithLogger(slog.New(slog.DiscardHandler)))
		m.SetBackoff(time.Nanosecond, time.Nanosecond, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		n, calls := int64(b.N), atomic.Int64{}
		m.Register("flaky", runFunc(func(context.Context) error {
			if calls.Add(1) >= n {
				cancel()
			}
			return errBench
		}))
		b.ResetTimer()
		cpu := cpuTime()
		m.Run(ctx)
		reportCPU(b, cpu)
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		ctx, cancel := context.WithCancel(context.Background())
		n, calls := int64(b.N), atomic.Int64{}
		r := runFunc(func(context.Context) error {
			if calls.Add(1) >= n {
				cancel()
			}
			return errBench
		})
		b.ResetTimer()
		cpu := cpuTime()
		superviseByHand(ctx, r, time.Nanosecond, time.Nanosecond, time.Hour)
		reportCPU(b, cpu)
	})
}
