package sim

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// WorkerPlan makes a service a lifecycle.Worker (NewWorker on the fake
// clock): it ticks on a grid of Interval from its first tick, skips the
// grid times a slow tick overran, records each tick in its Tracker, and
// reports that as its health. Its Run calls are the Worker's.
type WorkerPlan struct {
	Interval time.Duration
	// Spread, if > 0, is WorkerStartSpread's maxDelay: each call of Run waits
	// Spread*R (R clamped into [0, 1]) before its first tick.
	Spread time.Duration
	R      float64
	// Ticks script the ticks, across every call of Run; once they are
	// used up, a tick waits for cancellation.
	Ticks []Tick
}

// Tick is one call of the Worker's function: it works Work (cut short if
// ctx is done first: it then returns ctx.Err(), which is not recorded),
// then ends with End: Nil (a success), Error (a failure; Shape "" or
// ShapeLookalike), Finished (ends Run for good), Panic or Goexit (recorded
// as failures, then they unwind to the Manager, which restarts the Worker).
type Tick struct {
	Work  time.Duration
	End   Outcome
	Shape string
}

// TickCall is one tick as the Worker's function saw it.
type TickCall struct {
	Start, End time.Duration
	Outcome    Outcome // "" when cut short by ctx
	Detail     string
}

func (c TickCall) String() string {
	if c.Outcome == "" {
		return fmt.Sprintf("%v..%v cut short", fmtDur(c.Start), fmtDur(c.End))
	}
	return fmt.Sprintf("%v..%v %s %q", fmtDur(c.Start), fmtDur(c.End), c.Outcome, c.Detail)
}

func (w WorkerPlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker every %v", fmtDur(w.Interval))
	if w.Spread > 0 {
		fmt.Fprintf(&b, " spread %v rnd=%v", fmtDur(w.Spread), w.R)
	}
	b.WriteString(" ticks")
	for _, t := range w.Ticks {
		fmt.Fprintf(&b, " [%v %s]", fmtDur(t.Work), endShape(t.End, t.Shape))
	}
	b.WriteString(" then wait")
	return b.String()
}

// tickEnd is how tick k (from 1) of service name ends by t: the error its
// function returns, or the value it panics with.
func tickEnd(name string, k int, t Tick) (any, error) {
	return runEnd(fmt.Sprintf("%s tick", name), k, Step{End: t.End, Shape: t.Shape})
}

// tickDetail describes how tick k of service name ends by t.
func tickDetail(name string, k int, t Tick) string {
	return runDetail(fmt.Sprintf("%s tick", name), k, Step{End: t.End, Shape: t.Shape})
}

// workerService is a service played by a lifecycle.Worker. It embeds the
// Worker, so that it is what the Manager binds at Register (a type that
// embeds *lifecycle.Worker is bound as the Worker is: its tick failures
// are logged with the service name) and its Health is the Worker's; Run
// only notes when each call starts and ends.
type workerService struct {
	*lifecycle.Worker
	s *service
}

func (ws workerService) Run(ctx context.Context) error { return ws.s.runWorker(ctx, ws.Worker) }

// newWorker makes the service's Worker.
func (s *service) newWorker() *lifecycle.Worker {
	p := s.plan.Worker
	opts := []lifecycle.WorkerOption{lifecycle.WorkerClock(s.clk)}
	if p.Spread > 0 {
		r := p.R
		opts = append(opts, lifecycle.WorkerStartSpread(p.Spread, func() float64 { return r }))
	}
	return lifecycle.NewWorker(p.Interval, s.tick, opts...)
}

// runWorker is one call of the Worker's Run, recorded as an attempt that
// ends as its last tick made it end.
func (s *service) runWorker(ctx context.Context, w *lifecycle.Worker) error {
	s.calls++
	start := s.rec.now()
	a := Attempt{Start: start}
	returned := false
	defer func() {
		if !returned { // a tick panicked or called Goexit, and it unwinds
			a.End, a.Outcome, a.Detail, a.Canceled = s.rec.now(), s.last.Outcome, s.last.Detail, ctx.Err() != nil
			s.rec.attempt(s.idx, a)
		}
	}()
	err := w.Run(ctx)
	returned = true
	a.End, a.Canceled = s.rec.now(), ctx.Err() != nil
	switch {
	case err == nil:
		a.Outcome = Nil
	case s.last.Outcome == Finished:
		a.Outcome, a.Detail = Finished, describe(err)
	default:
		a.Outcome, a.Detail = Error, describe(err)
	}
	s.rec.attempt(s.idx, a)
	return err
}

// tick is the Worker's function: it plays the next tick of the script.
func (s *service) tick(ctx context.Context) error {
	s.ticks++
	k := s.ticks
	c := TickCall{Start: s.rec.now()}
	cut := func() error {
		c.End = s.rec.now()
		s.last = c
		s.rec.tickCall(s.idx, c)
		return ctx.Err()
	}
	ticks := s.plan.Worker.Ticks
	if k > len(ticks) {
		<-ctx.Done()
		return cut()
	}
	t := ticks[k-1]
	if t.Work > 0 {
		ch, stop := s.clk.NewTimer(t.Work)
		select {
		case <-ch:
		case <-ctx.Done():
			stop()
			return cut()
		}
	}
	v, err := tickEnd(s.name, k, t)
	c.End, c.Outcome, c.Detail = s.rec.now(), t.End, tickDetail(s.name, k, t)
	s.last = c
	s.rec.tickCall(s.idx, c)
	switch t.End {
	case Panic:
		panic(v)
	case Goexit:
		runtime.Goexit()
	}
	return err
}
