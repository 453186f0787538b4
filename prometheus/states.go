package lifecycleprom

import (
	"strings"
	"sync"

	"github.com/lifecyclesim/lifecycle/lifecycle"
	"github.com/prometheus/client_golang/prometheus"
)

// StateCollector exports the state and readiness of every service of a
// [lifecycle.Manager], read from [lifecycle.Manager.States] once per
// scrape: one snapshot, so the two gauges of a scrape always agree. Create
// it with [NewStateCollector] and register it beside the [Metrics]. It is
// safe for concurrent use.
//
// It is a collector of its own, not an option of [New], because the
// Manager is made after its Metrics (it takes [Metrics.Events]); and so
// that states can be exported without events.
type StateCollector struct {
	m     *lifecycle.Manager
	state *prometheus.Desc // service, state
	ready *prometheus.Desc // service

	// series holds each service's series, made at its first scrape: a
	// const metric is immutable, so each value of each series is made
	// once, and a scrape then allocates nothing but the States snapshot.
	series sync.Map // service name → *stateSeries
}

// stateSeries is one service's series, each at 0 and at 1.
type stateSeries struct {
	state [][2]prometheus.Metric // by index in states
	ready [2]prometheus.Metric
}

var _ prometheus.Collector = (*StateCollector)(nil)

// states are the lifecycle.States the state gauge has a series for, each
// service's at 1 and the others at 0; stateLabels are their label values.
var (
	states = []lifecycle.State{
		lifecycle.StateRegistered, lifecycle.StateStarting, lifecycle.StateRunning,
		lifecycle.StateBackingOff, lifecycle.StateGaveUp, lifecycle.StateFinished,
		lifecycle.StateStopping, lifecycle.StateStopped, lifecycle.StateAbandoned,
	}
	stateLabels = func() []string {
		out := make([]string, len(states))
		for i, s := range states {
			out[i] = stateLabel(s)
		}
		return out
	}()
)

// stateLabel is the label value of s: its name in snake case, as
// Prometheus label values usually are ("backing off" is backing_off).
func stateLabel(s lifecycle.State) string {
	return strings.ReplaceAll(s.String(), " ", "_")
}

// NewStateCollector returns a StateCollector of m's services. Of opts, only
// [WithNamespace] applies. It panics if m is nil.
func NewStateCollector(m *lifecycle.Manager, opts ...Option) *StateCollector {
	if m == nil {
		panic("lifecycleprom: NewStateCollector(nil)")
	}
	c := config{namespace: "lifecycle"}
	for _, o := range opts {
		o(&c)
	}
	return &StateCollector{
		m: m,
		state: prometheus.NewDesc(prometheus.BuildFQName(c.namespace, "service", "state"),
			"The state of each service: 1 for the state it is in, 0 for the others "+
				"(registered, starting, running, backing_off, gave_up, finished, stopping, stopped, abandoned).",
			[]string{"service", "state"}, nil),
		ready: prometheus.NewDesc(prometheus.BuildFQName(c.namespace, "service", "ready"),
			"Whether each service is ready: 1 while it runs and is ready (see lifecycle.NotifyReady), 0 otherwise.",
			[]string{"service"}, nil),
	}
}

// Describe sends the descriptions of the two gauges to ch; it implements
// [prometheus.Collector].
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.ready
}

// Collect reads the Manager's States once and sends every service's
// series to ch; it implements [prometheus.Collector].
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	c.collect(ch, c.m.States())
}

// collect sends the series of each service in ss to ch.
func (c *StateCollector) collect(ch chan<- prometheus.Metric, ss []lifecycle.ServiceState) {
	for _, s := range ss {
		ser := c.seriesOf(s.Name)
		known := false
		for i, st := range ser.state {
			on := s.State == states[i]
			known = known || on
			ch <- st[b2i(on)]
		}
		if !known { // a State newer than this package: a series of its own
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, 1, s.Name, stateLabel(s.State))
		}
		ch <- ser.ready[b2i(s.Ready)]
	}
}

// seriesOf returns the series of the service named name, making them at
// its first scrape.
func (c *StateCollector) seriesOf(name string) *stateSeries {
	if s, ok := c.series.Load(name); ok {
		return s.(*stateSeries)
	}
	gauge := func(desc *prometheus.Desc, labels ...string) [2]prometheus.Metric {
		return [2]prometheus.Metric{
			prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 0, labels...),
			prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, labels...),
		}
	}
	s := &stateSeries{ready: gauge(c.ready, name)}
	for _, l := range stateLabels {
		s.state = append(s.state, gauge(c.state, name, l))
	}
	actual, _ := c.series.LoadOrStore(name, s) // two scrapes at once may both make them, harmlessly
	return actual.(*stateSeries)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
