// Package lifecycleprom exports the life of the services a
// [lifecycle.Manager] supervises as Prometheus metrics.
//
// It lives in its own module, github.com/lifecyclesim/lifecycle/prometheus,
// so that the lifecycle package itself keeps importing only the standard
// library: only a program that imports this package depends on
// github.com/prometheus/client_golang.
//
// # Wiring
//
// A [Metrics] is two things: a func([lifecycle.Event]) to give the Manager
// with [lifecycle.WithEvents], and a [prometheus.Collector] to register with
// a [prometheus.Registerer]:
//
//	metrics := lifecycleprom.New()
//	prometheus.MustRegister(metrics)
//	m := lifecycle.NewManager(lifecycle.WithEvents(metrics.Events(nil)))
//
// [Metrics.Events] chains to an events function of your own; pass nil if you
// have none. The state of every service is read from the Manager itself, at
// each scrape, by a [StateCollector], registered once the Manager exists:
//
//	prometheus.MustRegister(lifecycleprom.NewStateCollector(m))
//
// Use one Metrics per Manager. To export several Managers from
// one program, register each Manager's Metrics with
// [prometheus.WrapRegistererWith] and a label telling them apart.
//
// # Metrics
//
// The names below use the default namespace, "lifecycle"; [WithNamespace]
// changes it. Every series has a service label: the registration name.
//
//	lifecycle_attempts_started_total{service}          counter    calls of Run
//	lifecycle_attempts_ended_total{service,outcome}    counter    ends of Run, by how it ended
//	lifecycle_restarts_total{service,outcome}          counter    restarts decided, by the failure's outcome
//	lifecycle_attempt_duration_seconds{service}        histogram  how long each attempt ran
//	lifecycle_backoff_delay_seconds{service}           histogram  each restart delay waited
//	lifecycle_stops_total{service,outcome}             counter    calls of Stop, by how they ended
//	lifecycle_stop_duration_seconds{service}           histogram  how long each Stop took, if it ended in time
//	lifecycle_service_state{service,state}             gauge      1 for the state the service is in, 0 for the others
//	lifecycle_service_ready{service}                   gauge      1 while the service is ready
//
// The last two come from a [StateCollector], the others from [Metrics].
// lifecycle_service_state follows the convention for enums: each service
// has a series for every state, in snake case (registered, starting,
// running, backing_off, gave_up, finished, stopping, stopped, abandoned;
// see [lifecycle.State]), so that a query selects one with a label
// matcher, and a series that was 1 reads 0, rather than going stale, once
// the service moves on. Both are read from one [lifecycle.Manager.States]
// snapshot per scrape, every service's from its registration: no event
// needed.
//
// The outcome label is the [lifecycle.Outcome]'s String ("nil", "error",
// "panic", "goexit", "finished"), with two additions:
//
//   - "canceled" on lifecycle_attempts_ended_total: Run returned (nil or an
//     error) once the Manager's context was done. The service did its job
//     and is not restarted; as in the Manager's log, only a panic or a
//     runtime.Goexit during shutdown keeps its own outcome.
//   - "abandoned" on lifecycle_stops_total: Stop had not returned by its
//     deadline. An abandoned Stop is not observed in
//     lifecycle_stop_duration_seconds, as it has no end to measure.
//
// A service's run series appear, at zero for every outcome, at its first
// event; its stop series at its first call of Stop, so a service without a
// Stopper has none. Series that start at zero let rate and increase see the
// first failure.
//
// # Alerting
//
// A service in a crash loop, and the panics behind it:
//
//	sum by (service, outcome) (rate(lifecycle_restarts_total[5m])) > 0
//	increase(lifecycle_restarts_total{outcome="panic"}[15m]) > 0
//
// A shutdown that left a Stopper running:
//
//	increase(lifecycle_stops_total{outcome="abandoned"}[1h]) > 0
//
// A service that gave up, or that has not been ready for ten minutes:
//
//	lifecycle_service_state{state="gave_up"} == 1
//	max_over_time(lifecycle_service_ready[10m]) == 0
//
// How many services are backing off, now:
//
//	sum(lifecycle_service_state{state="backing_off"})
//
// Roughly the share of time a service spends waiting to be restarted (each
// delay counts when it is decided):
//
//	rate(lifecycle_backoff_delay_seconds_sum[5m])
package lifecycleprom
