package lifecycle

import (
	"fmt"
	"math"
	"time"
)

// Production defaults for [Manager.SetBackoff].
const (
	DefaultInitialBackoff = 1 * time.Second
	DefaultMaximumBackoff = 30 * time.Second
	DefaultBackoffReset   = 60 * time.Second
)

// backoff is one SetBackoff setting. It is immutable once published.
type backoff struct {
	initial, maximum, reset time.Duration
}

var defaultBackoff = &backoff{DefaultInitialBackoff, DefaultMaximumBackoff, DefaultBackoffReset}

func newBackoff(initial, maximum, reset time.Duration) *backoff {
	if !(0 < initial && initial <= maximum) || reset <= 0 {
		panic(fmt.Sprintf("lifecycle: SetBackoff(%v, %v, %v): want 0 < initial <= maximum and reset > 0",
			initial, maximum, reset))
	}
	return &backoff{initial, maximum, reset}
}

// next is the restart rule, as a pure function: given the delay kept from
// the last failure and how long the attempt that just failed ran, it
// returns the wait before the restart and the delay to keep for the next
// failure. A run of at least reset starts the doubling again from initial;
// the delay kept doubles, saturating, up to maximum. Jitter is applied to
// the wait afterwards (see [jitter.apply]).
func (b *backoff) next(delay, ran time.Duration) (wait, kept time.Duration) {
	if ran >= b.reset {
		delay = b.initial
	}
	return delay, min(double(delay), b.maximum)
}

// double returns 2*d, saturating at the largest Duration instead of
// overflowing.
func double(d time.Duration) time.Duration {
	if d > math.MaxInt64/2 {
		return math.MaxInt64
	}
	return 2 * d
}

// jitter shortens restart delays by a random fraction; see [WithJitter].
type jitter struct {
	fraction float64 // in [0, 1)
	rnd      func() float64
}

// apply returns a wait in [d - cut, d], where cut = d*fraction truncated:
// the draw is clamped into [0, 1] (NaN to 0), so whatever rnd returns, a
// wait is at least (1-fraction)*d and restarts keep backing off
// exponentially; a faulty rnd cannot make a busy loop.
func (j *jitter) apply(d time.Duration) time.Duration {
	if j == nil || j.fraction == 0 {
		return d
	}
	r := clampDraw(j.rnd())
	// Rounding is monotonic, so the cut is at most d*fraction (which is
	// below d) and never negative.
	return d - time.Duration(float64(d)*j.fraction*r)
}

// clampDraw returns a random draw clamped into [0, 1], NaN as 0.
func clampDraw(r float64) float64 {
	if math.IsNaN(r) {
		return 0
	}
	return min(max(r, 0), 1)
}
