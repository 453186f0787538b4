package fakeclock_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

// arming is one timer armed in a tie-break test: by goroutine who (""
// for one the armer cannot name), of kind "after", "func" or "ctx".
type arming struct{ who, kind string }

// fireOrder arms the timers in order, all due at one deadline, on a clock
// whose armer returns the name of the arming in progress, and returns
// the names of the timers as Step fires them ("who#k", k counting that
// armer's timers).
func fireOrder(t *testing.T, arms []arming) (fired []string) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		who := ""
		c.SetTieBreak(func() string { return who })
		var mu sync.Mutex // guards fired
		var chans []<-chan time.Time
		var ctxs []context.Context
		var names, ctxNames []string
		seen := map[string]int{}
		for _, a := range arms {
			who = a.who
			seen[a.who]++
			name := fmt.Sprintf("%s#%d", a.who, seen[a.who])
			switch a.kind {
			case "after":
				chans, names = append(chans, c.After(time.Second)), append(names, name)
			case "func":
				c.AfterFunc(time.Second, func() { mu.Lock(); fired = append(fired, name); mu.Unlock() })
			case "ctx":
				ctx, cancel := c.WithTimeout(context.Background(), time.Second)
				defer cancel()
				ctxs, ctxNames = append(ctxs, ctx), append(ctxNames, name)
			}
		}
		who = "" // nothing is armed while firing
		for c.Step() {
			synctest.Wait() // an AfterFunc's callback has run
			mu.Lock()
			for i, ch := range chans {
				if _, ok := ready(ch); ok {
					fired = append(fired, names[i])
				}
			}
			for i, ctx := range ctxs {
				if ctx.Err() != nil && !slices.Contains(fired, ctxNames[i]) {
					fired = append(fired, ctxNames[i])
				}
			}
			mu.Unlock()
		}
	})
	return fired
}

func TestSetTieBreak_EqualDeadlinesByArmerNotByArmingOrder(t *testing.T) {
	// b and a arm at once (their order is the Go scheduler's); the
	// goroutine the armer cannot name goes first, then by name, each
	// armer's timers in the order it armed them.
	want := []string{"#1", "a#1", "a#2", "b#1"}
	for _, arms := range [][]arming{
		{{"b", "after"}, {"a", "ctx"}, {"", "after"}, {"a", "after"}},
		{{"a", "ctx"}, {"a", "after"}, {"b", "after"}, {"", "after"}},
		{{"", "after"}, {"a", "ctx"}, {"b", "after"}, {"a", "after"}},
	} {
		if got := fireOrder(t, arms); !slices.Equal(got, want) {
			t.Errorf("armed %v: fired %v; want %v", arms, got, want)
		}
	}
}

func TestSetTieBreak_ATimerArmedAfterAStepIsYounger(t *testing.T) {
	c := fakeclock.New(t, start)
	who := "b"
	c.SetTieBreak(func() string { return who })
	old := c.After(2 * time.Second)
	c.After(time.Second) // fires first, so what is armed next is younger
	if !c.Step() {
		t.Fatal("Step() = false; want true")
	}
	who = "a" // sorts before "b", and still fires after the older timer
	young := c.After(time.Second)
	c.Step()
	if _, ok := ready(old); !ok {
		t.Errorf("the timer armed before the Step did not fire first")
	}
	if _, ok := ready(young); ok {
		t.Errorf("the timer armed after the Step fired with the older one")
	}
}

func TestSetTieBreak_NilKeepsCreationOrder(t *testing.T) {
	c := fakeclock.New(t, start)
	c.SetTieBreak(nil)
	first, second := c.After(time.Second), c.After(time.Second)
	c.Step()
	if _, ok := ready(first); !ok {
		t.Errorf("the older timer did not fire first")
	}
	if _, ok := ready(second); ok {
		t.Errorf("the younger timer fired with the older one")
	}
}

// Any interleaving of the armers' timers (each armer's own in order)
// fires in one order: the property a replaying simulation needs.
func TestSetTieBreak_OrderIndependentOfInterleaving(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		kinds := rapid.SampledFrom([]string{"after", "func", "ctx"})
		whos := []string{"", "a", "b", "c"}
		per := map[string][]string{}
		var arms []arming
		for _, w := range whos {
			// The goroutine with no name arms at most one: two such would
			// be ordered by the Go scheduler, which is the limit of the
			// tie-break.
			n := rapid.IntRange(0, 3).Draw(rt, "n_"+w)
			if w == "" {
				n = min(n, 1)
			}
			for range n {
				k := kinds.Draw(rt, "kind")
				per[w] = append(per[w], k)
				arms = append(arms, arming{w, k})
			}
		}
		// Another interleaving of the same per-armer sequences.
		perm := rapid.Permutation(arms).Draw(rt, "interleaving")
		var shuffled []arming
		next := map[string]int{}
		for _, a := range perm {
			shuffled = append(shuffled, arming{a.who, per[a.who][next[a.who]]})
			next[a.who]++
		}
		a, b := fireOrder(t, arms), fireOrder(t, shuffled)
		if !slices.Equal(a, b) {
			rt.Fatalf("armed %v fired %v; armed %v fired %v", arms, strings.Join(a, " "), shuffled, strings.Join(b, " "))
		}
	})
}
