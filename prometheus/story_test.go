package lifecycleprom_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	lifecycleprom "github.com/lifecyclesim/lifecycle/prometheus"
)

// runnerFunc adapts a function to [lifecycle.Runner].
type runnerFunc func(ctx context.Context) error

func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

// service is a Runner that serves until its context is done, with a Stop
// that takes stopTakes and then closes stopped, if not nil.
type service struct {
	stopTakes time.Duration
	stopped   chan struct{}
}

func (s service) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (s service) Stop(ctx context.Context) error {
	time.Sleep(s.stopTakes)
	if s.stopped != nil {
		close(s.stopped)
	}
	return nil
}

// story runs a Manager, fed to metrics (and to next, if not nil), through
// a scripted life on the virtual time of the synctest bubble it must be
// called in. Times are from the start of the story:
//
//	 0s  migrate starts; it finishes for good at 0.5s.
//	 0s  db fails: it returns an error     restart after 1s
//	 1s  db runs 3s, then panics           restart after 2s
//	 6s  db calls runtime.Goexit           restart after 4s
//	10s  db returns nil                    restart after 8s
//	18s  db serves until the context is done
//	 0s  cache serves until the context is done
//	100s the context is done: db and cache return ctx.Err() (canceled)
//	100s Shutdown(10s), 5s per Stopper: db's Stop takes 2s; cache's
//	     hangs, abandoned at 107s, and returns at 1h+100s.
func story(t *testing.T, metrics *lifecycleprom.Metrics, next func(lifecycle.Event)) {
	t.Helper()
	m := lifecycle.NewManager(
		lifecycle.WithEvents(metrics.Events(next)),
		lifecycle.WithLogger(slog.New(slog.DiscardHandler)),
	)
	m.Register("migrate", runnerFunc(func(ctx context.Context) error {
		time.Sleep(500 * time.Millisecond)
		return lifecycle.ErrFinished
	}))
	cacheStopped := make(chan struct{})
	m.Register("cache", service{stopTakes: time.Hour, stopped: cacheStopped})
	attempt := 0
	m.Register("db", struct {
		lifecycle.Runner
		lifecycle.Stopper
	}{
		runnerFunc(func(ctx context.Context) error {
			attempt++
			switch attempt {
			case 1:
				return errors.New("connection refused")
			case 2:
				time.Sleep(3 * time.Second)
				panic("boom")
			case 3:
				runtime.Goexit()
			case 4:
				return nil
			}
			<-ctx.Done()
			return ctx.Err()
		}),
		service{stopTakes: 2 * time.Second},
	})

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(ran)
	}()
	time.Sleep(100 * time.Second)
	cancel()
	<-ran
	m.Shutdown(10 * time.Second)
	<-cacheStopped // the abandoned Stop ends, at 1h+100s: the bubble must end empty
}
