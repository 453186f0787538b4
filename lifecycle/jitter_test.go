package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// restartTimes runs one service that fails at once, every time, until
// virtual time until, and returns its attempt start times and its
// BackingOff delays.
func restartTimes(t *testing.T, until time.Duration, opts ...lifecycle.Option) (starts, delays []time.Duration) {
	t.Helper()
	clk := fakeclock.New(t, extEpoch)
	var log eventLog
	m := lifecycle.NewManager(append([]lifecycle.Option{lifecycle.WithClock(clk), lifecycle.WithEvents(log.record), extQuiet}, opts...)...)
	m.Register("flaky", extRunner(func(ctx context.Context) error {
		if len(starts) == 10_000 {
			// Zero delays never move virtual time: stop the runaway.
			t.Errorf("10000 attempts by %v: a restart loop without delay?", clk.Since(extEpoch))
			<-ctx.Done()
			return nil
		}
		starts = append(starts, clk.Since(extEpoch))
		return errors.New("flaky")
	}))
	runManager(t, clk, m, until)
	for _, e := range log.evs {
		if e.Kind == lifecycle.BackingOff {
			delays = append(delays, e.Duration)
		}
	}
	return starts, delays
}

// nominal is the un-jittered default backoff sequence: 1s doubling to 30s.
func nominal(n int) []time.Duration {
	var out []time.Duration
	for d := time.Second; len(out) < n; d = min(2*d, 30*time.Second) {
		out = append(out, d)
	}
	return out
}

func TestJitter_OffByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		starts, _ := restartTimes(t, 100*time.Second)
		if want := tickSecs(0, 1, 3, 7, 15, 31, 61, 91); !slices.Equal(starts, want) {
			t.Errorf("attempt starts %v; want %v", starts, want)
		}
	})
}

func TestJitter_ZeroFractionIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		starts, _ := restartTimes(t, 100*time.Second, lifecycle.WithJitter(0, func() float64 { return 0.9 }))
		if want := tickSecs(0, 1, 3, 7, 15, 31, 61, 91); !slices.Equal(starts, want) {
			t.Errorf("attempt starts %v; want %v", starts, want)
		}
	})
}

func TestJitter_ExactWithInjectedRnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each delay d becomes d - d*0.5*0.5; the doubling goes on from the
		// un-jittered d: 0.75, 1.5, 3, 6, 12, 22.5 (30 capped), 22.5.
		starts, delays := restartTimes(t, 70*time.Second, lifecycle.WithJitter(0.5, func() float64 { return 0.5 }))
		if want := tickSecs(0.75, 1.5, 3, 6, 12, 22.5, 22.5, 22.5); !slices.Equal(delays, want) {
			t.Errorf("delays %v; want %v", delays, want)
		}
		if want := tickSecs(0, 0.75, 2.25, 5.25, 11.25, 23.25, 45.75, 68.25); !slices.Equal(starts, want) {
			t.Errorf("attempt starts %v; want %v", starts, want)
		}
	})
}

func TestJitter_DelaysWithinBounds(t *testing.T) {
	for _, f := range []float64{0.1, 0.3, 0.9} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rnd := rand.New(rand.NewPCG(1, uint64(f*10))).Float64
				starts, delays := restartTimes(t, time.Hour, lifecycle.WithJitter(f, rnd))

				shortened := 0
				for i, d := range nominal(len(delays)) {
					lo := time.Duration(float64(d) * (1 - f))
					if got := delays[i]; got < lo || got > d {
						t.Errorf("delay %d = %v; want within [%v, %v]", i, got, lo, d)
					}
					if delays[i] < d {
						shortened++
					}
					if i+1 == len(starts) {
						continue // the last wait was cut short by the cancellation
					}
					if gap := starts[i+1] - starts[i]; gap != delays[i] {
						t.Errorf("attempt %d started %v after attempt %d; want the delay %v", i+2, gap, i+1, delays[i])
					}
				}
				if shortened < len(delays)*9/10 {
					t.Errorf("%d of %d delays shortened; want nearly all, with a uniform rnd", shortened, len(delays))
				}
			})
		})
	}
}

func TestJitter_LargestFractionAndExtremeDraws(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// rnd 0 cuts nothing; the largest draw, or one past it, cuts at
		// most fraction*d: every wait stays at least (1-fraction)*d.
		_, delays := restartTimes(t, 10*time.Second, lifecycle.WithJitter(0.75, func() float64 { return 0 }))
		if want := nominal(3); !slices.Equal(delays[:3], want) {
			t.Errorf("delays with rnd 0: %v; want %v", delays[:3], want)
		}
		for _, r := range []float64{math.Nextafter(1, 0), 1, 2, math.Inf(1)} {
			_, delays = restartTimes(t, 10*time.Second, lifecycle.WithJitter(0.75, func() float64 { return r }))
			for i, d := range nominal(3) {
				// A quarter of d, or a nanosecond more where the cut rounds
				// down.
				if got := delays[i]; got < d/4 || got > d/4+1 {
					t.Errorf("rnd %v: delay %d = %v; want %v, a quarter of %v", r, i, got, d/4, d)
				}
			}
		}
	})
}

func TestJitter_RndOutOfRangeStaysWithinBounds(t *testing.T) {
	// WithJitter promises delays in [d*(1-fraction), d], so the maximum
	// stays an upper bound; a source that strays from [0, 1) must not
	// break that.
	for _, r := range []float64{-1, 2, math.NaN(), math.Inf(1), math.Inf(-1)} {
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, delays := restartTimes(t, 100*time.Second, lifecycle.WithJitter(0.5, func() float64 { return r }))
				for i, d := range nominal(len(delays)) {
					if got := delays[i]; got < d/2 || got > d {
						t.Errorf("delay %d = %v; want within [%v, %v]", i, got, d/2, d)
					}
				}
			})
		})
	}
}

func TestWithJitter_NilRndUsesGlobalSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, delays := restartTimes(t, time.Minute, lifecycle.WithJitter(0.5, nil))
		for i, d := range nominal(len(delays)) {
			if got := delays[i]; got < d/2 || got > d {
				t.Errorf("delay %d = %v; want within [%v, %v]", i, got, d/2, d)
			}
		}
	})
}

func TestWithJitter_InvalidFractionPanics(t *testing.T) {
	for _, f := range []float64{-0.01, 1, 1.01, math.NaN(), math.Inf(1), math.Inf(-1)} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "lifecycle: ") {
					t.Errorf("WithJitter(%v) panicked with %q; want a message starting %q", f, msg, "lifecycle: ")
				}
			}()
			lifecycle.WithJitter(f, nil)
		})
	}
	for _, f := range []float64{0, math.Nextafter(1, 0)} {
		lifecycle.WithJitter(f, nil) // the bounds are valid: no panic
	}
}
