package lifecycle_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// The tests in this file pin what a service costs in allocations, the
// design behind the idle-memory figures of docs/performance.md: a service
// registered without options is one 64-byte record made in blocks, and
// its supervise loop makes what it needs only when it first needs it.

// perService returns the allocations per service of f(n), from the
// difference between 1,010 services and 10: what does not grow with the
// number of services cancels out.
func perService(f func(n int)) float64 {
	few := testing.AllocsPerRun(5, func() { f(10) })
	many := testing.AllocsPerRun(5, func() { f(1010) })
	return (many - few) / 1000
}

var footprintNames = func() []string {
	names := make([]string, 1010)
	for i := range names {
		names[i] = fmt.Sprint("svc", i)
	}
	return names
}()

// idleRunner is a Runner that waits for ctx.
type idleRunner struct{}

func (idleRunner) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func TestRegister_AllocatesNothingPerServiceWithoutOptions(t *testing.T) {
	// Records are made in blocks and the name map grows by doubling:
	// about 0.03 allocations per Register. A record per service, or
	// settings made for no options, would be 1 or more.
	got := perService(func(n int) {
		m := lifecycle.NewManager(quiet)
		for _, name := range footprintNames[:n] {
			m.Register(name, idleRunner{})
		}
	})
	if got >= 0.5 {
		t.Errorf("%.2f allocations per Register without options; want about 0 (blocks of records)", got)
	}
}

func TestRun_SetsUpNothingPerServiceWithoutOptions(t *testing.T) {
	// Run with a ctx already done starts nothing, but sets every service
	// up first: without ordered shutdown, a gated start or options, that
	// is nothing to allocate (Register's blocks add about 0.03).
	for _, tc := range []struct {
		name string
		opts []lifecycle.Option
	}{{"default", nil}, {"WithDrain", []lifecycle.Option{lifecycle.WithDrain(time.Second)}}} {
		if got := setUpAllocs(tc.opts...); got >= 0.5 {
			t.Errorf("%s: Register and Run allocate %.2f per service Run does not start; want about 0", tc.name, got)
		}
	}
}

// setUpAllocs returns the allocations per service that NewManager,
// Register and Run make for 1,000 services Run does not start (its ctx is
// done), for a Manager made with opts.
func setUpAllocs(opts ...lifecycle.Option) float64 {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	return perService(func(n int) {
		m := lifecycle.NewManager(append([]lifecycle.Option{quiet}, opts...)...)
		for _, name := range footprintNames[:n] {
			m.Register(name, idleRunner{})
		}
		m.Run(done)
	})
}

func TestRun_GateOnlyWithGatedStart(t *testing.T) {
	// A gated start makes one channel per service; ordered shutdown
	// without it makes none.
	ordered := setUpAllocs(lifecycle.WithOrderedShutdown())
	gated := setUpAllocs(lifecycle.WithOrderedShutdown(), lifecycle.WithGatedStart(time.Second))
	if d := gated - ordered; d < 0.5 || d >= 1.5 {
		t.Errorf("a gated start adds %.2f allocations per service to the ordered set-up (%.2f, %.2f); want 1, its channel", d, ordered, gated)
	}
}

func TestRun_LoopMakesNothingForSettingsItDoesNotUse(t *testing.T) {
	// An Essential service carries its settings from Register (one
	// allocation); its loop makes nothing more for them, having neither a
	// restart limit nor NotifyReady.
	run := func(opts ...lifecycle.ServiceOption) float64 {
		return perService(func(n int) {
			m := lifecycle.NewManager(quiet)
			var started sync.WaitGroup
			started.Add(n)
			for _, name := range footprintNames[:n] {
				m.Register(name, startedRunner{&started}, opts...)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); m.Run(ctx) }()
			started.Wait()
			cancel()
			<-done
		})
	}
	plain, essential := run(), run(lifecycle.Essential())
	if d := essential - plain; d < 0.5 || d >= 1.5 {
		t.Errorf("an Essential service costs %.2f allocations more than a plain one (%.2f, %.2f); want 1, its settings", d, plain, essential)
	}
}

// startedRunner is a Runner that says it started and waits for ctx.
type startedRunner struct{ started *sync.WaitGroup }

func (r startedRunner) Run(ctx context.Context) error {
	r.started.Done()
	<-ctx.Done()
	return nil
}
