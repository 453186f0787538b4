//go:build lifecyclesched

package schedpoint

import "sync/atomic"

var hook atomic.Pointer[func(point, key string)]

// Yield marks a scheduling point named point, passed by the goroutine
// known as key (a service name, or "" for a goroutine the scheduler
// labels). It calls the function installed with Set, if any.
func Yield(point, key string) {
	if f := hook.Load(); f != nil {
		(*f)(point, key)
	}
}

// Set installs f as the scheduler of every point; nil removes it. It is
// for one simulation at a time.
func Set(f func(point, key string)) {
	if f == nil {
		hook.Store(nil)
		return
	}
	hook.Store(&f)
}
