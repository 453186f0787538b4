package fakeclock

import (
	"container/heap"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// TB is the part of [testing.TB] that a [Clock] uses to fail a test when it
// is misused. *testing.T, *testing.B and *testing.F satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// DefaultStepLimit is the number of timers [Clock.Drive] fires before it
// reports a runaway simulation, unless changed with [Clock.SetStepLimit].
const DefaultStepLimit = 1_000_000

// Clock is a fake clock whose time moves only when [Clock.Step],
// [Clock.Advance], [Clock.AdvanceTo] or [Clock.Drive] is called. It
// satisfies lifecycle.Clock and lifecycle.TimerClock.
//
// All methods are safe for concurrent use. Timers fired by concurrent calls
// of Step, Advance and AdvanceTo may be delivered in any order relative to
// each other: drive the clock from one goroutine to get the deterministic
// (deadline, sequence) order described in the package documentation.
type Clock struct {
	tb TB // nil: misuse panics

	mu        sync.Mutex // guards now, seq, timers, stepLimit, popped and the faults below
	now       time.Time
	seq       uint64
	timers    timerHeap
	stepLimit int

	// Tie-break (SetTieBreak); nil tie: equal deadlines by sequence.
	tie    atomic.Pointer[func() string] // names the goroutine arming a timer
	popped uint64                        // timers taken from the heap: when, in a run, a timer was armed

	// Faults (faults.go); all zero by default, and then Step is exactly
	// "fire the earliest timer".
	late     func(Kind, time.Time) int // nil: every timer is delivered as it fires
	instants uint64                    // times Now moved under faults: the unit of lateness
	held     []heldTimer               // taken from the heap, not yet delivered
	pauses   []*pause                  // Pause calls waiting to be served
}

// New returns a Clock whose time is start (with any monotonic clock
// reading stripped). Misuse of the clock calls tb.Fatalf and then panics,
// in case Fatalf returns; with a nil tb misuse panics with a message
// starting "fakeclock: ".
func New(tb TB, start time.Time) *Clock {
	return &Clock{tb: tb, now: start.Round(0), stepLimit: DefaultStepLimit}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since returns the time elapsed on the clock since t: Now().Sub(t).
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Until returns the duration on the clock until t: t.Sub(Now()).
func (c *Clock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// After returns a channel of capacity 1 on which the timer's deadline,
// Now()+d, is sent when the clock fires the timer. If d <= 0 the channel
// already holds Now() when After returns and no timer is registered, as
// with time.After. A timer from After that nobody reads stays pending until
// it fires; use [Clock.NewTimer] to be able to remove it.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch, _ := c.NewTimer(d)
	return ch
}

// Sleep blocks until the clock has fired a timer of duration d, which
// takes another goroutine calling Step, Advance, AdvanceTo or Drive. If
// d <= 0 Sleep returns at once.
func (c *Clock) Sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	<-c.After(d)
}

// NewTimer is like [Clock.After], but also returns stop, which removes
// the timer from the clock and drains the channel, so no value is received
// after stop returns (like time.Timer.Stop since Go 1.23). stop reports
// whether it removed the timer before it fired; it is safe to call more
// than once and concurrently with the clock being advanced. NewTimer
// satisfies lifecycle.TimerClock.
func (c *Clock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := &timer{ch: make(chan time.Time, 1), index: -1, armer: c.armer()}
	c.mu.Lock()
	if d <= 0 {
		// Due now: deliver it during the call, as package time does.
		t.when = c.now
		c.mu.Unlock()
		t.fire()
	} else {
		c.addLocked(t, c.now.Add(d))
		c.mu.Unlock()
	}
	return t.ch, func() bool {
		removed := c.remove(t)
		t.stopAndDrain()
		return removed
	}
}

// AfterFunc arranges for go f() once the clock fires a timer of duration
// d; f never runs on the goroutine advancing the clock nor under the
// clock's lock. If d <= 0, AfterFunc starts go f() before it returns. stop
// removes the timer and reports whether it did so before the timer fired.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	t := &timer{fn: f, armer: c.armer()}
	c.mu.Lock()
	c.addLocked(t, c.now.Add(d))
	c.mu.Unlock()
	return func() bool { return c.remove(t) }
}

// Next returns the earliest pending deadline, or false if no timer is
// pending. The earliest deadline is never before Now().
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) > 0 {
		return c.held[0].t.when, true // already passed: see SetLate
	}
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// Reach returns how far the next Step may move Now() to reach a timer's
// deadline: the earliest pending timer's distance from Now(), or 0 if no
// timer is pending (a Step may still deliver a held-back timer or serve a
// Pause, whose own jump its caller chose). A driver that lets time pass
// while goroutines are parked uses it to bound how long one is
// descheduled.
func (c *Clock) Reach() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return 0
	}
	return c.timers[0].when.Sub(c.now)
}

// Pending returns the number of pending timers: those of After, NewTimer,
// Sleep and AfterFunc that are neither fired nor stopped, and one for each
// context from WithDeadline or WithTimeout that is not yet done. Under the
// faults of [Clock.SetLate] and [Clock.Pause] it also counts the
// deliveries held back and the Pause calls waiting: Step has work to do
// for each.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers) + len(c.held) + len(c.pauses)
}

// Step fires exactly one timer, the earliest by (deadline, creation
// sequence), after setting Now() to its deadline, and reports whether
// there was one. A context whose deadline timer fires is cancelled before
// Step returns; an AfterFunc callback has been started with go but may not
// have run yet.
//
// Under the faults of [Clock.SetLate] and [Clock.Pause] a Step does one
// thing of these, the first that applies: deliver one held-back timer
// whose turn has come; take a timer due at the current instant (and maybe
// hold its delivery back); serve one waiting Pause; move Now() to the next
// deadline without delivering anything.
func (c *Clock) Step() bool {
	c.mu.Lock()
	if c.late != nil || len(c.held) > 0 || len(c.pauses) > 0 {
		return c.faultyStepLocked()
	}
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return false
	}
	t := c.popLocked()
	c.mu.Unlock()
	t.fire()
	return true
}

// AdvanceTo fires, one by one in (deadline, sequence) order, every timer
// whose deadline is not after t, setting Now() to each timer's own deadline
// before firing it, and then sets Now() to t. Timers armed during the call
// with a deadline not after t fire too. AdvanceTo does not wait for the
// goroutines woken by one timer before firing the next; [Clock.Drive] does.
// A t before Now() is misuse: it fails the test (see [New]).
func (c *Clock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	if now := c.now; t.Before(now) {
		c.mu.Unlock()
		if c.tb != nil {
			c.tb.Helper()
		}
		c.misuse("AdvanceTo(%v) would move time back from %v", t, now)
	}
	c.advanceLocked(t)
}

// Advance is AdvanceTo(Now().Add(d)), with Now read under the same lock
// as the first timer is taken. A negative d is misuse: it fails the test
// (see [New]).
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		if c.tb != nil {
			c.tb.Helper()
		}
		c.misuse("Advance(%v): negative duration at %v", d, c.Now())
	}
	c.mu.Lock()
	c.advanceLocked(c.now.Add(d))
}

// advanceLocked fires the timers due by t and moves now to t. It is called
// with c.mu held and returns with it released.
func (c *Clock) advanceLocked(t time.Time) {
	for len(c.timers) > 0 && !c.timers[0].when.After(t) {
		tm := c.popLocked()
		c.mu.Unlock()
		tm.fire()
		c.mu.Lock()
	}
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// addLocked registers t to fire at when (> c.now). c.mu must be held.
func (c *Clock) addLocked(t *timer, when time.Time) {
	c.seq++
	t.when, t.seq, t.popped = when, c.seq, c.popped
	heap.Push(&c.timers, t)
}

// SetTieBreak makes timers of one deadline fire in an order that does not
// depend on the order in which goroutines running at once armed them (the
// Go scheduler's). armer names the calling goroutine, or returns "" if it
// cannot; it is called as each timer is armed, outside the clock's lock.
// Timers of one deadline then fire in the order of: how many timers the
// clock had taken when each was armed (so a timer armed after an earlier
// one fired is still younger); unnamed before named; the armer's name;
// then creation sequence. A simulation that fires one timer per
// quiescence and names goroutines the same way in every run (a seeded
// scheduler's identities) so replays them exactly, as long as the
// goroutines of one name, and those with none, arm their timers one after
// the other. Call it before any timer is armed. A nil armer restores
// (deadline, sequence) order for timers armed after.
func (c *Clock) SetTieBreak(armer func() string) {
	if armer == nil {
		c.tie.Store(nil)
		return
	}
	c.tie.Store(&armer)
}

// armer names the goroutine arming a timer, by the function of
// SetTieBreak, or returns "".
func (c *Clock) armer() string {
	if tie := c.tie.Load(); tie != nil {
		return (*tie)()
	}
	return ""
}

// popLocked removes the earliest timer and moves now to its deadline.
// c.mu must be held and c.timers non-empty.
func (c *Clock) popLocked() *timer {
	c.popped++
	t := heap.Pop(&c.timers).(*timer)
	if t.when.After(c.now) {
		c.now = t.when
	}
	return t
}

// remove unregisters t and reports whether it was still pending.
func (c *Clock) remove(t *timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	t.index = -1
	return true
}

// misuse reports a programmer error: tb.Fatalf (which stops the calling
// goroutine when tb is a *testing.T), then a panic in case it returned.
func (c *Clock) misuse(format string, args ...any) {
	msg := "fakeclock: " + fmt.Sprintf(format, args...)
	if c.tb != nil {
		c.tb.Helper()
		c.tb.Fatalf("%s", msg)
	}
	panic(msg)
}
