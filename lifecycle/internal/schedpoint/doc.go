// Package schedpoint marks the points where the Manager's goroutines
// synchronize with each other (a verdict's compare-and-swap, a select, the
// first-call check of Shutdown), so that a simulation can decide the order
// in which they pass them.
//
// In the default build [Yield] is an empty function that the compiler
// inlines away: no call, no allocation, no instruction (see
// docs/performance.md, "Scheduling points"). Built with the tag
// lifecyclesched, Yield hands the point to the function installed with
// Set (github.com/lifecyclesim/lifecycle/internal/sched's scheduler, through
// lifecycle.SetScheduler), which may park the calling goroutine until its
// turn comes.
//
// A point must never be placed where the goroutine holds a lock: a
// goroutine parked there would keep others blocked on a mutex, which
// testing/synctest does not count as durably blocked, and the driver would
// wait for ever.
package schedpoint
