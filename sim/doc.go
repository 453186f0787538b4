// Package sim checks the lifecycle Manager against docs/contract.md by
// deterministic simulation: random schedules of services run on the real
// Manager in virtual time, and every rule of the contract marked (sim) is
// checked to the nanosecond against an independent model.
//
// A [Schedule] is one world: 1–8 services, each with a script of Run calls
// (run a while, then return an error or nil, panic, call runtime.Goexit,
// finish for good, or wait for cancellation, honouring it or not), maybe a
// Stop method (fast, slow, erroring, panicking, Goexit, ignoring its
// context, blocking for good) and maybe a Health method (a Tracker fed by
// Run, or values that change with time and sometimes panic), or a
// lifecycle.Worker with a script of ticks; backoff settings and jitter,
// and maybe a SetBackoff while Run runs; when Run's context is cancelled,
// when Stop is called and with what timeout, when Health is sampled, by a
// call or through HealthHandler (GET, HEAD, or a refused POST); whether
// the Manager logs to WithLogger or to slog.Default; which programmer
// errors the driver makes, each of which must panic. Errors and panic
// values come in every shape the contract tells apart (ErrFinished bare,
// wrapped, joined or a look-alike; an Error method that panics; panic
// values of several types). A schedule also says how it shuts down: Stop
// calling the Stoppers as the seed did, an ordered shutdown
// (WithOrderedShutdown, maybe WithDrain), or Serve instead of Run and
// Shutdown; and which services have a RestartLimit, and which of those
// are Essential. [DrawSchedule] draws them with rapid, leaning towards
// the boundaries where bugs live.
//
// [Simulate] runs a schedule on the Manager inside a testing/synctest
// bubble on internal/fakeclock and records a [Trace] from the services'
// side, the Manager's reports, events and logs. [Model] predicts the
// trace from the schedule alone. [Verify] runs every [Checkers] rule and
// compares runs of the same schedule with each other, byte for byte.
//
// # Running
//
// The main job, 10,000 schedules (each run twice) and a summary of what
// they reached:
//
//	go test ./sim -rapid.checks=10000 -run TestSim -v
//
// (or make sim). The summary ([Summary]) says what was verified: each
// schedule ran twice and the two traces were identical byte for byte,
// and every rule of [Checkers], named one by one, held. It then gives the
// schedules checked, schedules per second, the virtual time simulated, and
// a counter per behaviour in [Features]; with 10,000 checks or more, a
// behaviour never reached fails the test. docs/sim.md explains the design. Without -rapid.checks, rapid runs 100 checks, so plain
// go test -race ./sim takes seconds. RAPID_CHECKS=N works too, for go test
// ./... (the flag is unknown to packages that do not import rapid).
//
// The other entry points: TestRegressions (named schedules that once
// failed, and the boundary each planted bug was caught on), FuzzSchedule
// (go test ./sim -run '^$' -fuzz FuzzSchedule -fuzztime 30s; the seed
// corpus is in testdata/fuzz/FuzzSchedule) and BenchmarkSchedule.
//
// # Reproducing a failure
//
// rapid shrinks a failing schedule to a small one and prints how to
// replay it:
//
//	go test ./sim -run TestSim -rapid.seed=16417978800760476717
//	go test ./sim -run TestSim -rapid.failfile=testdata/rapid/TestSim/TestSim-....fail
//
// It also saves the case under testdata/rapid/TestSim/ and replays every
// file there first on each run, until the file is deleted. A seed replays
// the whole run from its first check; a fail file replays the one shrunk
// schedule. Once fixed, copy the schedule into the regression table of
// regress_test.go under a name that says what it guards; fail files go
// stale when the generator changes.
//
// # Reading a failure
//
// A failure prints, in order: the schedule, one line per service
// ("svc1: run [3s error] [60sh nil] then wait; stop [2s panic]; health
// tracker": a Run call running 3s and returning an error, one running 60s
// that honours cancellation (h) and then returns nil, then waiting for
// cancellation; a Stop taking 2s and panicking), its size, each rule
// violated with every violation under it, the go-cmp diff of the model's
// trace (-want) against the Manager's (+got), and a timeline:
//
//	timeline: 1 column = 634.920634ms
//	                 |-------------------------------+------------------------------|
//	                 0s                              20s                            40s
//	driver                          h                               T               C
//	svc0 want        xx--x------x-----------x------------------------x--------------
//	svc0 got        *xx--x------x--------------x---------------------x--------------
//	svc1 want        ==================p-===========================================X
//	svc1 got         ==================p-===========================================X
//	svc1 Stop want                                                  S~~~~~~~~o
//	svc1 Stop got                                                   S~~~~~~~~o
//
// Each service has a want line (the model) over a got line (the Manager);
// a '*' marks a got line that differs. On a Run line, '=' is a Run call
// running and '-' a backoff wait; a call ends with a letter: x error, n
// nil, p panic, g goexit, f finished for good; a capital letter means it
// ended after cancellation (and is not restarted). On a Stop line, S is the
// call, '~' the call running within its share, A its abandonment at the
// deadline, '.' an abandoned call still running, and its end o (nil), x, p
// or g, or ' when it blocked for good. The driver line shows C (Run's
// context cancelled), T (Stop called), h (a Health sample), B (SetBackoff
// called while Run runs) and R (Run returned). When events are too close for one column per instant, the
// axis is not to scale: one + per instant at which something happened,
// labelled below.
//
// Above, svc0 fails at once every time and backs off 1s, 2s, 4s, 8s; its
// fifth call starts two seconds late (a bug planted for the example): the
// rule under "violated" and the diff give the exact times. svc1 runs 12s,
// panics, is restarted 1s later, and its Stop returns nil in time.
package sim
