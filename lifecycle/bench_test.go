//go:build unix

package lifecycle_test

// Each benchmark has a "bare" sub-benchmark doing the same work by hand, in
// the same run, so that results read as ratios (docs/performance.md).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// fleet is the number of services in the memory and start/cancel benchmarks.
const fleet = 10_000

// fleetNames are the registration names, made once: they are the caller's
// data, not the Manager's cost.
var fleetNames = func() []string {
	names := make([]string, fleet)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%05d", i)
	}
	return names
}()

// parker is a Runner that says it started and waits for ctx.
type parker struct{ started *sync.WaitGroup }

func (p parker) Run(ctx context.Context) error {
	p.started.Done()
	<-ctx.Done()
	return nil
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per op since start, a figure
// that other processes on a busy machine disturb less than wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// heapAndStacks returns the bytes of live heap and of goroutine stacks,
// after a collection.
func heapAndStacks() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// BenchmarkIdleMemory measures the memory an idle supervised service holds
// (its registration included) against a bare goroutine parked on
// ctx.Done(), with 10,000 of each.
func BenchmarkIdleMemory(b *testing.B) { benchIdleMemory(b) }

// benchIdleMemory is BenchmarkIdleMemory for a Manager made with opts.
func benchIdleMemory(b *testing.B, opts ...lifecycle.Option) {
	b.Run("manager", func(b *testing.B) {
		var perService float64
		for b.Loop() {
			base := heapAndStacks()
			ctx, cancel := context.WithCancel(context.Background())
			var started sync.WaitGroup
			started.Add(fleet)
			m := lifecycle.NewManager(opts...)
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

// startBareFleet is the baseline of a fleet of idle services: it starts
// fleet goroutines parked on one context and returns once each runs. Its
// result cancels the context and waits until every goroutine returned.
func startBareFleet() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var started, ended sync.WaitGroup
	started.Add(fleet)
	ended.Add(fleet)
	for range fleet {
		go func() {
			defer ended.Done()
			started.Done()
			<-ctx.Done()
		}()
	}
	started.Wait()
	return func() {
		cancel()
		ended.Wait()
	}
}

// BenchmarkStartCancel starts 10,000 idle services, waits until every one
// runs, cancels them and waits until all returned: one op is the lot.
// "manager" times Run alone (the Manager and its registrations are made
// with the timer stopped); "manager_with_register" times them too; "bare" does
// the same with plain goroutines.
func BenchmarkStartCancel(b *testing.B) {
	b.Run("manager", func(b *testing.B) { startCancel(b, false, false) })
	b.Run("manager_with_register", func(b *testing.B) { startCancel(b, true, false) })
	b.Run("bare", startCancelBare)
}

// BenchmarkStartCancelPaired is BenchmarkStartCancel's "manager_with_register"
// and "bare" in one loop: each op starts and cancels a bare fleet and then
// a Manager's (its Register calls timed too), so that both meet the same
// machine. On a shared 2-core machine the CPU time of one sub-benchmark
// drifts by tens of percent between runs; the paired ratio, x-bare-cpu,
// does not.
func BenchmarkStartCancelPaired(b *testing.B) { startCancelPaired(b, nil, false) }

// startCancelPaired is BenchmarkStartCancelPaired for a Manager made with
// opts; other, if not nil, is called in each op too, after the bare fleet;
// shutdown ends the Manager's fleet with Shutdown before cancelling Run's
// context.
// It returns the Manager's CPU time in all.
func startCancelPaired(b *testing.B, other func(), shutdown bool, opts ...lifecycle.Option) time.Duration {
	var bare, manager time.Duration
	for b.Loop() {
		before := cpuTime()
		startBareFleet()()
		bare += cpuTime() - before
		if other != nil {
			other()
		}

		before = cpuTime()
		runFleet(b, registerFleet(opts), shutdown)
		manager += cpuTime() - before
	}
	b.ReportMetric(float64(bare)/float64(b.N), "bare-cpu-ns/op")
	b.ReportMetric(float64(manager)/float64(b.N), "manager-cpu-ns/op")
	b.ReportMetric(float64(manager)/float64(bare), "x-bare-cpu")
	return manager
}

// startCancel is one "manager" sub-benchmark of the start/cancel
// benchmarks, for a Manager made with opts: timeRegister times NewManager
// and Register too; shutdown ends the fleet with Shutdown before
// cancelling Run's context.
func startCancel(b *testing.B, timeRegister, shutdown bool, opts ...lifecycle.Option) {
	b.ReportAllocs()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		before := cpuTime()
		if !timeRegister {
			b.StopTimer()
		}
		f := registerFleet(opts)
		if !timeRegister {
			b.StartTimer()
			before = cpuTime()
		}
		runFleet(b, f, shutdown)
		cpu += cpuTime() - before
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// managedFleet is a Manager with the fleet registered: parkers that count
// started down as they run.
type managedFleet struct {
	m       *lifecycle.Manager
	started *sync.WaitGroup
}

// registerFleet makes a Manager with opts and registers the fleet.
func registerFleet(opts []lifecycle.Option) managedFleet {
	f := managedFleet{lifecycle.NewManager(opts...), new(sync.WaitGroup)}
	f.started.Add(fleet)
	for _, name := range fleetNames {
		f.m.Register(name, parker{f.started})
	}
	return f
}

// runFleet runs f until each service has started, ends it (with Shutdown
// first if shutdown) and waits for Run to return.
func runFleet(b *testing.B, f managedFleet, shutdown bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.m.Run(ctx) }()
	f.started.Wait()
	if shutdown {
		if err := f.m.Shutdown(time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
	}
	cancel()
	<-done
}

// startCancelBare is the "bare" sub-benchmark of the start/cancel
// benchmarks.
func startCancelBare(b *testing.B) {
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		startBareFleet()()
	}
	reportCPU(b, cpu)
}

var errBench = errors.New("fails at once")

// BenchmarkRestart measures one supervise cycle of a service that fails
// at once: call Run, see the failure, wait a 1ns backoff, call again. One op
// is one cycle.
func BenchmarkRestart(b *testing.B) { benchRestart(b) }

// benchRestart is BenchmarkRestart for a Manager made with opts.
func benchRestart(b *testing.B, opts ...lifecycle.Option) {
	b.Run("manager", func(b *testing.B) {
		b.ReportAllocs()
		m := lifecycle.NewManager(append(opts, lifecycle.WithLogger(slog.New(slog.DiscardHandler)))...)
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

// superviseByHand is the least a supervise loop does: call Run recovering a
// panic, stop once ctx is done, reset after a long run, wait the backoff on
// a timer, double it.
func superviseByHand(ctx context.Context, r lifecycle.Runner, initial, maximum, reset time.Duration) {
	delay := initial
	for ctx.Err() == nil {
		start := time.Now()
		_ = callRecovering(ctx, r)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= reset {
			delay = initial
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		delay = min(2*delay, maximum)
	}
}

func callRecovering(ctx context.Context, r lifecycle.Runner) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return r.Run(ctx)
}

// BenchmarkHealth reads the health of 1,000 reporters; the bare baseline
// copies the same 1,000 values into a slice by hand.
func BenchmarkHealth(b *testing.B) {
	m, trackers := trackedFleet(1000)
	b.Run("manager", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = m.Health()
		}
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]lifecycle.WorkerHealth, len(trackers))
			for i, tr := range trackers {
				out[i] = tr.Health()
				out[i].Name = fleetNames[i]
			}
			_ = out
		}
	})
}

// BenchmarkStates measures States over 1,000 services against the same
// 1,000 Tracker readings by hand: a snapshot of every service's state
// costs about what Health does, with one allocation, and calls nothing a
// service provides.
func BenchmarkStates(b *testing.B) {
	m, trackers := trackedFleet(1000)
	b.Run("manager", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = m.States()
		}
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]lifecycle.WorkerHealth, len(trackers))
			for i, tr := range trackers {
				out[i] = tr.Health()
			}
			_ = out
		}
	})
}

// trackedFleet is a Manager with n services that report health from a
// Tracker that has recorded one success, and those services.
func trackedFleet(n int) (*lifecycle.Manager, []*trackedService) {
	m := lifecycle.NewManager()
	var trackers []*trackedService
	for i := range n {
		svc := &trackedService{}
		svc.Success()
		trackers = append(trackers, svc)
		m.Register(fmt.Sprint("svc", i), svc)
	}
	return m, trackers
}
