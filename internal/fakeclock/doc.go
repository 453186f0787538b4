// Package fakeclock provides [Clock], a deterministic fake clock for tests
// and simulations. It satisfies lifecycle.Clock and lifecycle.TimerClock.
//
// Time stands still until the test moves it. The clock starts no
// goroutines of its own: timers fire only inside [Clock.Step],
// [Clock.Advance], [Clock.AdvanceTo] and [Clock.Drive], on the caller's
// goroutine.
//
// # Ordering
//
// Every timer (from After, NewTimer, Sleep, AfterFunc and the deadline of
// a context from WithDeadline or WithTimeout) gets a deadline and a
// sequence number from a counter, and pending timers are kept in a heap
// ordered by (deadline, sequence). Timers therefore fire in deadline order,
// and timers with equal deadlines in the order they were created. Before a
// timer fires, Now() is set to its own deadline, never to the time being
// advanced to, and a timer channel receives that deadline.
//
// Creation order is the Go scheduler's when goroutines running at once
// arm timers of one deadline. A simulation that must replay exactly names
// the arming goroutines with [Clock.SetTieBreak]; equal deadlines then
// fire by when each timer was armed (how many timers had fired), then by
// the armer's name, and creation order decides only between timers of
// one armer.
//
// Firing never happens under the clock's lock: channels have capacity 1
// and get a non-blocking send, AfterFunc callbacks are started with go,
// and a context is cancelled synchronously, so that when Step returns its
// Err() is already context.DeadlineExceeded.
//
// # Moving time
//
// Step fires exactly one timer, the earliest. AdvanceTo(t) fires the due
// timers one by one and then sets Now() to t; Advance(d) is
// AdvanceTo(Now()+d). Neither waits for the goroutines a timer wakes, so
// those goroutines may arm their next timers before or after the advance
// has moved on. Drive removes that race:
//
//	synctest.Test(t, func(t *testing.T) {
//		clk := fakeclock.New(t, start)
//		done := make(chan struct{})
//		go func() { defer close(done); runSystemUnderTest(clk) }()
//		clk.Drive(done)
//	})
//
// Drive loops: synctest.Wait, return if done is closed, Step. Each timer
// fires only once every goroutine in the bubble is parked, so every run
// sees the same interleaving of fake-time events.
//
// # Knowing when everything is parked
//
// A simulation may move time only when no goroutine can make progress
// without it. Counting waiters on the clock cannot tell that: it sees the
// timers that exist, not a goroutine that is about to arm one (a stale
// backoff timer can satisfy "one timer pending" before the shutdown
// deadline it should wait for exists). synctest.Wait knows exactly: it
// returns when every other goroutine of the bubble is durably blocked, on
// the clock's channels, a context's Done, a WaitGroup or sync.Cond of the
// bubble. So the clock needs no waiter counting, and Drive works only
// inside a bubble. (Goroutines blocked on a mutex or on I/O are not
// durably blocked; Wait waits for them.)
//
// # Zero and negative durations
//
// A wait of d <= 0 completes during the call, as with package time, so
// code behaves the same on this clock as on the real one: After and
// NewTimer return a channel that already holds Now(), Sleep returns,
// AfterFunc starts go f(), and WithTimeout (or WithDeadline with a time
// not after Now()) returns a context already done with
// context.DeadlineExceeded. None of them registers a timer, so Pending is
// unchanged. Every timer that is registered has a deadline after the Now()
// of its creation and fires only through Step, Advance, AdvanceTo or Drive.
//
// # Contexts
//
// WithDeadline and WithTimeout return a context of this package's own
// type: Deadline is the fake deadline, Done is its own channel, Err never
// blocks for long (a small mutex), and Value asks the parent. Cancelling it
// removes its timer from the clock. It follows its parent with
// context.AfterFunc, and stops following when it is done, so nothing
// leaks.
//
// It does not wrap a context.WithCancel: children made by the context
// package would attach to that inner context and report Canceled when the
// fake deadline passes. Instead it has a method
// AfterFunc(f func()) (stop func() bool), which the context package uses
// to attach ordinary children (context.WithCancel(ctx)) without a
// goroutine; f is called synchronously when ctx is done, so those children
// report DeadlineExceeded as soon as Step returns. (A child of
// context.WithValue(ctx, ...) is attached with a goroutine instead, as for
// any foreign parent; inside a synctest bubble, Wait covers it.)
// context.Cause(ctx) is the parent's cause if ctx was cancelled through the
// parent, and ctx.Err() otherwise.
//
// # Time that lies
//
// By default a timer is delivered in the very Step that moves Now() to its
// deadline. Two opt-in faults model a loaded machine, where that is not
// so, and keep the clock deterministic because they act only inside Step:
//
//   - [Clock.SetLate]: a timer's instant passes on Now() while its
//     delivery (channel send, AfterFunc, a context's Done and Err) waits
//     for a number of later Steps, with every goroutine running to a
//     standstill in between when the driver waits between Steps.
//   - [Clock.Pause]: a goroutine asks for time to pass while it runs its
//     own code; the next Step moves Now() forward without delivering
//     anything, so deadlines the jump passes are delivered late.
//
// With neither in use Step is exactly "fire the earliest timer".
//
// # Misuse
//
// These are programmer errors: AdvanceTo a time before Now(), Advance by
// a negative duration, a nil parent context, Drive outside a synctest
// bubble, Drive with nothing pending while done is open (a deadlock in
// virtual time), and Drive firing more timers than the step limit. The
// clock then calls Fatalf on the TB given to [New], which stops a test's
// goroutine instead of letting it hang, and panics if Fatalf returns. With
// a nil TB it panics with a message starting "fakeclock: ".
package fakeclock
