package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// Runner is a background service: Run does the service's work until ctx is
// done. Run should return promptly once ctx is done; any return (or panic, or
// runtime.Goexit) while ctx is live is a failure after which the [Manager]
// restarts the service with backoff. A Runner that returns an error matching
// [ErrFinished] is not restarted.
type Runner interface {
	Run(ctx context.Context) error
}

// Stopper is implemented by a Runner that needs an explicit shutdown step.
// [Manager.Stop] calls Stop with a context that expires at the end of the
// service's share of the shutdown budget.
type Stopper interface {
	Stop(ctx context.Context) error
}

// HealthReporter is implemented by a Runner that reports its health; see
// [Manager.Health] and [Tracker].
type HealthReporter interface{ Health() WorkerHealth }

// service is one registration. Every idle service carries it, so it is
// kept to 64 bytes, made in blocks (see Manager.newService): what only
// some services need is in x, and the supervise loop's own state lives on
// its goroutine's stack (docs/performance.md, "Idle memory").
type service struct {
	name   string
	runner Runner
	mu     sync.Mutex // guards st, x's fail, and the writing of x
	st     status     // its state, for States and the probes
	// x holds the settings Register gave it, what opt-in features need
	// and what failures left behind; nil for a service with none of them.
	// It is written once, from nil, under mu: by Register, by Run's set-up
	// (ordered shutdown, gated start) or at the first failure by the
	// service's loop, so the loop may read it without mu, and so may a
	// shutdown's turn once Run has set the services up.
	x *svExtra
}

// stopper returns the service as a Stopper, or nil. (A type assertion
// rather than a field: the answer never changes, and a field would cost
// every service 16 bytes.)
func (s *service) stopper() Stopper {
	st, _ := s.runner.(Stopper)
	return st
}

// reporter returns the service as a HealthReporter, or nil.
func (s *service) reporter() HealthReporter {
	r, _ := s.runner.(HealthReporter)
	return r
}

// labelled returns ctx with the service's pprof label, for
// WithGoroutineLabels.
func (s *service) labelled() context.Context {
	return pprof.WithLabels(context.Background(), pprof.Labels("lifecycle_service", s.name))
}

// Manager supervises a set of named services: [Manager.Run] runs each in its
// own goroutine, restarting it with exponential backoff whenever it fails,
// and [Manager.Stop] shuts them down in reverse registration order within a
// time budget. The zero value is not usable: create one with [NewManager].
//
// All methods are safe for concurrent use. Register must be called before
// Run; Run may be called once.
type Manager struct {
	clock   Clock
	logger  *slog.Logger
	events  func(Event)
	jitter  *jitter
	epoch   time.Time               // the clock's reading at NewManager: see instant
	real    bool                    // the clock is the real one: see now
	drain   time.Duration           // WithDrain
	gate    time.Duration           // WithGatedStart's start timeout; 0: no gated start
	labels  bool                    // WithGoroutineLabels
	backoff atomic.Pointer[backoff] // the current SetBackoff setting

	mu        sync.Mutex  // guards services, blocks, names, reporters, running, ordered, serving, gaveUp, and Run's set-up of each service
	services  []*service  // the registered services in order, as far as list has listed them
	blocks    [][]service // the services, made in blocks: see newService
	count     int         // services registered
	names     nameSet     // for Register; dropped once Run has closed registration
	reporters []*service  // the services that implement HealthReporter
	running   bool        // Run was called: registration is closed
	ordered   bool        // shutdown is ordered: WithOrderedShutdown, or Serve
	serving   bool        // Serve was called: an Essential service that gives up escalates (liveness, C10)
	gaveUp    []error     // a *GiveUpError per service that gave up, in order

	// runs counts Run's supervise loops, Done once as each ends. Every
	// loop writes it, so it has a cache line of its own: sharing one with
	// the fields every loop reads would slow them all (BenchmarkStartCancel).
	_    [64]byte
	runs sync.WaitGroup
	_    [64]byte

	shut      chan struct{}      // closed when shutdown begins: nothing starts from then on
	halt      <-chan struct{}    // set by Run: closed once Run's ctx is done or shutdown has begun
	runCtx    context.Context    // set by Run: its ctx, for the loops it starts
	initial   time.Duration      // set by Run: the first restart delay of every loop
	haltStop  context.CancelFunc // closes halt; set by Run, called by shutdown; guarded by mu
	escalated chan struct{}      // closed when an Essential service gives up
	escalate  sync.Once          // closes escalated

	out outbox // delivers shutdown's log lines and events off its path

	stopMu   sync.Mutex // guards stopping
	stopping *stopRun   // the first Stop or Shutdown call, once made
}

// NewManager returns a Manager with the production defaults (backoff 1s
// doubling to 30s, reset after 60s of running; the real clock; slog.Default())
// changed by opts. It panics if an option is nil.
func NewManager(opts ...Option) *Manager {
	o := options{clock: realClock{}}
	for _, opt := range opts {
		if opt == nil {
			panic("lifecycle: NewManager given a nil Option")
		}
		opt(&o)
	}
	m := &Manager{
		clock:     o.clock,
		logger:    o.logger,
		events:    o.events,
		jitter:    o.jitter,
		drain:     o.drain,
		gate:      o.gate,
		labels:    o.labels,
		ordered:   o.ordered,
		epoch:     o.clock.Now(),
		real:      o.clock == Clock(realClock{}),
		shut:      make(chan struct{}),
		escalated: make(chan struct{}),
	}
	m.backoff.Store(defaultBackoff)
	return m
}

// Register adds the service r under name, with the settings opts give it
// (see [RestartLimit] and [Essential]; without any, it is restarted for
// ever). If r also implements [Stopper] or [HealthReporter], [Manager.Stop]
// and [Manager.Health] use it.
//
// Register panics, with a message naming the service, if name is empty, r is
// nil, an option is nil, name is already registered, or [Manager.Run] has
// been called.
func (m *Manager) Register(name string, r Runner, opts ...ServiceOption) {
	if name == "" {
		panic("lifecycle: Register with an empty service name")
	}
	if r == nil {
		panic(fmt.Sprintf("lifecycle: Register(%q) with a nil Runner", name))
	}
	var x *svExtra // made only for options: taking a local's address for them would put it on the heap
	if len(opts) > 0 {
		x = new(svExtra)
		for _, opt := range opts {
			if opt == nil {
				panic(fmt.Sprintf("lifecycle: Register(%q) given a nil ServiceOption", name))
			}
			opt(&x.cfg)
		}
		if x.cfg == (serviceConfig{}) {
			x = nil
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		panic(fmt.Sprintf("lifecycle: Register(%q) after Run started", name))
	}
	if !m.names.add(name, m.count, m.nameOf) {
		panic(fmt.Sprintf("lifecycle: multiple registrations for %q", name))
	}
	s := m.newService() // now, the name set points at it
	s.name, s.runner, s.x = name, r, x
	if b, ok := r.(interface{ bind(*Manager, string) }); ok {
		b.bind(m, name) // a Worker, or a type that embeds one
	}
	if s.reporter() != nil {
		m.reporters = append(m.reporters, s)
	}
}

// newService returns a new zero service, the count-th. Services are made
// in blocks, from 8 at a time up to 1,024, doubling with the number
// registered: one allocation per block instead of per service, and no size
// class rounding a service up. A block is never grown, so a service never
// moves. It is called with mu held.
func (m *Manager) newService() *service {
	if n := len(m.blocks); n == 0 || len(m.blocks[n-1]) == cap(m.blocks[n-1]) {
		m.blocks = append(m.blocks, make([]service, 0, min(max(m.count, 8), 1024)))
	}
	b := &m.blocks[len(m.blocks)-1]
	*b = (*b)[:len(*b)+1]
	m.count++
	return &(*b)[len(*b)-1]
}

// list returns the registered services in registration order. The slice
// is made when asked for (by Run, as a rule, once registration is over)
// at its exact length, rather than grown with every Register: at 10,000
// services, growing it left its size again behind as garbage
// (BenchmarkStartCancel, docs/performance.md). Asked for again after more
// registrations, it is made anew, in time linear in the services, as
// whatever asked (Names, States, a probe) takes anyway. A slice list
// returned stays valid. It is called with mu held.
func (m *Manager) list() []*service {
	if len(m.services) != m.count {
		m.services = make([]*service, 0, m.count)
		for _, b := range m.blocks {
			for i := range b {
				m.services = append(m.services, &b[i])
			}
		}
	}
	return m.services
}

// nameOf returns the name of the i-th service registered, for the name
// set, which asks only when a name's hash bits match one taken. It is
// called with mu held.
func (m *Manager) nameOf(i int) string {
	for _, b := range m.blocks {
		if i < len(b) {
			return b[i].name
		}
		i -= len(b)
	}
	panic("lifecycle: nameOf past the last service")
}

// Names returns the names of the registered services in registration order.
// It never returns nil.
func (m *Manager) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	services := m.list()
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.name
	}
	return names
}

// SetBackoff sets the restart delay: a failed service waits initial before
// its first restart, and each further wait doubles, up to maximum; an attempt
// that ran for at least reset before failing starts the doubling again from
// initial. It may be called before [Manager.Run] or while it runs: new values
// take effect from each service's next failure, as in the recipe of
// docs/contract.md (rule C2.14): a reset uses the new initial, and the doubling after the wait
// the new maximum; the delay already computed is waited out first.
//
// SetBackoff panics unless 0 < initial <= maximum and reset > 0.
func (m *Manager) SetBackoff(initial, maximum, reset time.Duration) {
	m.backoff.Store(newBackoff(initial, maximum, reset))
}

// GaveUp returns a *[GiveUpError] for each service that has given up (see
// [RestartLimit]), in the order they gave up; nil if none has. It is safe
// to call at any time.
func (m *Manager) GaveUp() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]error(nil), m.gaveUp...)
}

// shuttingDown reports whether shutdown has begun.
func (m *Manager) shuttingDown() bool {
	select {
	case <-m.shut:
		return true
	default:
		return false
	}
}

// snapshot returns the registered services (and those that report health)
// as they are now. Registration only appends, so the slices stay valid.
func (m *Manager) snapshot() (services, reporters []*service) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.list(), m.reporters
}

// log returns the logger for one log call.
func (m *Manager) log() *slog.Logger {
	if m.logger != nil {
		return m.logger
	}
	return slog.Default()
}
