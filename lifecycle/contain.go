package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
)

// This file contains what code the Manager calls can do to it: a Run, Stop
// or tick that panics or calls runtime.Goexit, an error whose methods
// panic, and a log handler or events function that panics or is slow.

// ending is how one call of user code ended.
type ending struct {
	outcome Outcome
	err     error // as returned, or a *PanicError, or ErrGoexit
}

// The Manager calls user code (a Run, a Stop, a Worker's tick) from a
// function that defers a call of its own. What the user code returned is
// classified (runEnding, stopEnding) before that function notes that the
// call is over, so that an error whose methods panic (a typed nil
// pointer's Error or Is, say) is contained like a panic. If the deferred
// call finds the call not over, the user code did not return: it calls
// recover, and contained says how the call ended. The supervise loop
// calls Run this way from its own frame (see loop and
// (*supervisor).contain); Stop calls and ticks from a small function:
//
//	func (s *service) callStop(ctx context.Context, exit func(ending)) (e ending) {
//		defer func() {
//			if e.outcome == OutcomeNone { // Stop did not return
//				e = contained(recover(), s.name)
//				...
//			}
//		}()
//		return stopEnding(s.stopper().Stop(ctx))
//	}

// contained returns the ending of user code that did not return, given
// what recover returned: a panic, with a *PanicError naming service, or
// (nothing recovered) runtime.Goexit, which is unwinding the goroutine: it
// cannot be saved, and the caller hands the ending on from its deferred
// call.
func contained(recovered any, service string) ending {
	if recovered != nil {
		return ending{outcome: OutcomePanic, err: &PanicError{Service: service, Value: recovered, Stack: debug.Stack()}}
	}
	return ending{outcome: OutcomeGoexit, err: ErrGoexit}
}

// runEnding classifies what Run returned.
func runEnding(err error) ending {
	switch {
	case err == nil:
		return ending{outcome: OutcomeNil}
	case errors.Is(err, ErrFinished):
		return ending{outcome: OutcomeFinished, err: err}
	default:
		return ending{outcome: OutcomeError, err: err}
	}
}

// stopEnding classifies what Stop returned: any error is a failure.
func stopEnding(err error) ending {
	if err == nil {
		return ending{outcome: OutcomeNil}
	}
	return ending{outcome: OutcomeError, err: err}
}

// errorText is err.Error(), safe against an Error method that panics (as a
// typed nil pointer's may): a log line must not take the Manager down.
func errorText(err error) (text string) {
	defer func() {
		if v := recover(); v != nil {
			text = fmt.Sprintf("%T (its Error method panicked: %v)", err, v)
		}
	}()
	return err.Error()
}

// logAttrs logs msg with attrs at level, building nothing when the level is
// disabled. A handler that panics loses its line and nothing else: the
// panic is recovered here, on whichever goroutine logs.
func (m *Manager) logAttrs(level slog.Level, msg string, attrs func() []slog.Attr) {
	defer func() { _ = recover() }()
	l := m.log()
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	l.LogAttrs(ctx, level, msg, attrs()...)
}

// emit sends e to the events function, if any. A panic in it loses that
// event and nothing else.
func (m *Manager) emit(e Event) {
	if m.events == nil {
		return
	}
	defer func() { _ = recover() }()
	m.events(e)
}

// outbox delivers log lines and events in order on a goroutine of its own,
// so that the goroutine that posts them (shutdown's) never waits for a
// slow handler. The goroutine runs only while there is something to
// deliver.
type outbox struct {
	mu    sync.Mutex // guards queue, idle
	queue []func()
	idle  chan struct{} // nil while idle; closed when the queue empties
}

// post queues f to run after everything posted before it.
func (o *outbox) post(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queue = append(o.queue, f)
	if o.idle == nil {
		o.idle = make(chan struct{})
		go o.drain()
	}
}

// busy returns a channel closed once everything posted so far has been
// delivered, or nil if it has been already.
func (o *outbox) busy() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.idle
}

func (o *outbox) drain() {
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			close(o.idle)
			o.idle = nil
			o.mu.Unlock()
			return
		}
		f := o.queue[0]
		o.queue[0] = nil
		o.queue = o.queue[1:]
		o.mu.Unlock()
		f()
	}
}
