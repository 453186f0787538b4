package fakeclock

import (
	"testing/synctest"
)

// Drive runs the simulation until done is closed. It must be called from
// a goroutine inside a testing/synctest bubble in which the clock and
// every goroutine using it were created. It repeats:
//
//  1. synctest.Wait: let every other goroutine in the bubble run until it
//     is durably blocked (on the clock's channels, among others);
//  2. if done is closed, return;
//  3. Step: fire the earliest timer, moving time to its deadline.
//
// Firing one timer per Wait gives goroutines woken by fake time the same
// order on every run. Drive fails the test (see [New]) when it is called
// outside a bubble, when nothing is pending and done is not closed (a
// deadlock in virtual time), and when it has fired the step limit's worth
// of timers (see [Clock.SetStepLimit]) without done being closed. A nil
// done is never closed. Only one goroutine of a bubble may be in
// synctest.Wait at a time, so run a single Drive per bubble.
func (c *Clock) Drive(done <-chan struct{}) {
	limit := c.StepLimit()
	for steps := 0; ; steps++ {
		if err := wait(); err != nil {
			if c.tb != nil {
				c.tb.Helper()
			}
			c.misuse("Drive must run inside a testing/synctest bubble (synctest.Wait: %v)", err)
		}
		select {
		case <-done:
			return
		default:
		}
		if limit > 0 && steps >= limit {
			if c.tb != nil {
				c.tb.Helper()
			}
			c.misuse("step limit of %d timers reached at %v with %d pending and done not closed: a timer loop that never ends? (see SetStepLimit)",
				limit, c.Now(), c.Pending())
		}
		if !c.Step() {
			if c.tb != nil {
				c.tb.Helper()
			}
			c.misuse("deadlock at %v: nothing pending and done not closed", c.Now())
		}
	}
}

// wait calls synctest.Wait and returns its panic value, if any.
func wait() (err any) {
	defer func() { err = recover() }()
	synctest.Wait()
	return nil
}

// SetStepLimit sets how many timers one call of [Clock.Drive] may fire
// before it fails the test; n <= 0 removes the limit. The default is
// [DefaultStepLimit]. It is safe to call concurrently.
func (c *Clock) SetStepLimit(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stepLimit = n
}

// StepLimit returns the limit set by [Clock.SetStepLimit].
func (c *Clock) StepLimit() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stepLimit
}
