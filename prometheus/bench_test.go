package lifecycleprom_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	lifecycleprom "github.com/lifecyclesim/lifecycle/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// restartEvents are the events of one failed attempt and its restart
// delay: what a crash-looping service sends, the busiest case.
func restartEvents(service string) []lifecycle.Event {
	return []lifecycle.Event{
		{Kind: lifecycle.AttemptStarted, Service: service, Attempt: 1},
		{Kind: lifecycle.AttemptEnded, Service: service, Attempt: 1, Outcome: lifecycle.OutcomeError,
			Err: errors.New("connection refused"), Duration: 3 * time.Second},
		{Kind: lifecycle.BackingOff, Service: service, Attempt: 1, Duration: time.Second},
	}
}

// BenchmarkObserve is the cost of the events function per event (one
// op is one event), on the Manager's goroutine: one service, and 100
// services reporting from parallel goroutines.
func BenchmarkObserve(b *testing.B) {
	b.Run("service=1", func(b *testing.B) {
		metrics := lifecycleprom.New()
		events := restartEvents("api")
		fn := metrics.Events(nil)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			fn(events[i%len(events)])
			i++
		}
	})
	b.Run("services=100/parallel", func(b *testing.B) {
		metrics := lifecycleprom.New()
		var events [][]lifecycle.Event
		for i := range 100 {
			events = append(events, restartEvents(fmt.Sprint("service-", i)))
		}
		fn := metrics.Events(nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				fn(events[i/3%len(events)][i%3])
				i++
			}
		})
	})
}

// BenchmarkStateCollector is the cost of one scrape of the state gauges
// (one op is one Collect) of 1,000 services after the first: one States
// snapshot, and 10 series per service sent to a registry's channel.
func BenchmarkStateCollector(b *testing.B) {
	m := lifecycle.NewManager()
	for i := range 1000 {
		m.Register(fmt.Sprint("service-", i), runnerFunc(func(ctx context.Context) error { return nil }))
	}
	states := lifecycleprom.NewStateCollector(m)
	ch := make(chan prometheus.Metric, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
		}
	}()
	states.Collect(ch) // the first scrape makes every series, once
	b.ReportAllocs()
	for b.Loop() {
		states.Collect(ch)
	}
	close(ch)
	<-done
}
