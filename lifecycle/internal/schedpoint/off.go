//go:build !lifecyclesched

package schedpoint

// Yield marks a scheduling point named point, passed by the goroutine
// working for key (a *supervisor or *service, or nil for a goroutine the
// scheduler labels). In the default build it does nothing: key is an
// interface so that the caller passes a pointer it holds, with no field
// to load and so no nil check left behind.
func Yield(point string, key any) {}
