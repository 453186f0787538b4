package lifecycletest

import (
	"context"
	"sync"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// Clock is a [lifecycle.Clock] that passes every call to the clock it
// wraps and counts the waits pending on it, so that a test can wait until
// the Manager (or a Worker) is waiting before it moves a mock clock: see
// [Clock.BlockUntil]. Give the Manager the Clock, with
// [lifecycle.WithClock], and move time on the clock it wraps.
//
// A wait is pending from the call that arms it (After, NewTimer or
// WithTimeout) until its deadline is reached on the wrapped clock, or
// until it is cut short: its timer stopped, its context cancelled. The
// Clock is a [lifecycle.TimerClock], so the Manager stops the waits it
// abandons and they stop counting at once, even when the wrapped clock
// cannot stop its timers (github.com/benbjohnson/clock's Mock, through
// this interface): such a timer is left to fire into a channel nobody
// reads.
//
// The count is exact once every goroutine that arms or abandons a wait is
// parked. A goroutine about to arm a wait is not seen, nor is a wait
// abandoned before the Manager has stopped it; and the count assumes that
// time on the wrapped clock only moves forward, and only from the test's
// own goroutine, as a mock clock's documentation asks.
//
// A Clock is safe for concurrent use. Create it where the test runs: inside
// a testing/synctest bubble if the test runs in one.
type Clock struct {
	inner lifecycle.Clock

	mu      sync.Mutex    // guards waits, changed
	waits   []*pending    // the waits armed and not yet seen to be over
	changed chan struct{} // closed, and replaced, whenever a wait is armed
}

var _ lifecycle.TimerClock = (*Clock)(nil)

// pending is one wait armed on a Clock.
type pending struct {
	deadline time.Time       // on the wrapped clock
	done     <-chan struct{} // a context's Done, closed once it is cancelled; nil for a timer
	stopped  bool            // its timer stopped or its context's cancel called; guarded by Clock.mu
}

// live reports whether p is still pending at now.
func (p *pending) live(now time.Time) bool {
	if p.stopped || !p.deadline.After(now) {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// NewClock returns a Clock that wraps c. It panics if c is nil.
func NewClock(c lifecycle.Clock) *Clock {
	if c == nil {
		panic("lifecycletest: NewClock(nil)")
	}
	return &Clock{inner: c, changed: make(chan struct{})}
}

// Now returns the wrapped clock's Now.
func (c *Clock) Now() time.Time { return c.inner.Now() }

// Since returns the wrapped clock's Since.
func (c *Clock) Since(t time.Time) time.Duration { return c.inner.Since(t) }

// After returns the wrapped clock's After, and counts the wait until its
// deadline.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	now := c.inner.Now()
	ch := c.inner.After(d) // armed before it is counted, so a move that follows the count fires it
	c.arm(&pending{deadline: now.Add(d)})
	return ch
}

// NewTimer is like After, and also returns a function that stops the wait:
// it stops the wrapped clock's timer if that clock is a
// [lifecycle.TimerClock], and stops counting the wait in any case. stop
// reports whether the wait was pending.
func (c *Clock) NewTimer(d time.Duration) (ch <-chan time.Time, stop func() bool) {
	now := c.inner.Now()
	var innerStop func() bool
	if tc, ok := c.inner.(lifecycle.TimerClock); ok {
		ch, innerStop = tc.NewTimer(d)
	} else {
		ch = c.inner.After(d)
	}
	p := &pending{deadline: now.Add(d)}
	c.arm(p)
	return ch, func() bool {
		was := c.stop(p)
		if innerStop != nil {
			return innerStop()
		}
		return was
	}
}

// WithTimeout returns the wrapped clock's WithTimeout, and counts the wait
// until the context's deadline, its cancellation, or the call of its
// cancel function.
func (c *Clock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	now := c.inner.Now()
	ctx, cancel := c.inner.WithTimeout(parent, d)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(d)
	}
	p := &pending{deadline: deadline, done: ctx.Done()}
	c.arm(p)
	return ctx, func() {
		c.stop(p)
		cancel()
	}
}

// Waiters returns the number of waits pending on the Clock now.
func (c *Clock) Waiters() int {
	now := c.inner.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count(now)
}

// BlockUntil blocks until at least n waits are pending on the Clock, as
// clockwork's BlockUntil does. It does not poll: it wakes when a wait is
// armed. Inside a testing/synctest bubble a BlockUntil that can never
// return fails the test as a deadlock; outside one, use
// [Clock.BlockUntilContext] with a deadline.
func (c *Clock) BlockUntil(n int) {
	c.BlockUntilContext(context.Background(), n)
}

// BlockUntilContext is BlockUntil that gives up once ctx is done, and then
// returns ctx.Err(). It returns nil once at least n waits are pending.
func (c *Clock) BlockUntilContext(ctx context.Context, n int) error {
	for {
		now := c.inner.Now()
		c.mu.Lock()
		got, changed := c.count(now), c.changed
		c.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// arm counts p, and wakes every BlockUntil.
func (c *Clock) arm(p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, p)
	close(c.changed)
	c.changed = make(chan struct{})
}

// stop stops counting p, and reports whether it was pending.
func (c *Clock) stop(p *pending) bool {
	now := c.inner.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	was := p.live(now)
	p.stopped = true
	return was
}

// count drops the waits that are over at now, and returns how many are
// left. c.mu must be held.
func (c *Clock) count(now time.Time) int {
	live := c.waits[:0]
	for _, p := range c.waits {
		if p.live(now) {
			live = append(live, p)
		}
	}
	clear(c.waits[len(live):])
	c.waits = live
	return len(live)
}
