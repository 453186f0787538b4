package lifecycle

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
)

// An Option configures a [Manager] at construction; see [NewManager].
type Option func(*options)

type options struct {
	clock  Clock
	logger *slog.Logger // nil: slog.Default() at the time of each log call
	events func(Event)  // nil: no events
	jitter *jitter      // nil: restarts wait exactly the backoff
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
