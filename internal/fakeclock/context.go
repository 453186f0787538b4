package fakeclock

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// WithTimeout is WithDeadline(parent, Now().Add(d)), with Now read at the
// same instant the timer is armed. If d <= 0 the returned context is
// already done with context.DeadlineExceeded when WithTimeout returns, as
// with context.WithTimeout.
func (c *Clock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if parent == nil {
		if c.tb != nil {
			c.tb.Helper()
		}
		c.misuse("WithTimeout with a nil parent context")
	}
	return c.withDeadline(parent, func(now time.Time) time.Time { return now.Add(d) })
}

// WithDeadline returns a child of parent that is done when the first of
// these happens:
//   - the clock fires its deadline timer (Step, Advance, AdvanceTo or
//     Drive reaching t): Err is context.DeadlineExceeded, set before the
//     firing call returns;
//   - cancel is called: Err is context.Canceled and the timer is removed
//     from the clock;
//   - parent is done: Err is parent's error, the timer is removed.
//
// If t is not after Now() the context is already done with
// context.DeadlineExceeded when WithDeadline returns and holds no timer.
// Deadline reports t even if parent's deadline is earlier; the context
// holds its own timer either way. Contexts derived from it with the
// context package (WithCancel, WithTimeout, ...) are cancelled
// synchronously with it and report its error. cancel is safe to call more
// than once and concurrently. A nil parent is misuse (see [New]).
func (c *Clock) WithDeadline(parent context.Context, t time.Time) (context.Context, context.CancelFunc) {
	if parent == nil {
		if c.tb != nil {
			c.tb.Helper()
		}
		c.misuse("WithDeadline with a nil parent context")
	}
	return c.withDeadline(parent, func(time.Time) time.Time { return t })
}

func (c *Clock) withDeadline(parent context.Context, deadline func(now time.Time) time.Time) (context.Context, context.CancelFunc) {
	ctx := &timerCtx{clock: c, parent: parent, done: make(chan struct{})}
	armer := c.armer()

	// Fix the deadline, then follow the parent (which may cancel ctx at
	// once), then arm the timer unless ctx is done or already expired.
	c.mu.Lock()
	ctx.deadline = deadline(c.now).Round(0)
	c.mu.Unlock()
	ctx.propagateCancel(parent)
	c.mu.Lock()
	expired := !ctx.deadline.After(c.now)
	if !expired && ctx.Err() == nil {
		ctx.timer = &timer{ctx: ctx, armer: armer}
		c.addLocked(ctx.timer, ctx.deadline)
	}
	c.mu.Unlock()
	if expired {
		ctx.cancel(context.DeadlineExceeded)
	}
	return ctx, func() { ctx.cancel(context.Canceled) }
}

// timerCtx is the context of WithDeadline. It owns its Done channel rather
// than wrapping a context.WithCancel: children made by the context package
// would otherwise attach to that inner cancelCtx and report Canceled when
// the fake deadline passes. With its own channel and an AfterFunc method,
// the context package treats it as a foreign parent and registers children
// through AfterFunc, so they get Err() == DeadlineExceeded, with no
// goroutine.
type timerCtx struct {
	clock    *Clock
	parent   context.Context
	deadline time.Time
	done     chan struct{} // closed once err is set
	timer    *timer        // nil if never armed (guarded by clock.mu)

	mu         sync.Mutex  // guards err, viaParent, afterFuncs, stopParent
	err        error       // nil until done
	viaParent  bool        // done because parent was
	afterFuncs []*func()   // run synchronously, in order, by cancel
	stopParent func() bool // unregisters the parent-cancellation callback
}

// Deadline returns the fake deadline given to WithDeadline.
func (ctx *timerCtx) Deadline() (time.Time, bool) { return ctx.deadline, true }

// Done returns a channel that is closed when the context is done.
func (ctx *timerCtx) Done() <-chan struct{} { return ctx.done }

// Err returns nil until the context is done, then why: DeadlineExceeded,
// Canceled, or the parent's error.
func (ctx *timerCtx) Err() error {
	ctx.mu.Lock()
	defer ctx.mu.Unlock()
	return ctx.err
}

// Value returns parent's value for key, except that it hides the parent's
// cancelCtx from context.Cause unless ctx was cancelled through the parent.
// Cause(ctx) is then the parent's cause if the parent's cancellation came
// first, and ctx.Err() if the deadline or cancel came first, as for a
// context.WithDeadline child.
func (ctx *timerCtx) Value(key any) any {
	if key == cancelCtxKey && cancelCtxKey != nil {
		ctx.mu.Lock()
		via := ctx.viaParent
		ctx.mu.Unlock()
		if !via {
			return nil
		}
	}
	return ctx.parent.Value(key)
}

// cancelCtxKey is the key context.Cause passes to Value to find the
// nearest *context.cancelCtx (the address of an unexported variable),
// captured once by asking Cause about a probe. Should Cause stop calling
// Value, it stays nil and Value simply delegates.
var cancelCtxKey = func() (key any) {
	context.Cause(keyProbe{&key})
	return key
}()

// keyProbe is a done context that records the first key it is asked for.
type keyProbe struct{ key *any }

func (keyProbe) Deadline() (time.Time, bool) { return time.Time{}, false }
func (keyProbe) Done() <-chan struct{}       { return nil }
func (keyProbe) Err() error                  { return context.Canceled }
func (p keyProbe) Value(key any) any {
	if *p.key == nil {
		*p.key = key
	}
	return nil
}

// String names the context like the context package does.
func (ctx *timerCtx) String() string {
	parent := fmt.Sprintf("%T", ctx.parent)
	if s, ok := ctx.parent.(fmt.Stringer); ok {
		parent = s.String()
	}
	return fmt.Sprintf("%s.WithDeadline(%v)", parent, ctx.deadline)
}

// AfterFunc registers f to be called when ctx is done and returns a
// function that unregisters it, reporting whether it did so before f was
// called. Unlike context.AfterFunc, f is called synchronously by whatever
// cancels ctx (Step firing the deadline, the CancelFunc, the parent's
// cancellation), outside any lock, so f must be quick and must not block;
// if ctx is already done, f is started with go. The context package uses
// this method to cancel its children without a goroutine.
func (ctx *timerCtx) AfterFunc(f func()) (stop func() bool) {
	ctx.mu.Lock()
	if ctx.err != nil {
		ctx.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	pf := &f
	ctx.afterFuncs = append(ctx.afterFuncs, pf)
	ctx.mu.Unlock()
	return func() bool {
		ctx.mu.Lock()
		defer ctx.mu.Unlock()
		for i, g := range ctx.afterFuncs {
			if g == pf {
				ctx.afterFuncs = append(ctx.afterFuncs[:i], ctx.afterFuncs[i+1:]...)
				return true
			}
		}
		return false
	}
}

// propagateCancel arranges for ctx to be cancelled with parent.
func (ctx *timerCtx) propagateCancel(parent context.Context) {
	done := parent.Done()
	if done == nil {
		return // never cancelled
	}
	select {
	case <-done:
		ctx.cancelViaParent(parent.Err())
		return
	default:
	}
	var stop func() bool
	if p, ok := parent.(*timerCtx); ok {
		// Synchronous, so a whole chain of fake contexts is done when
		// the Step that fired the outermost deadline returns.
		stop = p.AfterFunc(func() { ctx.cancelViaParent(p.Err()) })
	} else {
		stop = context.AfterFunc(parent, func() { ctx.cancelViaParent(parent.Err()) })
	}
	ctx.mu.Lock()
	if ctx.err != nil {
		ctx.mu.Unlock()
		stop()
		return
	}
	ctx.stopParent = stop
	ctx.mu.Unlock()
}

// cancel makes ctx done with err (its deadline or its CancelFunc) unless it
// already is.
func (ctx *timerCtx) cancel(err error) { ctx.doCancel(err, false) }

// cancelViaParent makes ctx done with its parent's err unless it already is.
func (ctx *timerCtx) cancelViaParent(err error) { ctx.doCancel(err, true) }

// doCancel closes Done, removes the deadline timer, stops following the
// parent and calls the AfterFunc callbacks, all but the first outside
// ctx.mu.
func (ctx *timerCtx) doCancel(err error, viaParent bool) {
	ctx.mu.Lock()
	if ctx.err != nil {
		ctx.mu.Unlock()
		return
	}
	ctx.err, ctx.viaParent = err, viaParent
	close(ctx.done)
	fns, stop := ctx.afterFuncs, ctx.stopParent
	ctx.afterFuncs, ctx.stopParent = nil, nil
	ctx.mu.Unlock()

	ctx.clock.removeCtxTimer(ctx)
	if stop != nil {
		stop()
	}
	for _, f := range fns {
		(*f)()
	}
}

// removeCtxTimer unregisters ctx's deadline timer if it is pending.
func (c *Clock) removeCtxTimer(ctx *timerCtx) {
	c.mu.Lock()
	t := ctx.timer
	c.mu.Unlock()
	if t != nil {
		c.remove(t)
	}
}
