package fakeclock

import (
	"cmp"
	"slices"
	"time"
)

// Kind is what a timer does when it is delivered.
type Kind uint8

const (
	// ChanTimer is a timer of After, NewTimer or Sleep: a send on its channel.
	ChanTimer Kind = iota
	// FuncTimer is a timer of AfterFunc: go f().
	FuncTimer
	// ContextTimer is the deadline of a context from WithDeadline or
	// WithTimeout: the context is cancelled with DeadlineExceeded.
	ContextTimer
)

func (k Kind) String() string {
	switch k {
	case ChanTimer:
		return "chan"
	case FuncTimer:
		return "func"
	case ContextTimer:
		return "context"
	}
	return "kind?"
}

// heldTimer is a timer whose instant has passed but whose delivery waits.
type heldTimer struct {
	t   *timer
	due uint64 // delivered once the clock has moved to due instants
}

// pause is one goroutine inside Pause, waiting for a Step to serve it.
type pause struct {
	key  string
	d    time.Duration
	done chan struct{}
}

// SetLate makes time lie the way a loaded machine does: a timer's instant
// passes on Now() while its delivery (the send on its channel, go f(), or
// its context's Done and Err) comes later, with other goroutines running
// in between.
//
// Whenever Step takes a timer from the heap it calls late(kind, deadline)
// on the stepping goroutine. If late returns n > 0, Now() moves to the
// deadline as usual but the delivery is held back until time has moved on
// n more times (to n later instants: later deadlines, or Pause jumps), so
// Now() may be well past the held deadline when it is delivered, and a
// driver that calls synctest.Wait between Steps (as [Clock.Drive] does)
// lets every goroutine run to a standstill in between. A held delivery is
// made by a Step of its own, first thing at the instant its turn comes;
// when nothing else is left, time stands still and the oldest is made. Stopping a held timer (NewTimer's stop, a
// context's cancel) reports that it already fired, and removes the
// delivery if it is a channel send.
//
// late is called only from Step (Advance and AdvanceTo deliver every timer
// on time), under the clock's lock: it must be quick and must not use the
// clock. A late that depends only on its arguments and on a seeded random
// source keeps a simulation deterministic, since Step is called from one
// goroutine at points fixed by synctest.Wait. SetLate(nil), the default,
// delivers every timer as it fires; then Step behaves exactly as if
// SetLate had never been called.
func (c *Clock) SetLate(late func(k Kind, deadline time.Time) int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.late = late
}

// Pause makes time pass while the calling goroutine runs its own code, as
// when a machine deschedules it between two instructions: it blocks until
// a Step serves it, and that Step moves Now() forward by d (d <= 0: not at
// all) without delivering anything. Timers whose deadline the jump passes
// stay pending, and are delivered late by the Steps after it.
//
// Pause is deterministic where a direct jump of the clock from a goroutine
// would not be: the goroutines that call Pause are all parked when the
// driver's synctest.Wait returns, and Step serves them one per Step, in
// key order, once every timer due at the current instant (and every held
// delivery whose turn has come) has been delivered. Keys must therefore
// be unique among the goroutines that may pause at the same instant (two
// with the same key are served in arrival order, which the Go scheduler
// decides). A Pause is counted by [Clock.Pending], so [Clock.Drive] serves
// it like a timer.
func (c *Clock) Pause(key string, d time.Duration) {
	p := &pause{key: key, d: d, done: make(chan struct{})}
	c.mu.Lock()
	c.pauses = append(c.pauses, p)
	c.mu.Unlock()
	<-p.done
}

// faultyStepLocked is Step when a fault is set or pending. It is called
// with c.mu held and returns with it released.
//
// Everything at one instant happens in this order, one thing per Step:
// the held deliveries whose turn has come (in the order they were held),
// the timers due at the instant (by sequence), the Pauses (by key); then a
// Step that only moves Now() to the next deadline. Lateness is counted in
// such moves (instants), not in Steps: the timers of one instant may be
// taken in an order the Go scheduler chose (goroutines of one cascade
// arming equal deadlines), which must not change when a delivery is made
// or where time jumps.
func (c *Clock) faultyStepLocked() bool {
	switch {
	case len(c.held) > 0 && c.held[0].due <= c.instants:
		t := c.held[0].t // held is sorted by due
		c.held = slices.Delete(c.held, 0, 1)
		c.mu.Unlock()
		t.fire()
		return true

	case len(c.timers) > 0 && !c.timers[0].when.After(c.now):
		t := c.popLocked()
		if c.late != nil {
			if n := c.late(t.kind(), t.when); n > 0 {
				c.held = append(c.held, heldTimer{t: t, due: c.instants + uint64(n)})
				slices.SortStableFunc(c.held, func(a, b heldTimer) int { return cmp.Compare(a.due, b.due) })
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
		t.fire()
		return true

	case len(c.pauses) > 0:
		i := 0
		for j, p := range c.pauses {
			if p.key < c.pauses[i].key {
				i = j
			}
		}
		p := c.pauses[i]
		c.pauses = slices.Delete(c.pauses, i, i+1)
		if p.d > 0 {
			c.now = c.now.Add(p.d)
			c.instants++
		}
		c.mu.Unlock()
		close(p.done)
		return true

	case len(c.timers) > 0: // move to the next instant
		c.now = c.timers[0].when
		c.instants++
		c.mu.Unlock()
		return true

	case len(c.held) > 0: // nothing left to wait for: the oldest held now
		c.instants = c.held[0].due
		c.mu.Unlock()
		return true
	}
	c.mu.Unlock()
	return false
}

// kind says what t does when it is delivered.
func (t *timer) kind() Kind {
	switch {
	case t.fn != nil:
		return FuncTimer
	case t.ctx != nil:
		return ContextTimer
	}
	return ChanTimer
}
