package sim_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/sim"
	"pgregory.net/rapid"
)

var update = flag.Bool("update", false, "TestGolden: rewrite the expected traces of testdata/golden from the real Manager")

// goldenDir is the golden corpus, at the module root (docs/golden.md).
const goldenDir = "../testdata/golden"

// TestGolden replays the golden corpus: each file's schedule, run twice on
// the real Manager, must give the file's trace byte for byte, and so must
// the model. With -update it rewrites each file's schedule in canonical
// form and its trace from the real Manager, and still fails where the
// model disagrees.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in %s: %v", goldenDir, err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			g, err := sim.ParseGolden(string(data))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if g.Name != name {
				t.Errorf("%s: case %q; want the file's name %q", path, g.Name, name)
			}
			// A case must be one the Go scheduler cannot change: the
			// corpus has one expected text per case.
			if exp := sim.Model(g.Schedule); exp.Ambiguous != "" {
				t.Errorf("%s: the model cannot predict this schedule: %s", path, exp.Ambiguous)
			}
			var runs [2]*sim.Trace
			for k := range runs {
				runs[k] = bubble(func(f func(tb fakeclock.TB)) {
					synctest.Test(t, func(t *testing.T) { f(t) })
				}, g.Schedule)
			}
			got := sim.GoldenTrace(runs[0])
			if *update {
				g.Trace = got
				text, err := g.Format()
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if text, err := g.Format(); err != nil {
				t.Error(err)
			} else if text != string(data) {
				t.Errorf("%s is not in canonical form (go test ./sim -run TestGolden -update rewrites it; -file +canonical):\n%s",
					path, lineDiff(string(data), text))
			}
			if again := sim.GoldenTrace(runs[1]); again != got {
				t.Errorf("two runs of the same schedule differ (-run 1 +run 2):\n%s", lineDiff(got, again))
			}
			if got != g.Trace {
				t.Errorf("the Manager's trace differs from %s (-file +Manager):\n%s", path, lineDiff(g.Trace, got))
			}
			want := sim.GoldenTrace(sim.Resolve(sim.Model(g.Schedule), runs[0]))
			if want != g.Trace {
				t.Errorf("the model's trace differs from %s (-file +model):\n%s", path, lineDiff(g.Trace, want))
			}
			if err := sim.Verify(g.Schedule, runs[0], runs[1]); err != nil {
				t.Error(err)
			}
		})
	}
}

// lineDiff is the go-cmp diff of two texts, line by line.
func lineDiff(a, b string) string {
	return cmp.Diff(strings.Split(a, "\n"), strings.Split(b, "\n"))
}

// TestGoldenFormat_RoundTrip: every drawn schedule the format can express
// reads back as itself (up to what does not change behaviour), and its
// text is a fixed point.
func TestGoldenFormat_RoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := sim.Schedules().Draw(t, "schedule")
		// Leave out what the format cannot express yet.
		s.Misuse, s.Logger, s.LoggerSwitchAt, s.HealthVia = nil, sim.LoggerWith, 0, nil
		s.GiveUpProbes = false // the probes asked at each give-up: not yet in the format
		s.Services = slices.Clone(s.Services)
		for i := range s.Services {
			s.Services[i].Worker = nil
		}
		text, err := sim.FormatSchedule(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := sim.ParseSchedule(text)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if again, err := sim.FormatSchedule(back); err != nil || again != text {
			t.Fatalf("not a fixed point: %v\n%s", err, lineDiff(text, again))
		}
		if d := cmp.Diff(normalize(s), normalize(back), cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("read back differently (-drawn +read):\n%s\n%s", d, text)
		}
	})
}

// normalize clears what the format leaves out because the Manager cannot
// see it: the duration and end of a step that waits for cancellation and
// honours it, the values of a Health piece that panics, the time of a
// second Shutdown that is not made, the Ready instants of a service that
// is not NotifyReady (it never calls Ready).
func normalize(s sim.Schedule) sim.Schedule {
	s.Services = append([]sim.Service(nil), s.Services...)
	for i, sv := range s.Services {
		steps := append([]sim.Step(nil), sv.Steps...)
		for k, st := range steps {
			if st.Wait && st.Honour {
				steps[k] = sim.Step{Wait: true, Honour: true, Ready: st.Ready}
			}
			if !sv.NotifyReady {
				steps[k].Ready = 0
			}
		}
		s.Services[i].Steps = steps
		if h := sv.Health; h != nil {
			hp := *h
			hp.Pieces = append([]sim.HealthPiece(nil), h.Pieces...)
			for k, p := range hp.Pieces {
				if p.Panic {
					hp.Pieces[k] = sim.HealthPiece{Until: p.Until, Panic: true}
				}
			}
			s.Services[i].Health = &hp
		}
	}
	if !s.Stop2 {
		s.Stop2At = 0
	}
	if s.Serve {
		// Serve makes its own shutdown: no Shutdown call to time.
		s.StopAt, s.Stop2, s.Stop2At = 0, false, 0
	}
	if s.Drain < 0 || (!s.Ordered && !s.Serve) {
		s.Drain = 0 // WithDrain is given only for d > 0, and only matters ordered
	}
	return s
}

// TestParseGolden_Errors: the reader refuses what is not in the format, and
// says on which line.
func TestParseGolden_Errors(t *testing.T) {
	const head = "case x\nrules C2.1\n\nschedule:\n"
	tests := []struct{ name, text, want string }{
		{"NoCase", "rules C2.1\n\nschedule:\ncancel at=0s\nshutdown at=0s timeout=0s\n\ntrace:\n", "line 1"},
		{"NoTrace", head + "cancel at=0s\nshutdown at=0s timeout=0s\n", "trace:"},
		{"NoCancel", head + "shutdown at=0s timeout=0s\n\ntrace:\n", "no \"cancel\""},
		{"BadDuration", head + "cancel at=1.5s\nshutdown at=0s timeout=0s\n\ntrace:\n", "line 5"},
		{"PlusSign", head + "cancel at=+1s\nshutdown at=0s timeout=0s\n\ntrace:\n", "bad duration"},
		{"Overflow", head + "cancel at=2562048h\nshutdown at=0s timeout=0s\n\ntrace:\n", "overflows"},
		{"MissingField", head + "cancel at=1s\nshutdown at=0s\n\ntrace:\n", "line 6"},
		{"ExtraField", head + "cancel at=1s wait=1s\nshutdown at=0s timeout=0s\n\ntrace:\n", "exactly the fields"},
		{"Repeated", head + "cancel at=1s\ncancel at=2s\nshutdown at=0s timeout=0s\n\ntrace:\n", "repeated"},
		{"ServiceOutOfOrder", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc1\n\ntrace:\n", "svc0"},
		{"UnknownOutcome", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  run 1s exploded\n\ntrace:\n", "line 8"},
		{"UnknownShape", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  stop 0s error/lookalike\n\ntrace:\n", "shape"},
		{"WaitHonour", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  run wait+1s honour nil\n\ntrace:\n", "honour"},
		{"BadQuote", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n" +
			"  health piece until=1s name=\"a\\q\" ok=never fail=never error=\"\" failures=0\n\ntrace:\n", "escape"},
		{"ServeAndShutdown", head + "cancel at=1s\nshutdown at=0s timeout=0s\nserve timeout=1s\n\ntrace:\n", "both"},
		{"ServeAndAgain", head + "cancel at=1s\nserve timeout=1s\nshutdown-again at=2s\n\ntrace:\n", "shutdown-again"},
		{"DrainUnordered", head + "cancel at=1s\nshutdown at=0s timeout=1s\ndrain d=1s\n\ntrace:\n", "ordered"},
		{"DrainZero", head + "cancel at=1s\nshutdown at=0s timeout=1s\nordered\ndrain d=0s\n\ntrace:\n", "d > 0"},
		{"OrderedField", head + "cancel at=1s\nshutdown at=0s timeout=1s\nordered yes\n\ntrace:\n", "no fields"},
		{"LimitZero", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  limit n=0 window=1s\n\ntrace:\n", "n >= 1"},
		{"LimitNoWindow", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  limit n=1 window=0s\n\ntrace:\n", "window > 0"},
		{"LimitTwice", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  limit n=1 window=1s\n  limit n=2 window=1s\n\ntrace:\n", "second"},
		{"EssentialTwice", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  essential\n  essential\n\ntrace:\n", "one \"essential\""},
		{"GateZero", head + "cancel at=1s\nshutdown at=0s timeout=0s\ngate timeout=0s\n\ntrace:\n", "t > 0"},
		{"ReadyWithoutNotify", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  run wait ready=1s\n\ntrace:\n", "notify-ready"},
		{"NotifyAfterRun", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  run wait\n  notify-ready\n\ntrace:\n", "before"},
		{"ReadyNegative", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n  notify-ready\n  run wait ready=-2s\n\ntrace:\n", "after the call"},
		{"ProbePath", head + "cancel at=1s\nshutdown at=0s timeout=0s\nprobe at=1s GET /healthz\n\ntrace:\n", "/livez"},
		{"ProbeMethod", head + "cancel at=1s\nshutdown at=0s timeout=0s\nprobe at=1s PUT /livez\n\ntrace:\n", "GET, HEAD or POST"},
		{"ProbeQuery", head + "cancel at=1s\nshutdown at=0s timeout=0s\nprobe at=1s GET /livez?exclude=a&verbose\n\ntrace:\n", "verbose first"},
		{"ProbeNoAt", head + "cancel at=1s\nshutdown at=0s timeout=0s\nprobe GET /livez 1s\n\ntrace:\n", "at="},
		{"Unterminated", head + "cancel at=1s\nshutdown at=0s timeout=0s\nservice svc0\n" +
			"  health piece until=1s name=\"a ok=never\n\ntrace:\n", "unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sim.ParseGolden(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseGolden: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
