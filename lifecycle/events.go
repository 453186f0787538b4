package lifecycle

import (
	"errors"
	"fmt"
	"time"
)

// ErrFinished is returned by a Runner (directly or wrapped; it is matched
// with errors.Is) to say that it is done for good: the Manager does not
// restart it, logs it at Info rather than as a failure, and [Manager.Run]
// goes on waiting for the other services and for its context.
var ErrFinished = errors.New("lifecycle: service finished")

// EventKind says which step in the life of a service an [Event] reports.
type EventKind int

// The kinds of [Event], in the order they happen to a service.
const (
	// AttemptStarted: Run of the service was called. Attempt counts from 1.
	AttemptStarted EventKind = iota + 1
	// AttemptEnded: Run returned, panicked or called runtime.Goexit.
	// Outcome says which; Duration is how long it ran; Canceled says the
	// Manager's context was done when it ended, so it is not restarted.
	AttemptEnded
	// BackingOff: the service will be restarted after Duration, unless the
	// context is done first.
	BackingOff
	// StopCalled: the service's Stop was called with Duration as its budget
	// (its context's deadline is Time + Duration).
	StopCalled
	// StopEnded: Stop returned (or panicked, or called runtime.Goexit) before
	// its deadline. Outcome says which; Duration is how long it took.
	StopEnded
	// StopAbandoned: Stop had not returned before its deadline; the Manager
	// moved on and left it running on its own goroutine. Duration is the
	// budget it was given.
	StopAbandoned
	// GaveUp: the service failed too often (see RestartLimit) and will not
	// be restarted. Attempt is its last attempt; Err is a *GiveUpError.
	GaveUp
	// ServiceStopping: an ordered shutdown reached the service: its
	// context is cancelled and its Stop, if any, called; Duration is its
	// share of the budget.
	ServiceStopping
	// ServiceStopped: the service's turn in an ordered shutdown ended:
	// Duration is how long it took; Outcome is OutcomeAbandoned if its Run
	// or its Stop was still running at the deadline, OutcomeNil otherwise.
	ServiceStopped

	kindCount // one past the last kind: sizes kindNames
)

// kindNames is indexed by EventKind; its size follows the constants, and a
// test fails if a name is missing.
var kindNames = [kindCount]string{"", "AttemptStarted", "AttemptEnded", "BackingOff", "StopCalled", "StopEnded", "StopAbandoned",
	"GaveUp", "ServiceStopping", "ServiceStopped"}

func (k EventKind) String() string {
	if k > 0 && k < kindCount {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Outcome says how a call to Run or Stop ended.
type Outcome int

// The ways a Run or Stop call can end. The zero value, OutcomeNone, is no
// outcome at all, so a result nobody filled in never reads as a success.
const (
	OutcomeNone      Outcome = iota // no outcome: the zero value
	OutcomeNil                      // returned nil
	OutcomeError                    // returned a non-nil error
	OutcomePanic                    // panicked; Err is a *PanicError holding the value
	OutcomeGoexit                   // called runtime.Goexit (as t.FailNow does)
	OutcomeFinished                 // returned an error matching ErrFinished
	OutcomeAbandoned                // Stop only: still running at its deadline, left behind

	outcomeCount // one past the last outcome: sizes outcomeNames
)

// outcomeNames is indexed by Outcome; its size follows the constants, and a
// test fails if a name is missing.
var outcomeNames = [outcomeCount]string{"none", "nil", "error", "panic", "goexit", "finished", "abandoned"}

func (o Outcome) String() string {
	if o >= 0 && o < outcomeCount {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Event reports one step in the life of a service to the function given to
// [WithEvents]. Which fields are set depends on Kind; the others are zero.
type Event struct {
	Kind    EventKind
	Service string    // the registration name
	Time    time.Time // when it happened, on the Manager's Clock
	Attempt int       // Run attempts only: 1 for the first call of Run, and so on

	Outcome Outcome // AttemptEnded, StopEnded
	// Err is what Run or Stop returned (AttemptEnded, StopEnded), a
	// *PanicError holding the value passed to panic, or ErrGoexit.
	Err error

	// Duration is how long the attempt ran (AttemptEnded), the restart delay
	// (BackingOff), the Stopper's budget (StopCalled, StopAbandoned) or how
	// long Stop took (StopEnded).
	Duration time.Duration

	// Canceled is set on AttemptEnded when the attempt ended once the
	// service's context was done or shutdown had begun: it is not a failure,
	// and the service is not restarted.
	Canceled bool
}

// PanicError is the error reported for a Run or Stop call that panicked.
type PanicError struct {
	Service string // the registration name
	Value   any    // the value passed to panic
	Stack   []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("lifecycle: service %q panicked: %v", e.Service, e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// ErrGoexit is the error reported for a Run or Stop call that called
// runtime.Goexit.
var ErrGoexit = errors.New("lifecycle: runtime.Goexit called")
