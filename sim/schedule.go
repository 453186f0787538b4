package sim

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Epoch is virtual time 0: the fake clock starts there and [lifecycle.Manager.Run]
// is called there. Every time in a [Schedule] or a [Trace] is a
// time.Duration since Epoch.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Unset stands for a time that has not happened: a zero time.Time in a
// health entry, a Stopper that never returned.
const Unset time.Duration = -1

// Outcome is how a call of Run or Stop ended, as the service itself ended
// it.
type Outcome string

// The ways a service can end a call.
const (
	Nil      Outcome = "nil"      // returned nil
	Error    Outcome = "error"    // returned an error (ctx.Err() included)
	Panic    Outcome = "panic"    // panicked
	Goexit   Outcome = "goexit"   // called runtime.Goexit
	Finished Outcome = "finished" // returned an error wrapping lifecycle.ErrFinished
)

// Schedule is one simulated world: the services, the backoff settings and
// what the driver does when. The driver calls Run at virtual 0, cancels
// Run's context at CancelAt, calls Shutdown(StopTimeout) at StopAt and
// samples Health at each of HealthAt.
type Schedule struct {
	Services []Service
	Backoff  *Backoff // nil: the Manager's defaults, SetBackoff not called
	Jitter   *Jitter  // nil: no WithJitter

	// Rebackoff, if set, is passed to SetBackoff at RebackoffAt (> 0),
	// while Run runs: from each service's next failure on, it is the
	// setting (docs/contract.md, C2.14).
	Rebackoff   *Backoff
	RebackoffAt time.Duration

	CancelAt    time.Duration   // 0: Run's ctx is cancelled before Run is called
	StopAt      time.Duration   // when Shutdown is called (may be before Run's ctx is cancelled)
	StopTimeout time.Duration   // Shutdown's budget; may be 0 or negative
	Stop2       bool            // call Shutdown a second time, at Stop2At
	Stop2At     time.Duration   // (its timeout is ignored: it gets the first call's report)
	HealthAt    []time.Duration // Health samples; a sample at 0 is taken just before Run
	HealthVia   []string        // how each sample is taken: ViaCall (also when missing) or an HTTP method

	// Misuse are programmer errors the driver makes, each of which must
	// panic, naming the package and the service, and change nothing.
	Misuse []Misuse

	// Logger is where the Manager logs: LoggerWith (WithLogger), or
	// slog.Default() at the time of each call, with no WithLogger
	// (LoggerDefault) or WithLogger(nil) (LoggerNil). The driver sets
	// slog.Default before Run and, if LoggerSwitchAt > 0, sets another one
	// then.
	Logger         string
	LoggerSwitchAt time.Duration

	// Ordered makes the Manager WithOrderedShutdown: each service has a
	// context of its own, cancelled in its turn (docs/contract.md, C8).
	Ordered bool
	// Drain is WithDrain's (0: not given); with Ordered or Serve only.
	Drain time.Duration
	// Serve makes the driver call Serve(ctx, StopTimeout) at virtual 0
	// instead of Run and Shutdown: ctx is cancelled at CancelAt, and
	// shutdown begins then, or when an Essential service gives up. StopAt
	// and Stop2 are then unused. Serve implies Ordered.
	Serve bool

	// Gate, if > 0, is WithGatedStart's start timeout: Run starts each
	// service once the one before it is first ready or its loop ended,
	// and each attempt of a NotifyReady service not ready within Gate of
	// its call is cancelled then and fails (docs/contract.md, C9.4).
	Gate time.Duration
	// StatesAt are States() samples; one at 0 is taken just before Run,
	// after the Health samples at 0.
	StatesAt []time.Duration
	// Probes are requests to the liveness and readiness probes (C10),
	// each a driver timer armed after the States samples.
	Probes []Probe
	// GiveUpProbes: at each GaveUp event, from the events callback (on
	// the service's goroutine, before the Manager escalates the give-up),
	// ask the liveness probe about the service: GET /livez/<service>. Not
	// for a service that is not Essential under Serve: an Essential one
	// giving up at the same instant may begin shutdown meanwhile.
	GiveUpProbes bool
}

// ordered reports whether shutdown is the ordered one of C8.
func (s *Schedule) ordered() bool { return s.Ordered || s.Serve }

// The loggers a Manager can have (Schedule.Logger).
const (
	LoggerWith    = ""
	LoggerDefault = "default"
	LoggerNil     = "WithLogger(nil)"
)

// via is how sample j is taken.
func (s *Schedule) via(j int) string {
	if j < len(s.HealthVia) {
		return s.HealthVia[j]
	}
	return ViaCall
}

// Backoff is the argument of SetBackoff, called before Run.
type Backoff struct {
	Initial, Maximum, Reset time.Duration
}

// Jitter is the argument of WithJitter: every restart delay d becomes
// d - time.Duration(float64(d)*Fraction*R), floored at 0, with R clamped
// into [0, 1] (NaN as 0). Fraction is in [0, 1); R may be out of range,
// NaN or infinite. R is constant so that the schedule is deterministic
// whichever service draws first.
type Jitter struct {
	Fraction, R float64
}

// Service is one registered service, named "svc<index>".
type Service struct {
	// Steps scripts the calls of Run, one step per call. Once the script is
	// used up, Run waits for cancellation and returns ctx.Err().
	Steps   []Step
	Stopper *StopStep   // nil: the service does not implement Stopper
	Health  *HealthPlan // nil: the service does not implement HealthReporter
	// Worker, if set, makes the service a lifecycle.Worker instead: Steps,
	// Stopper and Health are then unused (a Worker reports health).
	Worker *WorkerPlan
	// Limit, if set, is the service's RestartLimit; Essential is
	// Essential() (it escalates under Serve when it gives up).
	Limit     *Limit
	Essential bool
	// NotifyReady registers it with NotifyReady(): each call of Run is
	// Starting, and not ready, until it calls lifecycle.Ready (Step.Ready).
	NotifyReady bool
}

// Limit is the argument of RestartLimit: give up at the failure that
// makes N failures within the half-open window (t-Window, t].
type Limit struct {
	N      int
	Window time.Duration
}

// reports says whether the service implements HealthReporter.
func (sv *Service) reports() bool { return sv.Health != nil || sv.Worker != nil }

// Step is one call of Run.
type Step struct {
	// Wait: wait for cancellation instead of running for Run.
	Wait bool
	// Run is how long the call runs before it ends with End. With Wait, it
	// is how long after cancellation the call returns (ignoring ctx).
	Run time.Duration
	// Honour: return ctx.Err() as soon as ctx is done, if it is done before
	// Run has elapsed (a Wait step then returns at cancellation).
	Honour bool
	// End is how the call ends when it is not cut short by Honour.
	End Outcome
	// Shape is the shape of the error returned or the value panicked
	// with: one of Shapes[End]; "" is the plain one.
	Shape string
	// Ready (NotifyReady services only) is when, after the call, Run
	// calls lifecycle.Ready with its ctx: at once for 0, from a timer
	// otherwise, even once the call has returned (a stale Ready, which
	// must do nothing); Unset: never.
	Ready time.Duration
}

// StopStep is how a service's Stop behaves.
type StopStep struct {
	Block  bool          // block until the simulation ends (ignores ctx)
	Took   time.Duration // how long Stop runs before it ends with End
	Honour bool          // return ctx.Err() as soon as ctx is done, if before Took
	End    Outcome       // Nil, Error, Panic or Goexit
	Shape  string        // one of StopShapes[End]; "" is the plain one
}

// HealthPlan is how a service reports health: either a lifecycle.Tracker
// fed by its Run calls, or a function of virtual time.
type HealthPlan struct {
	// Tracker: the service embeds a *lifecycle.Tracker on the fake clock and
	// records every Run call's end in it: nil as a success, anything else
	// as a failure (recorded before panicking or calling Goexit).
	Tracker bool
	// Calls says which Tracker methods record the calls' ends.
	Calls TrackerCalls
	// Pieces (when not Tracker) give Health as a function of virtual time:
	// the first piece whose Until is after now applies; the last one
	// applies from there on.
	Pieces []HealthPiece
}

// TrackerCalls names the Tracker methods a service records with.
type TrackerCalls string

// The ways a service can feed its Tracker.
const (
	TrackSuccessFailure TrackerCalls = ""            // Success(), Failure(err)
	TrackRecord         TrackerCalls = "record"      // Record(nil), Record(err)
	TrackFailureNil     TrackerCalls = "failure-nil" // Success(), Failure(nil): LastError "unknown error"
)

// HealthPiece is Health's value until virtual time Until.
type HealthPiece struct {
	Until time.Duration
	Panic bool   // Health panics
	Name  string // the Name the service puts in (the Manager must overwrite it)

	LastSuccess, LastFailure time.Duration // Unset: zero time
	LastError                string
	Failures                 int
}

// Name is the registration name of service i.
func Name(i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("svc%d", i)
}

// names are the first names, made once: Name is called at every step of
// the model.
var names = func() (n [16]string) {
	for i := range n {
		n[i] = fmt.Sprintf("svc%d", i)
	}
	return n
}()

// settings returns the backoff in force: the schedule's or the defaults.
func (s *Schedule) settings() Backoff {
	if s.Backoff != nil {
		return *s.Backoff
	}
	return Backoff{Initial: time.Second, Maximum: 30 * time.Second, Reset: 60 * time.Second}
}

// settingsAt returns the backoff in force for a restart decided at t, when
// an attempt that failed at t ends. The driver's SetBackoff timer is older
// than any service's, so a failure at the very instant sees the new one.
func (s *Schedule) settingsAt(t time.Duration) Backoff {
	if s.Rebackoff != nil && t >= s.RebackoffAt {
		return *s.Rebackoff
	}
	return s.settings()
}

// Stoppers returns the number of services that implement Stopper.
func (s *Schedule) Stoppers() int {
	n := 0
	for _, sv := range s.Services {
		if sv.Stopper != nil {
			n++
		}
	}
	return n
}

// step returns the step of the k-th call of Run (from 0): the script's,
// then waiting for cancellation for good.
func (sv *Service) step(k int) Step {
	if k < len(sv.Steps) {
		return sv.Steps[k]
	}
	return Step{Wait: true, Honour: true}
}

// Size summarises how big the schedule is, for reports of shrunk failures.
func (s Schedule) Size() string {
	steps, workers, ticks := 0, 0, 0
	for _, sv := range s.Services {
		steps += len(sv.Steps)
		if sv.Worker != nil {
			workers++
			ticks += len(sv.Worker.Ticks)
		}
	}
	size := fmt.Sprintf("%d services, %d Run steps, %d Stoppers, %d Health samples", len(s.Services), steps, s.Stoppers(), len(s.HealthAt))
	if workers > 0 {
		size += fmt.Sprintf(", %d Workers with %d ticks", workers, ticks)
	}
	if len(s.Misuse) > 0 {
		size += fmt.Sprintf(", %d misuses", len(s.Misuse))
	}
	if len(s.StatesAt) > 0 {
		size += fmt.Sprintf(", %d States samples", len(s.StatesAt))
	}
	if len(s.Probes) > 0 {
		size += fmt.Sprintf(", %d probes", len(s.Probes))
	}
	return size
}

// String renders the schedule, one line per service.
func (s Schedule) String() string {
	var b strings.Builder
	bo := "default (1s, 30s, 60s)"
	if s.Backoff != nil {
		bo = fmt.Sprintf("initial=%v maximum=%v reset=%v", fmtDur(s.Backoff.Initial), fmtDur(s.Backoff.Maximum), fmtDur(s.Backoff.Reset))
	}
	fmt.Fprintf(&b, "backoff %s", bo)
	if s.Jitter != nil {
		fmt.Fprintf(&b, " jitter=%v rnd=%v", s.Jitter.Fraction, s.Jitter.R)
	}
	if r := s.Rebackoff; r != nil {
		fmt.Fprintf(&b, "; at %v SetBackoff initial=%v maximum=%v reset=%v",
			fmtDur(s.RebackoffAt), fmtDur(r.Initial), fmtDur(r.Maximum), fmtDur(r.Reset))
	}
	b.WriteString("\n")
	if s.CancelAt == 0 {
		b.WriteString("cancel before Run")
	} else {
		fmt.Fprintf(&b, "cancel at %v", fmtDur(s.CancelAt))
	}
	fmt.Fprintf(&b, "; Stop(%v) at %v", fmtDur(s.StopTimeout), fmtDur(s.StopAt))
	if s.Stop2 {
		fmt.Fprintf(&b, ", again at %v", fmtDur(s.Stop2At))
	}
	if len(s.HealthAt) > 0 {
		b.WriteString("; Health at")
		for j, h := range s.HealthAt {
			b.WriteString(" " + fmtDur(h))
			if v := s.via(j); v != ViaCall {
				b.WriteString(" (" + v + ")")
			}
		}
	}
	if s.Logger != LoggerWith {
		fmt.Fprintf(&b, "; logger %s", s.Logger)
		if s.LoggerSwitchAt > 0 {
			fmt.Fprintf(&b, ", slog.SetDefault again at %v", fmtDur(s.LoggerSwitchAt))
		}
	}
	for _, m := range s.Misuse {
		fmt.Fprintf(&b, "; at %v %s", fmtDur(m.At), m.Kind)
	}
	switch {
	case s.Serve:
		b.WriteString("; Serve instead of Run and Shutdown")
	case s.Ordered:
		b.WriteString("; ordered shutdown")
	}
	if s.ordered() && s.Drain > 0 {
		fmt.Fprintf(&b, ", drain %v", fmtDur(s.Drain))
	}
	if s.Gate > 0 {
		fmt.Fprintf(&b, "; gated start, start timeout %v", fmtDur(s.Gate))
	}
	if len(s.StatesAt) > 0 {
		b.WriteString("; States at")
		for _, t := range s.StatesAt {
			b.WriteString(" " + fmtDur(t))
		}
	}
	for _, p := range s.Probes {
		b.WriteString("; probe " + p.String())
	}
	if s.GiveUpProbes {
		b.WriteString("; probe /livez at each give-up")
	}
	b.WriteString("\n")
	for i, sv := range s.Services {
		if sv.Worker != nil {
			fmt.Fprintf(&b, "%s: %s%s\n", Name(i), sv.Worker, sv.options())
			continue
		}
		fmt.Fprintf(&b, "%s: run", Name(i))
		for _, st := range sv.Steps {
			b.WriteString(" " + st.String())
			if sv.NotifyReady {
				b.WriteString(readyString(st.Ready))
			}
		}
		b.WriteString(" then wait")
		if sv.NotifyReady {
			b.WriteString(readyString(0))
		}
		if sv.Stopper != nil {
			b.WriteString("; stop " + sv.Stopper.String())
		}
		if sv.Health != nil {
			b.WriteString("; health " + sv.Health.String())
		}
		b.WriteString(sv.options())
		b.WriteString("\n")
	}
	return b.String()
}

// options renders the service's RestartLimit and Essential.
func (sv *Service) options() string {
	o := ""
	if l := sv.Limit; l != nil {
		o += fmt.Sprintf("; RestartLimit(%d, %v)", l.N, fmtDur(l.Window))
	}
	if sv.Essential {
		o += "; Essential"
	}
	if sv.NotifyReady {
		o += "; NotifyReady"
	}
	return o
}

// readyString renders when a NotifyReady call calls Ready.
func readyString(d time.Duration) string {
	if d == Unset {
		return "(never ready)"
	}
	return fmt.Sprintf("(ready +%v)", fmtDur(d))
}

// GoString makes rapid's log of a drawn schedule readable.
func (s Schedule) GoString() string { return "\n" + s.String() }

func (st Step) String() string {
	h := ""
	if st.Honour {
		h = "h"
	}
	if st.Wait {
		if st.Honour {
			return "[wait]"
		}
		return fmt.Sprintf("[wait+%v %s]", fmtDur(st.Run), endShape(st.End, st.Shape))
	}
	return fmt.Sprintf("[%v%s %s]", fmtDur(st.Run), h, endShape(st.End, st.Shape))
}

// endShape writes an outcome with its shape, if not the plain one.
func endShape(o Outcome, shape string) string {
	if shape == "" {
		return string(o)
	}
	return string(o) + "/" + shape
}

func (st StopStep) String() string {
	if st.Block {
		return "[block]"
	}
	h := ""
	if st.Honour {
		h = "h"
	}
	return fmt.Sprintf("[%v%s %s]", fmtDur(st.Took), h, endShape(st.End, st.Shape))
}

func (h HealthPlan) String() string {
	if h.Tracker && h.Calls != "" {
		return "tracker " + string(h.Calls)
	}
	if h.Tracker {
		return "tracker"
	}
	var parts []string
	for _, p := range h.Pieces {
		v := "panic"
		if !p.Panic {
			v = fmt.Sprintf("{%q ok=%s fail=%s %q n=%d}", p.Name, fmtStamp(p.LastSuccess), fmtStamp(p.LastFailure), p.LastError, p.Failures)
		}
		parts = append(parts, fmt.Sprintf("<%v:%s", fmtDur(p.Until), v))
	}
	return "func " + strings.Join(parts, " ")
}

// fmtDur prints a duration, naming the extremes.
func fmtDur(d time.Duration) string {
	switch d {
	case math.MaxInt64:
		return "MaxInt64"
	case math.MinInt64:
		return "MinInt64"
	}
	return d.String()
}

func fmtStamp(d time.Duration) string {
	if d == Unset {
		return "-"
	}
	return fmtDur(d)
}
