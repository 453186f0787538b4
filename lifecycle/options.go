package lifecycle

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// An Option configures a [Manager] at construction; see [NewManager].
type Option func(*options)

type options struct {
	clock  Clock
	logger *slog.Logger // nil: slog.Default() at the time of each log call
	events func(Event)  // nil: no events
	jitter *jitter      // nil: restarts wait exactly the backoff

	ordered bool          // WithOrderedShutdown
	drain   time.Duration // WithDrain
	gate    time.Duration // WithGatedStart
	labels  bool          // WithGoroutineLabels
}

// WithClock makes the Manager take every time and every wait from c instead
// of package time. It panics if c is nil.
func WithClock(c Clock) Option {
	if c == nil {
		panic("lifecycle: WithClock(nil)")
	}
	return func(o *options) { o.clock = c }
}

// WithLogger makes the Manager log to l. Without it, the Manager logs to
// slog.Default() as it is at the time of each log call. A nil l restores that
// default. A handler that panics loses that line and nothing else: the panic
// is recovered, and cannot take the Manager down. The log lines of a
// shutdown are written in order from a goroutine of their own, so a slow
// handler cannot stretch it.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithEvents makes the Manager call fn with an [Event] at every step in the
// life of a service: an attempt started or ended, a restart delayed, a
// Stopper called, returned or abandoned. fn is called synchronously from the
// goroutine where the step happens (the events of a shutdown: in order, from a
// goroutine of their own, so that fn cannot stretch it), possibly from several
// goroutines at once, so it must be safe for concurrent use and should return
// quickly. A panic in fn is recovered and loses that one event: it cannot
// take the Manager down. Use it for metrics and tracing. Without WithEvents
// the Manager builds no events at all.
func WithEvents(fn func(Event)) Option {
	return func(o *options) { o.events = fn }
}

// WithJitter spreads restarts out: every restart delay d becomes a delay drawn
// uniformly from [d*(1-fraction), d], so a fleet of services that failed
// together does not restart together. The draw takes rnd, which must be safe
// for concurrent use if given; nil uses the math/rand/v2 global source.
// Inject a seeded source to keep tests exact. Without WithJitter, delays are
// exact.
//
// Jitter only ever shortens a delay, so the backoff maximum stays an upper
// bound; and whatever rnd returns (a value outside [0, 1], NaN or an
// infinity is clamped into [0, 1]), every wait is at least
// (1-fraction)*d, so restarts keep backing off exponentially and a faulty
// rnd cannot make a busy loop. That is why fraction must be below 1: it
// panics unless 0 <= fraction < 1.
func WithJitter(fraction float64, rnd func() float64) Option {
	if !(fraction >= 0 && fraction < 1) {
		panic(fmt.Sprintf("lifecycle: WithJitter(%v): fraction must be in [0, 1)", fraction))
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	return func(o *options) { o.jitter = &jitter{fraction: fraction, rnd: rnd} }
}

// WithOrderedShutdown makes [Manager.Stop] and [Manager.Shutdown] stop
// services one by one, not only their Stoppers: each service's Run gets a
// context of its own, and shutdown takes the services in reverse
// registration order, for each one cancelling its context, calling its Stop
// if it has one, and waiting for both to return within its share of the
// budget (see [Manager.Shutdown]). [Manager.Serve] always shuts down this
// way. Without it, Stop calls only the Stoppers and leaves Run's context to
// its caller, as the seed did.
//
// A service's own context carries Run's values and deadline. Its turn
// cancels it with [context.Canceled]; once Run's context is done, Run
// cancels it with that context's error and cause, a moment later, as the
// context package does for a parent of a type it does not know (the
// Manager treats the service as to stop from the instant Run's context is
// done). Contexts derived from it are cancelled with it, with no goroutine
// each.
func WithOrderedShutdown() Option {
	return func(o *options) { o.ordered = true }
}

// WithDrain makes an ordered shutdown (see [WithOrderedShutdown]) begin
// with d during which nothing is cancelled or stopped yet but shutdown has
// begun: no service is started or restarted, and readiness reports not
// ready, so that a load balancer (a Kubernetes Service's endpoints, say)
// has time to stop sending work. The drain counts inside the shutdown's
// budget: a Shutdown(timeout) drains for min(d, timeout) and divides what
// is left among the services. It panics if d < 0.
func WithDrain(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("lifecycle: WithDrain(%v): want d >= 0", d))
	}
	return func(o *options) { o.drain = d }
}

// WithGatedStart makes Run start each service only once the one registered
// before it is ready (see [NotifyReady] and [Ready]; a service without
// NotifyReady is ready as soon as it is called), or has ended for good, as
// Erlang/OTP starts a supervisor's children one at a time, left to right.
// Each attempt of a NotifyReady service must then call Ready within
// timeout of its call of Run (a Ready once shutdown has made it stopping
// counts too): if it does not, its context is cancelled and, once Run
// returns, the attempt is a failure (with [ErrStartTimeout]), restarted
// with backoff like any other. Shutdown order stays the reverse of
// registration. It panics unless timeout > 0.
func WithGatedStart(timeout time.Duration) Option {
	if timeout <= 0 {
		panic(fmt.Sprintf("lifecycle: WithGatedStart(%v): want timeout > 0", timeout))
	}
	return func(o *options) { o.gate = timeout }
}

// WithGoroutineLabels makes the Manager label the goroutines that run each
// service, and those that call its Stop, with the pprof label
// lifecycle_service=<name>, so that a goroutine profile or dump
// (/debug/pprof/goroutine?debug=1, say) shows whose goroutine is stuck.
// Goroutines a service starts inherit the label. It costs a few hundred
// bytes per service, once, when Run starts it (docs/performance.md).
func WithGoroutineLabels() Option {
	return func(o *options) { o.labels = true }
}
