package sim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// The shapes a value can take, where the contract tells them apart
// (Step.Shape, StopStep.Shape). "" is the plain shape of each outcome.
const (
	// Error: an error with the same text as lifecycle.ErrFinished that does
	// not wrap it (a failure: restarted), or a typed nil pointer whose
	// Error method panics (a failure; the log must say so).
	ShapeLookalike = "lookalike"
	ShapeHostile   = "hostile"
	// Finished: lifecycle.ErrFinished itself, wrapped 2 or 3 levels deep
	// with fmt.Errorf's %w, or one of errors.Join's errors. The plain shape
	// is a type whose Unwrap method returns it.
	ShapeBare     = "bare"
	ShapeWrapped2 = "wrapped2"
	ShapeWrapped3 = "wrapped3"
	ShapeJoined   = "joined"
	// Panic: the value is an error, an int, or a typed nil pointer (an
	// error whose Error method panics). The plain shape is a string.
	ShapeErrorValue = "error"
	ShapeInt        = "int"
	ShapeNilPointer = "nilptr"
)

// Shapes lists, for each outcome, the shapes drawn for it; the plain one
// first.
var Shapes = map[Outcome][]string{
	Error:    {"", ShapeLookalike, ShapeHostile},
	Finished: {"", ShapeBare, ShapeWrapped2, ShapeWrapped3, ShapeJoined},
	Panic:    {"", ShapeErrorValue, ShapeInt, ShapeNilPointer},
}

// StopShapes lists the shapes drawn for a Stop call's outcome.
var StopShapes = map[Outcome][]string{
	Error: {"", ShapeHostile},
	Panic: {"", ShapeErrorValue, ShapeInt, ShapeNilPointer},
}

// hostilePanic is what a hostileError's Error method panics with: a log
// record that mentions it says that the Error method panicked.
const hostilePanic = "hostile Error method"

// hostileError is an error whose Error method panics, as a method that
// reads through a typed nil pointer does. The services use it only as
// (*hostileError)(nil).
type hostileError struct{}

func (*hostileError) Error() string { panic(hostilePanic) }

// describe is how the sim writes an error in a trace: its text, or, if its
// Error method panics, a note saying so (fmt writes "<nil>" for a nil
// pointer whose method panics; the sim never calls Error unguarded).
func describe(err error) (text string) {
	if err == nil {
		return "<nil>"
	}
	defer func() {
		if v := recover(); v != nil {
			text = fmt.Sprintf("%T whose Error method panicked", err)
		}
	}()
	return err.Error()
}

// finishedError is the plain shape of a finishing error: its own type,
// whose Unwrap returns lifecycle.ErrFinished.
type finishedError struct{ text string }

func (e *finishedError) Error() string { return e.text }
func (e *finishedError) Unwrap() error { return lifecycle.ErrFinished }

// ErrFinishedText is the text of lifecycle.ErrFinished: a look-alike's.
func ErrFinishedText() string { return lifecycle.ErrFinished.Error() }

// hostileDetail is how [describe] writes a hostileError.
var hostileDetail = describe((*hostileError)(nil))

// runEnd is how call k (from 1) of service name ends by step st: the error
// it returns, or the value it panics with.
func runEnd(name string, k int, st Step) (value any, err error) {
	text := fmt.Sprintf("%s#%d %s", name, k, st.End)
	switch st.End {
	case Error:
		switch st.Shape {
		case ShapeLookalike:
			return nil, errors.New(lifecycle.ErrFinished.Error())
		case ShapeHostile:
			return nil, (*hostileError)(nil)
		}
		return nil, errors.New(text)
	case Finished:
		switch st.Shape {
		case ShapeBare:
			return nil, lifecycle.ErrFinished
		case ShapeWrapped2:
			return nil, fmt.Errorf("%s: %w", text, fmt.Errorf("level 2: %w", lifecycle.ErrFinished))
		case ShapeWrapped3:
			return nil, fmt.Errorf("%s: %w", text, fmt.Errorf("level 2: %w", fmt.Errorf("level 3: %w", lifecycle.ErrFinished)))
		case ShapeJoined:
			return nil, errors.Join(errors.New(text), lifecycle.ErrFinished)
		}
		return nil, &finishedError{text}
	case Panic:
		return panicValue(text, k, st.Shape), nil
	}
	return nil, nil
}

// panicValue is the value a call panics with, in the given shape.
func panicValue(text string, k int, shape string) any {
	switch shape {
	case ShapeErrorValue:
		return errors.New(text)
	case ShapeInt:
		return k
	case ShapeNilPointer:
		return (*hostileError)(nil)
	}
	return text
}

// runDetail is how call k (from 1) of service name, ending by step st,
// describes its end: the text of its error, or its panic value.
func runDetail(name string, k int, st Step) string {
	v, err := runEnd(name, k, st)
	switch {
	case st.End == Panic:
		return fmt.Sprint(v)
	case err != nil:
		return describe(err)
	case st.End == Goexit:
		return fmt.Sprintf("%s#%d goexit", name, k)
	}
	return ""
}

// stopEnd is how a Stop call ends by sp, when it does not honour a done
// ctx: the error it returns (plainErr for the plain shape), or the value
// it panics with. It does not name the service: the Manager's report must.
func stopEnd(sp *StopStep, plainErr error) (value any, err error) {
	switch sp.End {
	case Error:
		if sp.Shape == ShapeHostile {
			return nil, (*hostileError)(nil)
		}
		return nil, plainErr
	case Panic:
		return panicValue("stop panic", 7, sp.Shape), nil
	}
	return nil, nil
}

// stopErr is the error a Stop call by sp returns, if it returns one.
func stopErr(sp *StopStep) error {
	if sp != nil && sp.End == Error && sp.Shape == ShapeHostile {
		return (*hostileError)(nil)
	}
	return errors.New("stop error")
}

// stopDetail is how a Stop call by sp describes its end.
func stopDetail(sp *StopStep, plainErr error) string {
	v, err := stopEnd(sp, plainErr)
	switch {
	case sp.End == Panic:
		return fmt.Sprint(v)
	case err != nil:
		return describe(err)
	case sp.End == Goexit:
		return "stop goexit"
	}
	return ""
}

// service plays one scripted Service. Its Run calls happen one at a time;
// its Stop call runs concurrently with them.
type service struct {
	idx     int
	name    string
	plan    *Service
	clk     *fakeclock.Clock
	rec     *recorder
	tracker *lifecycle.Tracker // nil unless plan.Health.Tracker
	release <-chan struct{}    // closed when the simulation ends

	calls   int      // Run calls so far; only Run touches it
	ticks   int      // a Worker's ticks so far; only its Run touches it
	last    TickCall // a Worker's last tick
	stopErr error
}

// Run plays the next step of the script.
func (s *service) Run(ctx context.Context) error {
	s.calls++
	k := s.calls
	st := s.plan.step(k - 1)
	start := s.rec.now()
	if s.plan.NotifyReady {
		// Ready's timer is armed before the call's own, so that at equal
		// instants Ready comes first (C9.3).
		switch {
		case st.Ready == 0:
			lifecycle.Ready(ctx)
		case st.Ready > 0:
			s.clk.AfterFunc(st.Ready, func() { lifecycle.Ready(ctx) })
		}
	}
	switch {
	case st.Wait:
		<-ctx.Done()
		if st.Honour {
			return s.end(ctx, k, start, Step{End: Error}, ctx.Err(), nil)
		}
		s.sleep(st.Run)
	case st.Run > 0 && st.Honour:
		ch, stop := s.clk.NewTimer(st.Run)
		select {
		case <-ch:
		case <-ctx.Done():
			stop()
			return s.end(ctx, k, start, Step{End: Error}, ctx.Err(), nil)
		}
	default:
		s.sleep(st.Run)
	}
	v, err := runEnd(s.name, k, st)
	return s.end(ctx, k, start, st, err, v)
}

// end records call k's end and ends it by st: it returns err, panics with
// v, or calls runtime.Goexit. A call cut short by ctx passes the plain
// Step{End: Error} and ctx.Err().
func (s *service) end(ctx context.Context, k int, start time.Duration, st Step, err error, v any) error {
	detail := runDetail(s.name, k, st)
	if err != nil {
		detail = describe(err)
	}
	s.rec.attempt(s.idx, Attempt{Start: start, End: s.rec.now(), Outcome: st.End, Detail: detail, Canceled: ctx.Err() != nil})
	if s.tracker != nil {
		s.track(st.End == Nil, detail)
	}
	switch st.End {
	case Panic:
		panic(v)
	case Goexit:
		runtime.Goexit()
	}
	return err
}

// track records a call's end in the service's Tracker, with the calls its
// plan names (HealthPlan.Calls).
func (s *service) track(ok bool, detail string) {
	switch {
	case s.plan.Health.Calls == TrackRecord && ok:
		s.tracker.Record(nil)
	case s.plan.Health.Calls == TrackRecord:
		s.tracker.Record(errors.New(detail))
	case ok:
		s.tracker.Success()
	case s.plan.Health.Calls == TrackFailureNil:
		s.tracker.Failure(nil)
	default:
		s.tracker.Failure(errors.New(detail))
	}
}

func (s *service) sleep(d time.Duration) {
	if d > 0 {
		s.clk.Sleep(d)
	}
}

// stop plays the service's Stop.
func (s *service) stop(ctx context.Context) error {
	sp := s.plan.Stopper
	deadline, _ := ctx.Deadline()
	call := StopCall{Called: s.rec.now(), Deadline: deadline.Sub(Epoch), Returned: Unset}
	if sp.Block {
		s.rec.stopCall(s.idx, call)
		<-s.release
		return nil
	}
	s.rec.stopBodies.Add(1)
	defer s.rec.stopBodies.Add(-1)
	o := sp.End
	v, err := stopEnd(sp, s.stopErr)
	switch {
	case sp.Took > 0 && sp.Honour:
		ch, stopTimer := s.clk.NewTimer(sp.Took)
		select {
		case <-ch:
		case <-ctx.Done():
			stopTimer()
			o, err = Error, ctx.Err()
		}
	default:
		s.sleep(sp.Took)
	}
	call.Returned, call.Outcome, call.CtxDone = s.rec.now(), o, ctx.Err() != nil
	call.Detail = stopDetail(sp, s.stopErr)
	if err != nil {
		call.Detail = describe(err)
	}
	s.rec.stopCall(s.idx, call)
	switch o {
	case Panic:
		panic(v)
	case Goexit:
		runtime.Goexit()
	}
	return err
}

// health plays the service's Health as a function of virtual time: the
// first piece whose Until is after now, or the last one.
func (s *service) health() lifecycle.WorkerHealth {
	at := s.rec.now()
	pieces := s.plan.Health.Pieces
	i := 0
	for i < len(pieces)-1 && at >= pieces[i].Until {
		i++
	}
	p := pieces[i]
	if p.Panic {
		panic(s.name + " health panic")
	}
	return lifecycle.WorkerHealth{Name: p.Name, LastSuccess: stamp(p.LastSuccess), LastFailure: stamp(p.LastFailure),
		LastError: p.LastError, ConsecutiveFailures: p.Failures}
}

// stamp is the time.Time of a virtual time, zero for Unset.
func stamp(d time.Duration) time.Time {
	if d == Unset {
		return time.Time{}
	}
	return Epoch.Add(d)
}

// unstamp is the virtual time of a time.Time, Unset for zero.
func unstamp(t time.Time) time.Duration {
	if t.IsZero() {
		return Unset
	}
	return t.Sub(Epoch)
}

// The combinations of optional interfaces a service can implement.
type (
	runnerOnly  struct{ *service }
	withStop    struct{ *service }
	withFunc    struct{ *service }
	withFuncSt  struct{ *service }
	withTracker struct {
		*service
		*lifecycle.Tracker
	}
	withTrackerSt struct {
		*service
		*lifecycle.Tracker
	}
)

func (s withStop) Stop(ctx context.Context) error      { return s.stop(ctx) }
func (s withFunc) Health() lifecycle.WorkerHealth      { return s.health() }
func (s withFuncSt) Stop(ctx context.Context) error    { return s.stop(ctx) }
func (s withFuncSt) Health() lifecycle.WorkerHealth    { return s.health() }
func (s withTrackerSt) Stop(ctx context.Context) error { return s.stop(ctx) }

// wrap returns the service as a Runner that implements exactly the
// optional interfaces its plan asks for.
func (s *service) wrap() lifecycle.Runner {
	stopper, health := s.plan.Stopper != nil, s.plan.Health
	switch {
	case s.plan.Worker != nil:
		return workerService{s.newWorker(), s}
	case health == nil && !stopper:
		return runnerOnly{s}
	case health == nil:
		return withStop{s}
	case health.Tracker && !stopper:
		return withTracker{s, s.tracker}
	case health.Tracker:
		return withTrackerSt{s, s.tracker}
	case !stopper:
		return withFunc{s}
	default:
		return withFuncSt{s}
	}
}
