//go:build lifecyclesched

package schedpoint

import "sync/atomic"

var hook atomic.Pointer[func(point, key string)]

// Yield marks a scheduling point named point, passed by the goroutine
// working for key. It calls the function installed with Set, if any, with
// key's SchedKey() (the service's name), or "" if key has none.
func Yield(point string, key any) {
	f := hook.Load()
	if f == nil {
		return
	}
	name := ""
	if k, ok := key.(interface{ SchedKey() string }); ok {
		name = k.SchedKey()
	}
	(*f)(point, name)
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
