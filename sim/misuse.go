package sim

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// Misuse is a programmer error the driver makes at virtual time At: each
// must panic with a message that starts with "lifecycle:" and names the
// service, if there is one, and must leave the Manager as it was.
type Misuse struct {
	At   time.Duration // 0: before Run is called; else while (or after) it runs
	Kind string        // one of MisuseKinds
}

// The kinds of misuse, and the service each names ("" for none). Those
// marked late are made once Run has been called.
var misuses = []struct {
	kind, service string
	late          bool
}{
	{"Register with an empty name", "", false},
	{"Register a nil Runner", "nil-runner", false},
	{"Register a duplicate name", "svc0", false},
	{"Register after Run", "late-comer", true},
	{"SetBackoff(0, 1s, 1s)", "", false},
	{"SetBackoff(2s, 1s, 1s)", "", false},
	{"SetBackoff(1s, 1s, 0)", "", false},
	{"SetBackoff(-1ns, 1s, 1s) while running", "", true},
	{"a second Run", "", true},
	{"WithJitter(-0.5)", "", false},
	{"WithJitter(1.5)", "", false},
	{"WithJitter(NaN)", "", false},
	{"WithJitter(+Inf)", "", false},
	{"NewManager with a nil Option", "", false},
	{"WithClock(nil)", "", false},
	{"NewWorker(0, fn)", "", false},
	{"NewWorker(-1ns, fn)", "", false},
	{"NewWorker with a nil func", "", false},
	{"NewWorker with a nil WorkerOption", "", false},
	{"WorkerClock(nil)", "", false},
	{"WorkerStartSpread(-1ns)", "", false},
	{"HealthHandler(nil)", "", false},
}

// MisuseKinds lists every kind of [Misuse].
func MisuseKinds() []string {
	var kinds []string
	for _, m := range misuses {
		kinds = append(kinds, m.kind)
	}
	return kinds
}

// misuseSpec returns the service kind names and whether it is made once
// Run has been called.
func misuseSpec(kind string) (service string, late bool) {
	for _, m := range misuses {
		if m.kind == kind {
			return m.service, m.late
		}
	}
	panic("sim: unknown misuse " + kind)
}

// MisuseResult is how one misuse went, as the driver saw it.
type MisuseResult struct {
	At       time.Duration
	Kind     string
	Panicked bool
	Prefix   bool // the message starts with "lifecycle:"
	Named    bool // it names the service (true when there is none to name)
	Kept     bool // Names() is the same after as before
	Message  string
}

func (r MisuseResult) String() string {
	return fmt.Sprintf("%v %s: panicked=%v prefix=%v named=%v kept=%v", fmtDur(r.At), r.Kind, r.Panicked, r.Prefix, r.Named, r.Kept)
}

// misuse makes the misuse kind on m and returns how it went.
func misuse(m *lifecycle.Manager, clk *fakeclock.Clock, ctx context.Context, at time.Duration, kind string) (res MisuseResult) {
	service, _ := misuseSpec(kind)
	before := strings.Join(m.Names(), " ")
	res = MisuseResult{At: at, Kind: kind}
	defer func() {
		v := recover()
		res.Panicked = v != nil
		res.Message = fmt.Sprint(v)
		res.Prefix = strings.HasPrefix(res.Message, "lifecycle:")
		res.Named = service == "" || strings.Contains(res.Message, service)
		res.Kept = strings.Join(m.Names(), " ") == before
	}()
	runner := lifecycle.NewWorker(time.Second, func(context.Context) error { return nil }, lifecycle.WorkerClock(clk))
	fn := func(context.Context) error { return nil }
	switch kind {
	case "Register with an empty name":
		m.Register("", runner)
	case "Register a nil Runner":
		m.Register(service, nil)
	case "Register a duplicate name", "Register after Run":
		m.Register(service, runner)
	case "SetBackoff(0, 1s, 1s)":
		m.SetBackoff(0, time.Second, time.Second)
	case "SetBackoff(2s, 1s, 1s)":
		m.SetBackoff(2*time.Second, time.Second, time.Second)
	case "SetBackoff(1s, 1s, 0)":
		m.SetBackoff(time.Second, time.Second, 0)
	case "SetBackoff(-1ns, 1s, 1s) while running":
		m.SetBackoff(-1, time.Second, time.Second)
	case "a second Run":
		m.Run(ctx)
	case "WithJitter(-0.5)":
		lifecycle.WithJitter(-0.5, nil)
	case "WithJitter(1.5)":
		lifecycle.WithJitter(1.5, nil)
	case "WithJitter(NaN)":
		lifecycle.WithJitter(math.NaN(), nil)
	case "WithJitter(+Inf)":
		lifecycle.WithJitter(math.Inf(1), nil)
	case "NewManager with a nil Option":
		lifecycle.NewManager(lifecycle.WithClock(clk), nil)
	case "WithClock(nil)":
		lifecycle.WithClock(nil)
	case "NewWorker(0, fn)":
		lifecycle.NewWorker(0, fn, lifecycle.WorkerClock(clk))
	case "NewWorker(-1ns, fn)":
		lifecycle.NewWorker(-1, fn, lifecycle.WorkerClock(clk))
	case "NewWorker with a nil func":
		lifecycle.NewWorker(time.Second, nil, lifecycle.WorkerClock(clk))
	case "NewWorker with a nil WorkerOption":
		lifecycle.NewWorker(time.Second, fn, lifecycle.WorkerClock(clk), nil)
	case "WorkerClock(nil)":
		lifecycle.WorkerClock(nil)
	case "WorkerStartSpread(-1ns)":
		lifecycle.WorkerStartSpread(-1, nil)
	case "HealthHandler(nil)":
		lifecycle.HealthHandler(nil)
	}
	return res
}
