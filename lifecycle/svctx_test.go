package lifecycle_test

// An ordered shutdown's per-service context (docs/contract.md, C8.2):
// Run's values and deadline, cancelled by the service's turn or, a moment
// later, by Run once Run's own context is done, with its cause.

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

type ctxKey struct{}

func TestServiceContext_CarriesRunsValuesDeadlineAndCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("SIGTERM")
		parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), ctxKey{}, "v"))
		parent, cancelDeadline := context.WithTimeout(parent, time.Hour)
		defer cancelDeadline()
		got := make(chan context.Context, 1)
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown())
		m.Register("svc", runFunc(func(ctx context.Context) error {
			got <- ctx
			<-ctx.Done()
			return ctx.Err()
		}))
		ran := make(chan struct{})
		go func() { defer close(ran); m.Run(parent) }()
		ctx := <-got
		if ctx == parent {
			t.Fatal("the Runner was given Run's context; want one of its own")
		}
		if v := ctx.Value(ctxKey{}); v != "v" {
			t.Errorf("Value = %v; want Run's value", v)
		}
		if d, ok := ctx.Deadline(); !ok || !d.Equal(time.Now().Add(time.Hour)) {
			t.Errorf("Deadline = %v, %v; want Run's, an hour on", d, ok)
		}
		if ctx.Err() != nil {
			t.Errorf("Err = %v before anything is cancelled", ctx.Err())
		}
		cancelParent(cause)
		<-ran
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Run returned with the service's context not done")
		}
		if !errors.Is(ctx.Err(), context.Canceled) || context.Cause(ctx) != cause {
			t.Errorf("Err = %v, Cause = %v; want Canceled and Run's cause", ctx.Err(), context.Cause(ctx))
		}
	})
}

func TestServiceContext_TurnCancelsItAndWhatDerivesFromIt(t *testing.T) {
	// Contexts a Runner derives from its own are cancelled with it, in
	// the turn's cancel, by the context's AfterFunc: no goroutine each.
	synctest.Test(t, func(t *testing.T) {
		type derived struct {
			child context.Context
			stop  func() bool
		}
		got := make(chan derived, 1)
		afterRan := make(chan struct{})
		m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown())
		m.Register("svc", runFunc(func(ctx context.Context) error {
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			context.AfterFunc(ctx, func() { close(afterRan) })
			stopped := context.AfterFunc(ctx, func() { t.Error("an AfterFunc stopped before the cancel ran") })
			if !stopped() {
				t.Error("stop of an AfterFunc before the cancel reported false")
			}
			got <- derived{child, stopped}
			<-ctx.Done()
			return ctx.Err()
		}))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan struct{})
		go func() { defer close(ran); m.Run(ctx) }()
		d := <-got
		if rep := m.Shutdown(time.Second); rep.Err() != nil {
			t.Fatal(rep.Err())
		}
		if !errors.Is(d.child.Err(), context.Canceled) || context.Cause(d.child) != context.Canceled {
			t.Errorf("derived context: Err = %v, Cause = %v once the turn is over; want Canceled", d.child.Err(), context.Cause(d.child))
		}
		<-afterRan
		if d.stop() {
			t.Error("a second stop reported true")
		}
		cancel()
		<-ran
	})
}

// heldCtx is a context whose Done the test closes, and whose Err, once
// Done is closed, waits until the test lets it answer: Run, which asks for
// Err to cancel the services' own contexts, cannot do so meanwhile.
type heldCtx struct {
	context.Context
	done, answer chan struct{}
}

func (c *heldCtx) Done() <-chan struct{} { return c.done }

func (c *heldCtx) Err() error {
	select {
	case <-c.done:
		<-c.answer
		return context.Canceled
	default:
		return nil
	}
}

func TestServiceContext_RunsCtxDoneIsStoppingBeforeTheServicesIsCancelled(t *testing.T) {
	// Run cancels the services' own contexts a moment after its own is
	// done. A Runner that returns in that moment, its own context still
	// live, returned once Run's was done: not a failure, not restarted
	// (C7.1). The moment is held open here by Run's ctx's Err.
	ctx := &heldCtx{Context: context.Background(), done: make(chan struct{}), answer: make(chan struct{})}
	events := make(chan lifecycle.Event, 16)
	m := lifecycle.NewManager(quiet, lifecycle.WithOrderedShutdown(),
		lifecycle.WithEvents(func(e lifecycle.Event) { events <- e }))
	m.Register("svc", runFunc(func(context.Context) error {
		<-ctx.done
		return nil
	}))
	ran := make(chan struct{})
	go func() { defer close(ran); m.Run(ctx) }()
	if e := <-events; e.Kind != lifecycle.AttemptStarted {
		t.Fatalf("first event %v; want AttemptStarted", e.Kind)
	}
	close(ctx.done)
	e := <-events
	close(ctx.answer)
	<-ran
	if e.Kind != lifecycle.AttemptEnded || !e.Canceled {
		t.Errorf("event %v, Canceled %v; want AttemptEnded, Canceled: Run's ctx was done", e.Kind, e.Canceled)
	}
	close(events)
	for e := range events {
		if e.Kind == lifecycle.BackingOff {
			t.Error("the service backed off for a restart after Run's ctx was done")
		}
	}
}
