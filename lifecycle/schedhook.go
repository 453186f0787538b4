//go:build lifecyclesched

package lifecycle

import "github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"

// SetScheduler exists only in builds with the tag lifecyclesched, for the
// simulation: every scheduling point of every Manager calls f(point, key)
// until SetScheduler(nil). f may block the calling goroutine to decide
// when it goes on; it must not call into the Manager.
func SetScheduler(f func(point, key string)) { schedpoint.Set(f) }
