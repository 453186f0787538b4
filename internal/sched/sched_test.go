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

// race is a Manager's wait for a Stop call in small: goroutine "m" parks
// at "m.select" and then selects on the call's end and on a deadline;
// goroutine "call" parks at "call.after" and then sends its end. The
// clock, when chosen, closes the deadline. race returns the case m took
// ("end" or "deadline") and the choices made.
func race(t *testing.T, s *sched.Scheduler) (took string, trail []string) {
	synctest.Test(t, func(t *testing.T) {
		ended, deadline := make(chan struct{}, 1), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			s.Yield("m.select", "m")
			select {
			case <-ended:
				took = "end"
			case <-deadline:
				took = "deadline"
			}
		})
		wg.Go(func() {
			s.Yield("call.after", "call")
			ended <- struct{}{}
		})
		clockReady := true
		for {
			synctest.Wait()
			if s.Next(clockReady) {
				continue
			}
			if !clockReady || s.Parked() == 0 {
				break
			}
			clockReady = false
			close(deadline)
		}
		wg.Wait()
	})
	return took, s.Trail()
}

// Without Select, the scheduler lets the clock and the sender through
// before the goroutine parked at the select: it then finds both cases
// ready, and Go takes either at random. With Select, no interleaving
// does, so each one ends the same way every time.
func TestScheduler_SelectNeverFindsTwoCasesReady(t *testing.T) {
	both := func(trail []string) bool {
		return len(trail) == 3 && trail[2] == "m/m@m.select"
	}
	x := sched.NewExplorer(3)
	found := false
	for x.Next() {
		_, trail := race(t, sched.New(x))
		found = found || both(trail)
	}
	if !found {
		t.Fatalf("without Select no interleaving let the clock and the sender through first")
	}

	x = sched.NewExplorer(3)
	outcomes := map[string]string{} // trail -> case taken
	for x.Next() {
		s := sched.New(x)
		s.Select("m.select", "call.after")
		took, trail := race(t, s)
		if both(trail) {
			t.Errorf("with Select, interleaving %q lets the clock and the sender through before m", trail)
		}
		key := strings.Join(trail, " ")
		for range 20 { // Go's select would differ from run to run with both ready
			s := sched.New(replay(trail))
			s.Select("m.select", "call.after")
			if again, trail2 := race(t, s); again != took || strings.Join(trail2, " ") != key {
				t.Fatalf("interleaving %q took %s, then %s (%q)", key, took, again, trail2)
			}
		}
		outcomes[key] = took
	}
	if err := x.Err(); err != nil {
		t.Fatal(err)
	}
	// m first; call then m; clock then m (the call waits for m); clock, m
	// and call: both cases are still reached.
	seen := map[string]bool{}
	for _, took := range outcomes {
		seen[took] = true
	}
	if !seen["end"] || !seen["deadline"] {
		t.Errorf("outcomes %v; want both the end and the deadline taken in some interleaving", outcomes)
	}
}

// replay is a Strategy that makes the choices of a trail again.
type replay []string

func (r replay) Choose(step int, _ string, opts []string) int {
	want, _, _ := strings.Cut(r[step], "@")
	for i, o := range opts {
		if o == want {
			return i
		}
	}
	panic("replay: " + want + " not offered")
}

// Identity names a goroutine as Yield names it at an unkeyed point, or ""
// when it has no name: fakeclock's SetTieBreak orders timers by it.
func TestScheduler_IdentityNamesTheCallingGoroutine(t *testing.T) {
	s := sched.New(sched.NewPCT(1, 1, 1))
	s.Learn()
	got := map[string]string{}
	var mu sync.Mutex
	record := func(who string) { mu.Lock(); got[who] = s.Identity(); mu.Unlock() }
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		wg.Go(func() { s.Label("driver.stop1"); record("labelled") })
		wg.Go(func() { s.Yield("supervise.run", "svc0"); record("learned") })
		wg.Go(func() {
			s.Label("driver.stop2")
			var inner sync.WaitGroup
			inner.Go(func() { record("child") })
			inner.Wait()
		})
		wg.Go(func() { record("unknown") })
		for {
			synctest.Wait()
			if !s.Next(false) {
				break
			}
		}
		wg.Wait()
	})
	want := map[string]string{"labelled": "driver.stop1", "learned": "svc0/supervise", "child": "driver.stop2/child", "unknown": ""}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s goroutine: Identity() = %q; want %q", k, got[k], w)
		}
	}
}
