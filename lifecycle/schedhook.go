//go:build lifecyclesched

package lifecycle

import "github.com/lifecyclesim/lifecycle/lifecycle/internal/schedpoint"

// SetScheduler exists only in builds with the tag lifecyclesched, for the
// simulation: every scheduling point of every Manager calls f(point, key)
// until SetScheduler(nil), key being the name of the service the calling
// goroutine works for ("" for the caller of Shutdown). f may block the
// calling goroutine to decide when it goes on; it must not call into the
// Manager.
func SetScheduler(f func(point, key string)) { schedpoint.Set(f) }

// SchedKey names the goroutines working for the service (its supervise
// loop, its Stop call) at their scheduling points.
func (s *service) SchedKey() string { return s.name }
