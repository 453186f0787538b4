package lifecycle

import (
	"context"
	"time"
)

// Clock is the source of time for a [Manager]: every wait the Manager does
// (restart backoff, the measurement of how long an attempt ran, every Stop
// deadline) goes through it, so a fake clock controls all of them.
//
// Clock is a subset of github.com/benbjohnson/clock's Clock interface whose
// methods use only standard-library types, so clock.New() and clock.NewMock()
// from that module satisfy it as they are. Implementations must be safe for
// concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Since returns the time elapsed since t.
	Since(t time.Time) time.Duration
	// After waits for d to elapse and then sends the current time on the
	// returned channel.
	After(d time.Duration) <-chan time.Time
	// WithTimeout returns a copy of parent that is cancelled with
	// context.DeadlineExceeded once d has elapsed on this clock.
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// TimerClock is an optional interface for a [Clock] whose waits can be
// cancelled. When the Manager's clock implements it, the Manager uses
// NewTimer instead of After for restart backoff and calls stop when the wait
// is cut short by cancellation, so a fake clock is not left holding timers
// that nobody will read.
type TimerClock interface {
	Clock
	// NewTimer is like After, but also returns a function that stops the
	// timer; stop reports whether it stopped the timer before it fired.
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// realClock is the default Clock: package time.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) Since(t time.Time) time.Duration        { return time.Since(t) }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

// sleep waits d on c and reports true, or reports false as soon as ctx is
// done; d <= 0 does not wait, unless ctx is already done.
func sleep(ctx context.Context, c Clock, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	return d <= 0 || wait(c, d, ctx.Done(), nil)
}

// waitReusing is wait on the real clock with a timer that lasts: *t, made
// at the first call and Reset at each later one, so that a run of waits
// (a supervise loop's restarts, a shutdown's turns) makes one timer.
func waitReusing(t **time.Timer, d time.Duration, done <-chan struct{}) bool {
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	select {
	case <-(*t).C:
		return true
	case <-done:
		(*t).Stop()
		return false
	}
}

// wait waits d on c and reports true, or reports false as soon as done or
// also is closed (a nil channel is never ready). On a [TimerClock] a wait
// cut short stops its timer, so a fake clock is not left holding it.
func wait(c Clock, d time.Duration, done, also <-chan struct{}) bool {
	switch c := c.(type) {
	case realClock:
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-done:
			return false
		case <-also:
			return false
		}
	case TimerClock:
		ch, stop := c.NewTimer(d)
		select {
		case <-ch:
			return true
		case <-done:
			stop()
			return false
		case <-also:
			stop()
			return false
		}
	default:
		select {
		case <-c.After(d):
			return true
		case <-done:
			return false
		case <-also:
			return false
		}
	}
}
