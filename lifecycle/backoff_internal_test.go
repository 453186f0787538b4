package lifecycle

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The restart rule and the jitter bound as properties of the pure
// functions, without a clock.

// duration draws a Duration leaning to the boundaries where bugs live.
// A draw below lo is raised to lo.
func duration(t *rapid.T, label string, lo time.Duration) time.Duration {
	n := rapid.OneOf(
		rapid.Int64Range(int64(lo), int64(min(lo, math.MaxInt64-3))+3),
		rapid.Int64Range(0, int64(time.Hour)),
		rapid.Int64Range(math.MaxInt64/2-2, math.MaxInt64/2+2),
		rapid.Int64Range(math.MaxInt64-3, math.MaxInt64),
	).Draw(t, label)
	return max(time.Duration(n), lo)
}

func TestBackoffNext_Property(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		initial := duration(t, "initial", 1)
		maximum := duration(t, "maximum", initial)
		reset := duration(t, "reset", 1)
		b := newBackoff(initial, maximum, reset)
		// The delay kept is one the rule can produce: initial, doubled
		// some times, capped at maximum.
		delay := initial
		for range rapid.IntRange(0, 64).Draw(t, "doublings") {
			delay = min(double(delay), maximum)
		}
		ran := duration(t, "ran", 0)

		wait, kept := b.next(delay, ran)
		// A run of at least reset starts again from initial; a shorter one
		// waits the delay kept from the failure before.
		if ran >= reset && wait != initial {
			t.Fatalf("ran %v >= reset %v: wait %v; want initial %v", ran, reset, wait, initial)
		}
		if ran < reset && wait != delay {
			t.Fatalf("ran %v < reset %v: wait %v; want the kept delay %v", ran, reset, wait, delay)
		}
		// The next delay doubles, saturating instead of overflowing, and
		// never passes maximum.
		want := maximum
		if wait <= math.MaxInt64/2 {
			want = min(2*wait, maximum)
		}
		if kept != want || kept < 0 {
			t.Fatalf("wait %v: kept %v; want min(2*%v saturating, %v) = %v", wait, kept, wait, maximum, want)
		}
	})
}

func TestJitterApply_Property(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fraction := rapid.OneOf(
			rapid.SampledFrom([]float64{0, 0.5, math.Nextafter(1, 0)}),
			rapid.Float64Range(0, math.Nextafter(1, 0)),
		).Draw(t, "fraction")
		r := rapid.OneOf(
			rapid.SampledFrom([]float64{0, 1, math.Nextafter(1, 0), -1, 2, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}),
			rapid.Float64(),
		).Draw(t, "rnd")
		d := duration(t, "d", 0)
		j := &jitter{fraction: fraction, rnd: func() float64 { return r }}

		got := j.apply(d)
		lo := d - time.Duration(float64(d)*fraction)
		if got < lo || got > d || got < 0 {
			t.Fatalf("apply(%v) with fraction %v, rnd %v = %v; want within [%v, %v]", d, fraction, r, got, lo, d)
		}
		if fraction < 0.5 && d >= 2 && got < d/2 {
			t.Fatalf("apply(%v) with fraction %v = %v: below half the delay", d, fraction, got)
		}
	})
}
