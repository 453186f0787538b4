package lifecycleprom

// An Option configures a [Metrics] at construction; see [New].
type Option func(*config)

type config struct {
	namespace                                   string
	attemptBuckets, backoffBuckets, stopBuckets []float64
}

// Default histogram buckets, in seconds. Each is chosen for the durations
// the Manager's defaults produce; change them with [WithAttemptBuckets],
// [WithBackoffBuckets] and [WithStopBuckets].
var (
	// DefaultAttemptBuckets span a crash loop's instant failures to a run of
	// a day; 60 is the default backoff reset, so a run in the buckets above
	// it reset the restart delay.
	DefaultAttemptBuckets = []float64{0.01, 0.1, 1, 10, 60, 600, 3600, 6 * 3600, 24 * 3600}
	// DefaultBackoffBuckets are the powers of two from 1/8s to 64s: the
	// default delays (1s doubling to 30s, before jitter) each land in their
	// own bucket.
	DefaultBackoffBuckets = []float64{0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64}
	// DefaultStopBuckets span a Stop that returns at once to one that uses
	// a minute's shutdown budget.
	DefaultStopBuckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60}
)

// WithNamespace sets the first part of every metric's name, "lifecycle" by
// default: WithNamespace("jobs") names the counter of restarts
// jobs_restarts_total. An empty ns leaves the names without a prefix
// (restarts_total). A namespace that makes an invalid metric name makes
// registration fail.
func WithNamespace(ns string) Option {
	return func(c *config) { c.namespace = ns }
}

// WithAttemptBuckets sets the upper bounds, in seconds, of the buckets of
// the attempt duration histogram. Bounds must be in increasing order.
func WithAttemptBuckets(bounds ...float64) Option {
	return func(c *config) { c.attemptBuckets = bounds }
}

// WithBackoffBuckets sets the upper bounds, in seconds, of the buckets of
// the restart delay histogram. Bounds must be in increasing order.
func WithBackoffBuckets(bounds ...float64) Option {
	return func(c *config) { c.backoffBuckets = bounds }
}

// WithStopBuckets sets the upper bounds, in seconds, of the buckets of the
// Stop duration histogram. Bounds must be in increasing order.
func WithStopBuckets(bounds ...float64) Option {
	return func(c *config) { c.stopBuckets = bounds }
}
