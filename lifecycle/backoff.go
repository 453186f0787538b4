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
	fraction float64
	rnd      func() float64
}

// apply returns a delay in [d*(1-fraction), d]. A draw outside [0, 1]
// (or NaN) is clamped into it, so a faulty rnd can neither lengthen a
// delay past the maximum nor turn it into a busy restart loop.
func (j *jitter) apply(d time.Duration) time.Duration {
	if j == nil || j.fraction == 0 {
		return d
	}
	r := j.rnd()
	if !(r >= 0) {
		r = 0
	}
	cut := time.Duration(float64(d) * j.fraction * min(r, 1))
	return max(d-cut, 0)
}
