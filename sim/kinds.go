package sim

import (
	"fmt"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// stream is the goroutine of the Manager that reports an event, and so the
// order it comes in: a service's Run events come from its supervise loop,
// one after the other; its Stop events from the Stop call, one after the
// other; the two streams interleave in any order.
type stream int

const (
	unclassified stream = iota
	runStream           // the service's supervise loop
	stopStream          // the Manager's Stop call
)

// streamOf is the one place that says which stream each
// [lifecycle.EventKind] belongs to. Every kind is named; a kind it does not
// know is unclassified, which the recorder reports as a failure and
// TestStreamOf_ClassifiesEveryKind catches before any schedule runs.
func streamOf(k lifecycle.EventKind) stream {
	switch k {
	case lifecycle.AttemptStarted, lifecycle.AttemptEnded, lifecycle.BackingOff, lifecycle.GaveUp:
		return runStream
	case lifecycle.StopCalled, lifecycle.StopEnded, lifecycle.StopAbandoned,
		lifecycle.ServiceStopping, lifecycle.ServiceStopped:
		return stopStream
	}
	return unclassified
}

// EventKinds returns every kind lifecycle names, in order: the kinds from 1
// up to the first whose String is not a name.
func EventKinds() []lifecycle.EventKind {
	var kinds []lifecycle.EventKind
	for k := lifecycle.EventKind(1); k.String() != fmt.Sprintf("EventKind(%d)", int(k)); k++ {
		kinds = append(kinds, k)
	}
	return kinds
}

// kindStreams maps each kind's name, as a trace's [Event] holds it, to its
// stream.
var kindStreams = func() map[string]stream {
	m := map[string]stream{}
	for _, k := range EventKinds() {
		m[k.String()] = streamOf(k)
	}
	return m
}()

// Classified reports whether the sim knows which stream events of kind k
// belong to.
func Classified(k lifecycle.EventKind) bool { return streamOf(k) != unclassified }

// isStopEvent reports whether a trace's event came from the Stop call.
func isStopEvent(e Event) bool { return kindStreams[e.Kind] == stopStream }
