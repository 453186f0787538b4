//go:build !lifecyclesched

package schedpoint

// Yield marks a scheduling point named point, passed by the goroutine
// known as key (a service name, or "" for a goroutine the caller labels).
// In the default build it does nothing.
func Yield(point, key string) {}
