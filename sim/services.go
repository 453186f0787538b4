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

// runDetail is how call k (from 1) of service name describes ending with o:
// the text of its error, or its panic value.
func runDetail(name string, k int, o Outcome) string {
	if o == Nil {
		return ""
	}
	return fmt.Sprintf("%s#%d %s", name, k, o)
}

// stopDetail is how a Stop call describes ending with o. It does not
// name the service: the Manager's report must.
func stopDetail(o Outcome) string {
	if o == Nil {
		return ""
	}
	return "stop " + string(o)
}

// finishedError is how a scripted service says it is done for good.
type finishedError struct{ text string }

func (e *finishedError) Error() string { return e.text }
func (e *finishedError) Unwrap() error { return lifecycle.ErrFinished }

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

	calls   int // Run calls so far; only Run touches it
	stopErr error
}

// Run plays the next step of the script.
func (s *service) Run(ctx context.Context) error {
	s.calls++
	k := s.calls
	st := s.plan.step(k - 1)
	start := s.rec.now()
	switch {
	case st.Wait:
		<-ctx.Done()
		if st.Honour {
			return s.end(ctx, k, start, Error, ctx.Err())
		}
		s.sleep(st.Run)
	case st.Run > 0 && st.Honour:
		ch, stop := s.clk.NewTimer(st.Run)
		select {
		case <-ch:
		case <-ctx.Done():
			stop()
			return s.end(ctx, k, start, Error, ctx.Err())
		}
	default:
		s.sleep(st.Run)
	}
	detail := runDetail(s.name, k, st.End)
	var err error
	switch st.End {
	case Error:
		err = errors.New(detail)
	case Finished:
		err = &finishedError{detail}
	}
	return s.end(ctx, k, start, st.End, err)
}

// end records call k's end and ends it with o.
func (s *service) end(ctx context.Context, k int, start time.Duration, o Outcome, err error) error {
	detail := runDetail(s.name, k, o)
	if err != nil {
		detail = err.Error()
	}
	s.rec.attempt(s.idx, Attempt{Start: start, End: s.rec.now(), Outcome: o, Detail: detail, Canceled: ctx.Err() != nil})
	if s.tracker != nil {
		if o == Nil {
			s.tracker.Success()
		} else {
			s.tracker.Failure(errors.New(detail))
		}
	}
	switch o {
	case Panic:
		panic(detail)
	case Goexit:
		runtime.Goexit()
	}
	return err
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
	o, err := sp.End, error(nil)
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
	if err == nil && o == Error {
		err = s.stopErr
	}
	call.Returned, call.Outcome, call.CtxDone = s.rec.now(), o, ctx.Err() != nil
	call.Detail = stopDetail(o)
	if err != nil {
		call.Detail = err.Error()
	}
	s.rec.stopCall(s.idx, call)
	switch o {
	case Panic:
		panic(call.Detail)
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
