package lifecycle

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"
)

// serviceCtx is a service's own context in an ordered shutdown: Run's
// context (its values, its deadline), done when Run's is, or before, when
// the service's turn cancels it.
//
// It is the Manager's own rather than a context.WithCancel of Run's
// because a context each is most of what ordered shutdown costs a fleet
// (BenchmarkStartCancelOrderedPaired, docs/performance.md): WithCancel
// allocates a context, a cancel function and a place in its parent's set
// of children, and each cancellation takes it out of that set again. A
// serviceCtx lives inside the service's svExtra, makes its Done channel
// only when asked for it, and is not in any set: when Run's context is
// done, Run cancels every service's context itself (see Run). So a
// service's context is done a moment after Run's, on Run's goroutine, as
// a context derived from a parent of a type the context package does not
// know is; the Manager checks Run's context beside it wherever it decides
// (sv.stopping), so nothing it decides waits on that moment.
//
// Contexts derived from it (context.WithCancel, WithTimeout, AfterFunc)
// are cancelled with it, synchronously, through its AfterFunc method,
// with no goroutine each.
type serviceCtx struct {
	parent context.Context // Run's
	state  atomic.Uint32   // made and cancelled bits, set under mu
	mu     sync.Mutex      // guards ch's making, err and afters
	ch     chan struct{}   // Done's channel; read without mu once made is set
	err    error           // set once, under mu, before the cancelled bit and the close
	afters map[*afterFunc]struct{}
}

// The bits of serviceCtx.state.
const (
	ctxMade      = 1 << iota // ch is made (or is closedCh)
	ctxCancelled             // err is set, and ch closed or about to be
)

// afterFunc is a function registered by AfterFunc.
type afterFunc struct{ f func() }

// closedCh is Done's channel for a context cancelled before anyone asked
// for its channel.
var closedCh = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Deadline returns Run's context's deadline.
func (c *serviceCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Value returns Run's context's value for key.
func (c *serviceCtx) Value(key any) any { return c.parent.Value(key) }

// Done returns a channel closed once the context is cancelled.
func (c *serviceCtx) Done() <-chan struct{} {
	if c.state.Load()&ctxMade != 0 {
		return c.ch
	}
	return c.makeDone()
}

// makeDone is Done the first time.
func (c *serviceCtx) makeDone() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load()&ctxMade == 0 {
		c.ch = make(chan struct{})
		c.state.Store(ctxMade)
	}
	return c.ch
}

// Err returns nil until the context is cancelled, and then why:
// context.Canceled for the service's turn, Run's context's error for Run's.
func (c *serviceCtx) Err() error {
	if !c.cancelled() {
		return nil
	}
	<-c.Done() // closed by now, or in a moment by the cancel that set the bit
	return c.err
}

// cancelled reports whether the context is cancelled: its error set, and
// its Done channel closed or, in a moment, closing. It is what the
// supervise loop asks, with no channel to poll.
func (c *serviceCtx) cancelled() bool { return c.state.Load()&ctxCancelled != 0 }

// String says what the context is, as the context package's do.
func (c *serviceCtx) String() string {
	if s, ok := c.parent.(interface{ String() string }); ok {
		return s.String() + ".lifecycle.ServiceContext"
	}
	return "lifecycle.ServiceContext"
}

// AfterFunc arranges to call f once the context is cancelled, on the
// goroutine that cancels it, or if it already is, at once on a goroutine
// of its own (the context package calls AfterFunc holding a lock that f
// takes); stop deregisters f and reports whether it did so before f was
// called. The context package uses it for contexts derived from this one
// (see context.AfterFunc).
func (c *serviceCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f}
	c.mu.Lock()
	if c.cancelled() {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.afters == nil {
		c.afters = make(map[*afterFunc]struct{})
	}
	c.afters[a] = struct{}{}
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, waiting := c.afters[a]
		delete(c.afters, a)
		return waiting
	}
}

// cancel cancels the context with err, unless it is already cancelled,
// and then calls the functions registered with AfterFunc.
func (c *serviceCtx) cancel(err error) {
	c.mu.Lock()
	if c.cancelled() {
		c.mu.Unlock()
		return
	}
	// The error first, then the close, as the context package does: a
	// goroutine woken by Done finds Err set, and Err, set, waits for the
	// close. (The close came first once, and TestSimSchedClock saw a
	// Worker woken by it read Err as nil and return nil, a failure.)
	c.err = err
	var ch chan struct{} // to close
	if c.state.Load()&ctxMade != 0 {
		ch = c.ch
	} else {
		c.ch = closedCh
	}
	c.state.Store(ctxMade | ctxCancelled)
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	// Cancelled but not yet closed: a scheduling point, so that the
	// scheduled sim runs what wakes at the close after what only looks.
	schedpoint.Yield("ctx.cancel", nil)
	if ch != nil {
		close(ch)
	}
	for a := range afters {
		a.f()
	}
}
