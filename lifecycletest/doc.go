// Package lifecycletest helps test the services a [lifecycle.Manager]
// supervises, on virtual time.
//
// The first choice is testing/synctest: inside a bubble, time.Sleep and
// every timer are virtual, the Manager needs no clock option, and
// synctest.Wait says when everything is parked. docs/testing.md shows how.
// This package adds the two things such tests need that the standard
// library lacks:
//
//   - [Listener], an in-memory net.Listener, so that an HTTP server can be
//     served inside a bubble, where real sockets cannot be used.
//   - [Clock], a wrapper around any [lifecycle.Clock] (github.com/benbjohnson/clock's
//     Mock, say) that counts the waits pending on it, so that a test that
//     cannot run in a bubble moves time only once the Manager is waiting,
//     with [Clock.BlockUntil] instead of polling with real sleeps.
//
// It imports only the standard library and lifecycle.
//
// # Moving a mock clock
//
// A mock clock fires only the timers that exist when it is moved. The
// Manager arms its timers on its own goroutines: a test that moves the
// clock before the Manager has armed the timer it means to fire moves time
// past nothing, and the Manager then waits for ever. So wait until the
// Manager waits, then move time:
//
//	mock := clock.NewMock()
//	clk := lifecycletest.NewClock(mock)
//	m := lifecycle.NewManager(lifecycle.WithClock(clk))
//	// ... a service fails: the Manager waits 1s to restart it
//	clk.BlockUntil(1)     // the restart delay is armed
//	mock.Add(time.Second) // and now fires
package lifecycletest
