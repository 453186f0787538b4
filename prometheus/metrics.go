package lifecycleprom

import (
	"sync"
	"sync/atomic"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics turns a Manager's events into Prometheus metrics. Create it with
// [New], give [Metrics.Events] (or [Metrics.Observe]) to
// [lifecycle.WithEvents], and register it with a [prometheus.Registerer].
// All its methods are safe for concurrent use.
type Metrics struct {
	started  *prometheus.CounterVec   // service
	ended    *prometheus.CounterVec   // service, outcome
	restarts *prometheus.CounterVec   // service, outcome
	ran      *prometheus.HistogramVec // service
	backoff  *prometheus.HistogramVec // service
	stops    *prometheus.CounterVec   // service, outcome
	stopTook *prometheus.HistogramVec // service

	services sync.Map // service name → *series, added at its first event
}

var _ prometheus.Collector = (*Metrics)(nil)

// The outcome label values are the lifecycle.Outcome names, plus canceled
// for a Runner and abandoned for a Stopper (see the package doc).
var (
	// endings are the ways any call can end: for a Runner, each is a
	// failure when the Manager's context is live.
	endings = []lifecycle.Outcome{
		lifecycle.OutcomeNil, lifecycle.OutcomeError, lifecycle.OutcomePanic, lifecycle.OutcomeGoexit,
	}
	// runEndings are the ways a call of Run can end.
	runEndings = append(endings[:len(endings):len(endings)], lifecycle.OutcomeFinished)
)

const (
	canceled  = "canceled"
	abandoned = "abandoned"
)

// New returns a Metrics with the default namespace, "lifecycle", and
// default histogram buckets, as changed by opts. It registers nothing:
// pass it to a [prometheus.Registerer]'s Register or MustRegister.
func New(opts ...Option) *Metrics {
	c := config{
		namespace:      "lifecycle",
		attemptBuckets: DefaultAttemptBuckets,
		backoffBuckets: DefaultBackoffBuckets,
		stopBuckets:    DefaultStopBuckets,
	}
	for _, o := range opts {
		o(&c)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: c.namespace, Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: c.namespace, Name: name, Help: help, Buckets: buckets}, []string{"service"})
	}
	return &Metrics{
		started: counter("attempts_started_total",
			"Calls of a service's Run.", "service"),
		ended: counter("attempts_ended_total",
			"Ends of a service's Run, by outcome: nil, error, panic or goexit (failures while the Manager ran), "+
				"finished (ErrFinished), or canceled (returned once the Manager's context was done).",
			"service", "outcome"),
		restarts: counter("restarts_total",
			"Restarts of a service decided after a failed attempt, by the failure's outcome.",
			"service", "outcome"),
		ran: histogram("attempt_duration_seconds",
			"How long each call of a service's Run ran.", c.attemptBuckets),
		backoff: histogram("backoff_delay_seconds",
			"Each delay a service waited, or began to wait, before a restart.", c.backoffBuckets),
		stops: counter("stops_total",
			"Calls of a service's Stop, by outcome: nil, error, panic, goexit, "+
				"or abandoned (still running at its deadline).",
			"service", "outcome"),
		stopTook: histogram("stop_duration_seconds",
			"How long each call of a service's Stop took, when it ended before its deadline.", c.stopBuckets),
	}
}

// Events returns a function to pass to [lifecycle.WithEvents]: it records
// each event, then passes it to next, unless next is nil. next is called on
// the Manager's goroutines, as WithEvents says.
func (m *Metrics) Events(next func(lifecycle.Event)) func(lifecycle.Event) {
	if next == nil {
		return m.Observe
	}
	return func(ev lifecycle.Event) {
		m.Observe(ev)
		next(ev)
	}
}

// Observe records one event. Kinds of event it does not know are ignored,
// so a Manager with new kinds of event can feed an older Metrics.
func (m *Metrics) Observe(ev lifecycle.Event) {
	switch ev.Kind {
	case lifecycle.AttemptStarted, lifecycle.AttemptEnded, lifecycle.BackingOff,
		lifecycle.StopCalled, lifecycle.StopEnded, lifecycle.StopAbandoned:
	default:
		return // before making the service's series: the event says nothing here
	}
	s := m.series(ev.Service)
	switch ev.Kind {
	case lifecycle.AttemptStarted:
		s.started.Inc()
	case lifecycle.AttemptEnded:
		// The outcome is kept for the restart that follows, on the same
		// service's loop.
		s.last.Store(int64(ev.Outcome))
		if ev.Canceled && (ev.Outcome == lifecycle.OutcomeNil || ev.Outcome == lifecycle.OutcomeError) {
			s.canceled.Inc()
		} else {
			s.ended(m, ev.Outcome).Inc()
		}
		s.ran.Observe(ev.Duration.Seconds())
	case lifecycle.BackingOff:
		s.restart(m, lifecycle.Outcome(s.last.Load())).Inc()
		s.backoff.Observe(ev.Duration.Seconds())
	case lifecycle.StopCalled:
		s.stopSeries(m) // the stop series start at zero
	case lifecycle.StopEnded:
		st := s.stopSeries(m)
		st.outcome(m, ev.Service, ev.Outcome).Inc()
		st.took.Observe(ev.Duration.Seconds())
	case lifecycle.StopAbandoned:
		s.stopSeries(m).abandoned.Inc()
	}
}

// Describe sends the descriptions of every metric to ch; it implements
// [prometheus.Collector].
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect sends the current value of every series to ch; it implements
// [prometheus.Collector].
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) collectors() [7]prometheus.Collector {
	return [...]prometheus.Collector{m.started, m.ended, m.restarts, m.ran, m.backoff, m.stops, m.stopTook}
}

// series is one service's children of each vector, looked up once, so that
// recording an event costs no hashing of label values.
type series struct {
	started  prometheus.Counter
	ends     []prometheus.Counter // by index in runEndings
	canceled prometheus.Counter
	restarts []prometheus.Counter // by index in endings
	ran      prometheus.Observer
	backoff  prometheus.Observer
	last     atomic.Int64               // the Outcome of the last attempt that ended
	stop     atomic.Pointer[stopSeries] // nil until the service's first Stop
	stopMu   sync.Mutex                 // held while making stop
	name     string
}

// stopSeries is one service's children of the stop vectors.
type stopSeries struct {
	outcomes  []prometheus.Counter // by index in endings
	abandoned prometheus.Counter
	took      prometheus.Observer
}

// series returns the service's series, making them (at zero) at its first
// event.
func (m *Metrics) series(name string) *series {
	if s, ok := m.services.Load(name); ok {
		return s.(*series)
	}
	s := &series{
		name:     name,
		started:  m.started.WithLabelValues(name),
		canceled: m.ended.WithLabelValues(name, canceled),
		ran:      m.ran.WithLabelValues(name),
		backoff:  m.backoff.WithLabelValues(name),
	}
	for _, o := range runEndings {
		s.ends = append(s.ends, m.ended.WithLabelValues(name, o.String()))
	}
	for _, o := range endings {
		s.restarts = append(s.restarts, m.restarts.WithLabelValues(name, o.String()))
	}
	// Two first events of one service at once make the same children twice,
	// harmlessly: a vector returns the child it has.
	actual, _ := m.services.LoadOrStore(name, s)
	return actual.(*series)
}

// ended returns the counter of attempts that ended with o.
func (s *series) ended(m *Metrics, o lifecycle.Outcome) prometheus.Counter {
	if i := index(runEndings, o); i >= 0 {
		return s.ends[i]
	}
	return m.ended.WithLabelValues(s.name, o.String()) // an Outcome this package does not know
}

// restart returns the counter of restarts after a failure with o.
func (s *series) restart(m *Metrics, o lifecycle.Outcome) prometheus.Counter {
	if i := index(endings, o); i >= 0 {
		return s.restarts[i]
	}
	return m.restarts.WithLabelValues(s.name, o.String())
}

// stopSeries returns the service's stop series, making them (at zero) at
// its first stop event.
func (s *series) stopSeries(m *Metrics) *stopSeries {
	if st := s.stop.Load(); st != nil {
		return st
	}
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if st := s.stop.Load(); st != nil {
		return st
	}
	st := &stopSeries{
		abandoned: m.stops.WithLabelValues(s.name, abandoned),
		took:      m.stopTook.WithLabelValues(s.name),
	}
	for _, o := range endings {
		st.outcomes = append(st.outcomes, m.stops.WithLabelValues(s.name, o.String()))
	}
	s.stop.Store(st)
	return st
}

// outcome returns the counter of Stop calls that ended in time with o.
func (st *stopSeries) outcome(m *Metrics, name string, o lifecycle.Outcome) prometheus.Counter {
	if i := index(endings, o); i >= 0 {
		return st.outcomes[i]
	}
	return m.stops.WithLabelValues(name, o.String())
}

// index returns the index of o in outcomes, or -1. The lists are short, and
// a switch on the values would tie this package to their numbering.
func index(outcomes []lifecycle.Outcome, o lifecycle.Outcome) int {
	for i, x := range outcomes {
		if x == o {
			return i
		}
	}
	return -1
}
