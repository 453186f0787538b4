// Package lifecycle supervises a program's background goroutines: it
// recovers their panics, restarts them with exponential backoff, shuts them
// down in order on a divided time budget, and reports their health.
//
// # The life of a service
//
// A service is a [Runner] registered with a [Manager] under a unique name.
// It goes through these states:
//
//   - registered: [Manager.Register] has recorded it; nothing runs yet.
//   - running: [Manager.Run] has called its Run method with the Manager's
//     context. Services start in registration order, each in its own
//     goroutine.
//   - backing off: Run ended while the context was live (it returned an
//     error or nil, panicked, or called runtime.Goexit). The failure is
//     logged with the service name and the Manager waits out a delay, then
//     runs the service again.
//   - stopped: the context is done and Run has returned. A service is never
//     started or restarted once the context is done. A Runner may also end
//     itself for good by returning [ErrFinished].
//
// [Manager.Stop] then calls the Stop method of each service that implements
// [Stopper], last registered first, each with an equal share of the budget.
// Services that implement [HealthReporter] are listed by [Manager.Health];
// a [Tracker] gives them the per-tick bookkeeping ready made.
//
// # Backoff
//
// The restart delay starts at the initial backoff and doubles after each
// restart, up to the maximum; an attempt that ran for at least the reset
// window before failing starts the doubling again from the initial delay.
// With the defaults (initial 1s, maximum 30s, reset 60s) a service that
// fails at once every time is started at
//
//	0s    first attempt; fails at once, waits 1s
//	1s    second attempt; waits 2s
//	3s    waits 4s
//	7s    waits 8s
//	15s   waits 16s
//	31s   waits 30s (the cap; 32s would pass it)
//	61s   waits 30s
//	91s   ...
//
// while a service that runs for 60s before each failure waits 1s every time.
// [Manager.SetBackoff] changes the three values; [WithJitter] spreads
// restarts of a fleet.
//
// # Time
//
// Every wait the Manager does (restart delays, the measurement of how long
// an attempt ran, every Stop deadline) goes through its [Clock], the real
// one unless [WithClock] gives another. github.com/benbjohnson/clock's clocks
// satisfy Clock as they are; with a fake clock, tests of supervision and
// shutdown run on virtual time and are exact to the nanosecond.
//
// # Failures
//
// Mistakes in the use of the package (an empty, nil or duplicate
// registration, Register after Run, a second Run, invalid backoff) panic
// with a message that starts with "lifecycle:" and names the service.
// Failures of the services themselves are contained: they are logged with
// the service name (see [WithLogger]), delivered as [Event] values to the
// function given to [WithEvents], and, for shutdown, returned by
// [Manager.Shutdown].
package lifecycle
