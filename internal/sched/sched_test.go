package sched_test

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"

	"github.com/lifecyclesim/lifecycle/internal/sched"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// toy runs goroutines a and b, each passing points 1 and 2 and appending
// to a shared log, under s; it returns the log.
func toy(t *testing.T, s *sched.Scheduler) string {
	var mu sync.Mutex
	var log []string
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		for _, g := range []string{"a", "b"} {
			wg.Go(func() {
				for _, p := range []string{"1", "2"} {
					s.Yield(p, g)
					mu.Lock()
					log = append(log, g+p)
					mu.Unlock()
				}
			})
		}
		for {
			synctest.Wait()
			if !s.Next(false) {
				break
			}
		}
		wg.Wait()
	})
	return strings.Join(log, " ")
}

func TestPCT_SameSeedSameInterleaving(t *testing.T) {
	seen := map[string]bool{}
	for seed := range uint64(30) {
		first := toy(t, sched.New(sched.NewPCT(seed, 3, 4)))
		for range 5 {
			if again := toy(t, sched.New(sched.NewPCT(seed, 3, 4))); again != first {
				t.Fatalf("seed %d: %q then %q", seed, first, again)
			}
		}
		seen[first] = true
	}
	// Of the 6 interleavings of two goroutines of two steps, PCT with
	// depth 3 reaches several.
	if len(seen) < 3 {
		t.Errorf("30 seeds gave %d interleavings %v; want at least 3", len(seen), seen)
	}
}

func TestExplorer_CountsInterleavingsByPreemptionBound(t *testing.T) {
	// Two goroutines of two points each: 6 interleavings in all.
	for bound, want := range []int{2, 4, 6} {
		x := sched.NewExplorer(bound)
		got := map[string]bool{}
		for x.Next() {
			got[toy(t, sched.New(x))] = true
		}
		if x.Err() != nil {
			t.Fatal(x.Err())
		}
		if len(got) != want || x.Runs() != want {
			t.Errorf("bound %d: %d runs, %d distinct interleavings %v; want %d", bound, x.Runs(), len(got), got, want)
		}
	}
}

func TestScheduler_LabelsTellGoroutinesApart(t *testing.T) {
	s := sched.New(sched.NewPCT(1, 1, 0))
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		for _, g := range []string{"x", "y"} {
			wg.Go(func() { s.Label(g); s.Yield("p", "") })
		}
		synctest.Wait()
		for s.Next(false) {
			synctest.Wait()
		}
		wg.Wait()
	})
	if got := s.Collisions(); got != 0 {
		t.Errorf("Collisions() = %d; want 0", got)
	}
	trail := strings.Join(s.Trail(), " ")
	if trail != "x@p y@p" && trail != "y@p x@p" {
		t.Errorf("Trail() = %q; want x@p and y@p", trail)
	}
}

// A point passed without a key takes the goroutine's label, else (with
// Learn) the identity of its last keyed point, else its creator's label
// with "/child".
func TestScheduler_IdentityOfUnkeyedPoints(t *testing.T) {
	s := sched.New(sched.NewPCT(1, 1, 1))
	s.Learn()
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		wg.Go(func() {
			s.Yield("supervise.run", "svc0")
			s.Yield("tracker.update", "")
		})
		wg.Go(func() {
			s.Label("driver.health0")
			var inner sync.WaitGroup
			inner.Go(func() { s.Yield("tracker.health", "") })
			inner.Wait()
		})
		wg.Go(func() { s.Yield("tracker.health", "") })
		for {
			synctest.Wait()
			if !s.Next(false) {
				break
			}
		}
		wg.Wait()
	})
	got := map[string]bool{}
	for _, c := range s.Trail() {
		got[c] = true
	}
	for _, want := range []string{"svc0/supervise@supervise.run", "svc0/supervise@tracker.update",
		"driver.health0/child@tracker.health", "?tracker.health@tracker.health"} {
		if !got[want] {
			t.Errorf("trail %q lacks %q", s.Trail(), want)
		}
	}
}
