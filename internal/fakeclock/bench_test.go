package fakeclock_test

import (
	"context"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

// Baselines from package time and package context run alongside the fake
// clock's benchmarks so results can be quoted as ratios.

func BenchmarkStdTimerStop(b *testing.B) {
	for b.Loop() {
		t := time.NewTimer(time.Hour)
		t.Stop()
	}
}

func BenchmarkNewTimerStop(b *testing.B) {
	c := fakeclock.New(b, start)
	for b.Loop() {
		_, stop := c.NewTimer(time.Hour)
		stop()
	}
}

// BenchmarkAfterStep arms a timer, fires it and receives its value.
func BenchmarkAfterStep(b *testing.B) {
	c := fakeclock.New(b, start)
	for b.Loop() {
		ch := c.After(time.Second)
		c.Step()
		<-ch
	}
}

// BenchmarkStep fires one timer out of 1000 pending and arms a
// replacement, so the heap stays the same size.
func BenchmarkStep(b *testing.B) {
	c := fakeclock.New(b, start)
	for i := range 1000 {
		c.AfterFunc(time.Duration(i+1)*time.Hour, func() {})
	}
	for b.Loop() {
		c.After(1000 * time.Hour)
		c.Step()
	}
}

func BenchmarkStdWithTimeoutCancel(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	for b.Loop() {
		_, cancel := context.WithTimeout(parent, time.Hour)
		cancel()
	}
}

func BenchmarkWithTimeoutCancel(b *testing.B) {
	c := fakeclock.New(b, start)
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	for b.Loop() {
		_, cancel := c.WithTimeout(parent, time.Hour)
		cancel()
	}
}
