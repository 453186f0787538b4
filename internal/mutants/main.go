// Command mutants plants each known bug in the lifecycle Manager, one at a
// time, and shows that the simulation catches it: for every mutant it runs
// the sim test that is to judge it (TestSim unless the mutant names
// another, such as TestSimLies, with the build tags it needs) with the
// mutated source swapped in through `go test -overlay` (the default build
// is never touched), and reports how many checks it took ("file" when a
// fail file that rapid replays before its seeded checks caught it) and how
// small rapid shrank the failing schedule. A mutant that only shows under an
// interleaving the sim cannot force names the package whose unit tests
// must catch it instead ("unit").
//
// Each edit names the function it rewrites and the expression or statement
// it rewrites there (see rewrite.go), so the catalogue survives refactors
// around its targets.
//
// Compiling the sim's test once per mutant would take minutes, so the
// mutants that need the same build tags are compiled together, as a
// schema: each function a mutant edits keeps its body and gains the
// mutant's version of it as a function of its own, which it calls instead
// when the run selects that mutant (see [pkgSource.schema]). Each judge
// then runs the schema's test binary with one mutant selected, so every
// run plants exactly one. If a schema does not compile, its mutants are
// built one by one (as -one-by-one does), which names the one that breaks
// the build. The baselines run on the unmutated code's own test binary,
// alongside the mutants; a mutant whose judge fails unmutated is reported
// not run, whatever it did.
//
// Usage, from the module root:
//
//	go run ./internal/mutants [-checks 10000] [-seed 1] [-run regexp] [-list] [-v] [-one-by-one]
//
// It exits non-zero if the unmutated code fails a judge's test (the
// mutants that test judges are then not run; the others are), if a
// mutant's target is gone or ambiguous, or if any mutant survives.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	checks := flag.Int("checks", 10000, "rapid checks per mutant")
	seed := flag.Uint64("seed", 1, "rapid seed, for runs that repeat exactly")
	run := flag.String("run", "", "only mutants whose name matches this regexp")
	list := flag.Bool("list", false, "list the mutants and exit")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit per mutant")
	shrink := flag.Duration("shrinktime", 2*time.Second, "rapid's time to shrink a failing schedule (the catch is found before; the shrunk schedule is only shown)")
	verbose := flag.Bool("v", false, "print each judge's output")
	parallel := flag.Int("parallel", runtime.GOMAXPROCS(0), "builds and judges run at once")
	oneByOne := flag.Bool("one-by-one", false, "build each mutant on its own, not all in one schema")
	flag.Parse()

	if *list {
		for _, m := range mutants {
			fmt.Printf("%-28s %s\n", m.Name, m.Why)
		}
		return
	}
	filter := regexp.MustCompile(*run)
	tmp, err := os.MkdirTemp("", "mutants")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	simDir, err := filepath.Abs("sim")
	if err != nil {
		fatal(err)
	}

	h := harness{libs: map[string]*pkgSource{}, libsMu: new(sync.Mutex), checks: *checks, seed: *seed, timeout: *timeout, shrink: *shrink, tmp: tmp, simDir: simDir}
	var todo []mutant
	for _, m := range mutants {
		if filter.MatchString(m.Name) {
			todo = append(todo, m)
		}
	}

	// Plant each mutant on its own first: a stale one is reported as
	// such, by name, and is left out of the schema.
	results := make([]result, len(todo))
	planted := make([]string, len(todo)) // each one's overlay
	state := make([]int, len(todo))      // how it is judged: one of the below
	const (
		unplanted = iota // stale: results holds why
		alone            // with go test -overlay, built on its own
		inSchema         // by running its tag set's schema binary
	)
	for i, m := range todo {
		if planted[i], err = h.plant(m); err != nil {
			results[i] = result{err: err, checks: "-", shrunk: "-"}
			continue
		}
		state[i] = alone
	}

	// The unmutated code must pass each sim test that is to judge, or a
	// "caught" mutant proves nothing: the mutants that judge would judge
	// are reported not run, but the others are. The baselines run on the
	// unmutated sim test, built once per set of build tags; the mutants on
	// that set's schema (see [pkgSource.schema]), also built once, each
	// selected by its number in the schema.
	type baseline struct {
		j   judge
		res result
		ok  bool // the unmutated code passes it
	}
	baselines := map[judge]*baseline{}
	builds := map[string]*testBin{}  // the unmutated sim test, by tags
	schemas := map[string]*testBin{} // the schema's sim test, by tags
	ids := make([]int, len(todo))    // each mutant's number in its schema
	var tagSets []string
	for i, m := range todo {
		if m.Suite != "" {
			continue
		}
		j := judge{m.judge(), m.Tags}
		if baselines[j] == nil {
			baselines[j] = &baseline{j: j}
		}
		if builds[m.Tags] == nil {
			builds[m.Tags] = &testBin{tags: m.Tags, bin: filepath.Join(tmp, "unmutated"+tagSuffix(m.Tags)+".test")}
			tagSets = append(tagSets, m.Tags)
		}
		if state[i] == alone && !*oneByOne && h.schemable(m) {
			if schemas[m.Tags] == nil {
				schemas[m.Tags] = &testBin{tags: m.Tags, bin: filepath.Join(tmp, "schema"+tagSuffix(m.Tags)+".test")}
			}
			state[i] = inSchema
		}
	}
	for _, tags := range tagSets {
		sb := schemas[tags]
		if sb == nil {
			continue
		}
		var edits [][]edit
		for i, m := range todo {
			if state[i] == inSchema && m.Suite == "" && m.Tags == tags {
				edits = append(edits, m.Edits)
				ids[i] = len(edits)
			}
		}
		sb.edits = edits
		if sb.overlay, err = h.plantSchema(tags, edits); err != nil {
			fmt.Printf("the schema of tags %q cannot be planted (%v): its mutants are built one by one\n", tags, err)
			for i, m := range todo {
				if state[i] == inSchema && m.Tags == tags {
					state[i] = alone
				}
			}
			delete(schemas, tags)
		}
	}

	// Run the builds, the baselines and the mutants, -parallel at a time,
	// in that order, each as soon as the build it needs is done; report
	// them in the catalogue's order.
	q := newQueue()
	for _, b := range mapped(tagSets, builds) {
		q.add(nil, func() { h.build(b); q.finish(b) })
	}
	for _, b := range mapped(tagSets, schemas) {
		q.add(nil, func() { h.buildSchema(b); q.finish(b) })
	}
	for _, j := range slices.SortedFunc(maps.Keys(baselines), func(a, b judge) int { return strings.Compare(a.test, b.test) }) {
		bl := baselines[j]
		b := builds[j.tags]
		q.add(b, func() {
			if b.err != nil {
				bl.res = result{err: b.err}
			} else {
				bl.res = h.runJudge(b.bin, j.test, 0)
				bl.ok = bl.res.err == nil && !bl.res.caught
			}
			q.setJudged(j, bl.ok)
		})
	}
	for i, m := range todo {
		j := judge{m.judge(), m.Tags}
		switch state[i] {
		case alone:
			q.add(nil, func() {
				if m.Suite == "" && q.failed(j) {
					return
				}
				results[i] = h.try(m, planted[i])
			})
		case inSchema:
			b := schemas[m.Tags]
			q.add(b, func() {
				if q.failed(j) {
					return
				}
				if b.err != nil || b.alone[ids[i]] {
					// Its planted body does not compile (or the
					// schema's does not): plant it alone, which
					// says which does not.
					results[i] = h.try(m, planted[i])
					return
				}
				results[i] = h.runJudge(b.bin, m.judge(), ids[i])
			})
		}
	}
	q.run(max(*parallel, 1))

	for _, tags := range tagSets {
		switch b := schemas[tags]; {
		case b == nil:
		case b.err != nil:
			fmt.Printf("the schema of tags %q does not build, so its mutants were built one by one:\n%s\n", tags, indent(b.err.Error()))
		case len(b.alone) > 0:
			var names []string
			for i, m := range todo {
				if state[i] == inSchema && m.Tags == tags && b.alone[ids[i]] {
					names = append(names, m.Name)
				}
			}
			fmt.Printf("the schema of tags %q was built without %s, built one by one instead:\n%s\n",
				tags, strings.Join(names, ", "), indent(b.firstErr.Error()))
		}
	}
	for _, j := range slices.SortedFunc(maps.Keys(baselines), func(a, b judge) int { return strings.Compare(a.test, b.test) }) {
		bl := baselines[j]
		fmt.Printf("baseline %s: %d checks, seed %d ... ", j.test, *checks, *seed)
		if !bl.ok {
			why := "it fails"
			if bl.res.err != nil {
				why = bl.res.err.Error()
			}
			fmt.Printf("FAILED (%s): its mutants are not run\n%s\n", why, indent(bl.res.output))
			continue
		}
		fmt.Printf("ok (%.1fs)\n", bl.res.elapsed.Seconds())
	}

	fmt.Printf("\n%-28s %-8s %-13s %6s %6s  %s\n", "mutant", "result", "caught by", "checks", "time", "shrunk schedule / the bug")
	survived, broken, unjudged := 0, 0, 0
	for i, m := range todo {
		if state[i] != unplanted && m.Suite == "" && !baselines[judge{m.judge(), m.Tags}].ok {
			unjudged++
			fmt.Printf("%-28s %-8s %-13s %6s %6s  %s\n%62s%s\n", m.Name, "NOT RUN", m.judge(), "-", "-", "its judge fails unmutated", "", m.Why)
			continue
		}
		res := results[i]
		verdict := "caught"
		switch {
		case res.err != nil:
			verdict, broken = "BROKEN", broken+1
		case !res.caught:
			verdict, survived = "SURVIVED", survived+1
		}
		fmt.Printf("%-28s %-8s %-13s %6s %5.1fs  %s\n%62s%s\n", m.Name, verdict, m.judge(), res.checks, res.elapsed.Seconds(), res.shrunk, "", m.Why)
		if res.err != nil {
			fmt.Printf("    %v\n", res.err)
		}
		if *verbose {
			fmt.Println(indent(res.output))
		}
	}
	// Where the time went, for docs/performance.md.
	var builtT, baseT, mutT tally
	for _, b := range slices.Concat(mapped(tagSets, builds), mapped(tagSets, schemas)) {
		builtT.add(b.elapsed, b.cpu)
	}
	for _, bl := range baselines {
		baseT.add(bl.res.elapsed, bl.res.cpu)
	}
	for _, res := range results {
		mutT.add(res.elapsed, res.cpu)
	}
	fmt.Printf("\n%d builds took %s, %d baselines %s, %d mutants %s, -parallel %d\n",
		builtT.n, builtT, baseT.n, baseT, mutT.n, mutT, max(*parallel, 1))
	if survived+broken+unjudged > 0 {
		fatal(fmt.Errorf("%d mutants survived, %d could not be planted, %d not run: their judge fails on the unmutated code",
			survived, broken, unjudged))
	}
	fmt.Println("\nevery planted bug was caught")
}

// A judge is a sim test with the build tags it needs.
type judge struct{ test, tags string }

// judge names what must catch m: a sim test, or a package's unit tests.
func (m mutant) judge() string {
	switch {
	case m.Suite != "":
		return m.Suite
	case m.Test != "":
		return m.Test
	default:
		return "TestSim"
	}
}

type harness struct {
	libs    map[string]*pkgSource // the library's source, unmutated, by build tags
	libsMu  *sync.Mutex           // guards libs: mutants are planted at once
	checks  int
	seed    uint64
	timeout time.Duration
	shrink  time.Duration // rapid's shrink time per failing judge
	tmp     string
	simDir  string // the sim's directory, where its tests run
}

type result struct {
	caught  bool
	checks  string // checks until the first failure, as rapid counts them (+1)
	shrunk  string // size of the shrunk schedule, as the sim reports it
	elapsed time.Duration
	cpu     time.Duration // user and system, of the process and what it waited for
	output  string
	err     error // the mutant could not be planted or run
}

var (
	failedAfter = regexp.MustCompile(`\[rapid\] (?:failed|panic) after (\d+) tests`)
	shrunkSize  = regexp.MustCompile(`schedule size: ([^\n]+)`)
	// With -rapid.nofailfile, rapid names a fail file in its reproduction
	// line only when the failing case came from one (testdata/rapid).
	failFile = regexp.MustCompile(`To reproduce, specify -run="[^"]*" -rapid\.failfile=`)
)

// try builds the sim (or m's Suite) with m planted alone, through the
// overlay that [harness.plant] wrote, and runs its judge.
func (h harness) try(m mutant, overlay string) result {
	// -vet=off: vet is not the judge, and a mutant may trip it.
	args := []string{"test", "-count=1", "-vet=off"}
	if m.Tags != "" {
		args = append(args, "-tags", m.Tags)
	}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	if m.Suite != "" {
		args = append(args, m.Suite)
	} else {
		args = append(args, "-run", "^"+m.judge()+"$", "./sim",
			fmt.Sprintf("-rapid.checks=%d", h.checks), fmt.Sprintf("-rapid.seed=%d", h.seed), "-rapid.nofailfile",
			fmt.Sprintf("-rapid.shrinktime=%v", h.shrink))
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	res := result{elapsed: time.Since(start), cpu: cpuTime(cmd), output: out.String(), checks: "-", shrunk: "-"}

	text := out.String()
	switch {
	case runErr == nil && strings.Contains(text, noTests):
		res.err = fmt.Errorf("%s matches no test", m.judge())
		return res
	case runErr == nil:
		return res // survived
	case ctx.Err() != nil:
		res.err = fmt.Errorf("timed out after %v", h.timeout)
		return res
	case strings.Contains(text, "[build failed]") || strings.Contains(text, "[setup failed]"):
		res.err = fmt.Errorf("does not compile:\n%s", indent(text))
		return res
	}
	var exit *exec.ExitError
	if !errors.As(runErr, &exit) {
		res.err = runErr
		return res
	}
	res.caught = true
	res.checks = checksToCatch(text, m.Suite != "")
	if sm := shrunkSize.FindStringSubmatch(text); sm != nil {
		res.shrunk = strings.TrimSpace(sm[1])
	}
	return res
}

// A testBin is one sim test binary, built once and run by many judges: the
// unmutated one, or a schema planting many mutants.
type testBin struct {
	tags    string
	overlay string // "" for the unmutated library
	bin     string
	err     error // it does not build
	elapsed time.Duration
	cpu     time.Duration

	// A schema's: the edits of each mutant it plants (mutant i+1's at
	// i), and those left out, to be built alone, because the compiler
	// rejected what they plant, as it said in firstErr.
	edits    [][]edit
	alone    map[int]bool
	firstErr error
}

// build builds b; b.err says why it did not.
func (h harness) build(b *testBin) {
	args := []string{"test", "-c", "-vet=off", "-o", b.bin}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	if b.overlay != "" {
		args = append(args, "-overlay", b.overlay)
	}
	b.err = nil
	cmd := exec.Command("go", append(args, "./sim")...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	b.elapsed, b.cpu = b.elapsed+time.Since(start), b.cpu+cpuTime(cmd)
	if err != nil {
		b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, indent(string(out)))
	}
}

// buildSchema builds the schema b. If the compiler rejects functions that
// some mutants plant, it builds it again without those mutants, leaving
// them to be built alone (which reports each as not compiling).
func (h harness) buildSchema(b *testBin) {
	for {
		h.build(b)
		if b.err == nil {
			return
		}
		bad := h.rejected(b)
		if len(bad) == 0 {
			return
		}
		if b.alone == nil {
			b.alone, b.firstErr = map[int]bool{}, b.err
		}
		for id := range bad {
			b.alone[id] = true
			b.edits[id-1] = nil
		}
		var err error
		if b.overlay, err = h.plantSchema(b.tags, b.edits); err != nil {
			b.err = err
			return
		}
	}
}

// tally sums the wall and CPU time of some runs.
type tally struct {
	n         int
	wall, cpu time.Duration
}

func (t *tally) add(wall, cpu time.Duration) { t.n, t.wall, t.cpu = t.n+1, t.wall+wall, t.cpu+cpu }

// String is the sum as the summary line gives it: "12s (11s CPU)".
func (t tally) String() string {
	return fmt.Sprintf("%.0fs (%.0fs CPU)", t.wall.Seconds(), t.cpu.Seconds())
}

// cpuTime is the user and system time cmd, run, took, with the
// processes it waited for.
func cpuTime(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// compileError is where a compiler error is: file, line.
var compileError = regexp.MustCompile(`(?m)^\s*(\S+\.go):(\d+):\d+: `)

// plantedFunc is the name of a function a schema plants: mutant3_next.
var plantedFunc = regexp.MustCompile(`^mutant(\d+)_`)

// rejected returns the mutants whose planted functions the errors of the
// schema b's failed build are in: the ones not already left out.
func (h harness) rejected(b *testBin) map[int]bool {
	dir := filepath.Dir(b.overlay)
	bad := map[int]bool{}
	for _, sm := range compileError.FindAllStringSubmatch(b.err.Error(), -1) {
		path, err := filepath.Abs(sm[1])
		if err != nil || filepath.Dir(path) != dir {
			continue
		}
		var line int
		fmt.Sscan(sm[2], &line)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fset.Position(fd.Pos()).Line > line || fset.Position(fd.End()).Line < line {
				continue
			}
			if sm := plantedFunc.FindStringSubmatch(fd.Name.Name); sm != nil {
				id, _ := strconv.Atoi(sm[1])
				if id > 0 && id <= len(b.edits) && !b.alone[id] {
					bad[id] = true
				}
			}
		}
	}
	return bad
}

// plantSchema writes the schema of tags planting each of muts (see
// [pkgSource.schema]) and an overlay file mapping the library to it,
// returning the overlay's path.
func (h harness) plantSchema(tags string, muts [][]edit) (string, error) {
	lib, err := h.lib(tags)
	if err != nil {
		return "", err
	}
	files, err := lib.schema(muts)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(h.tmp, "schema"+tagSuffix(tags))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for file := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); filepath.Base(file) == schemaFile && err == nil {
			return "", fmt.Errorf("%s exists: the schema would replace it", file)
		}
	}
	return writeOverlay(files, func(file string) string { return filepath.Join(dir, filepath.Base(file)) },
		filepath.Join(dir, "overlay.json"))
}

// mapped is m's values at keys, in their order, where there is one.
func mapped[K comparable, V any](keys []K, m map[K]V) []V {
	var out []V
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out = append(out, v)
		}
	}
	return out
}

// schemable reports whether m can be planted in a schema: a mutant that
// cannot (see [pkgSource.schema]) is built on its own.
func (h harness) schemable(m mutant) bool {
	lib, err := h.lib(m.Tags)
	if err != nil {
		return false
	}
	_, err = lib.schema([][]edit{m.Edits})
	return err == nil
}

func tagSuffix(tags string) string {
	if tags == "" {
		return ""
	}
	return "-" + strings.NewReplacer(",", "-", " ", "-").Replace(tags)
}

// runJudge runs the sim test test of the binary bin, built by [harness.build],
// as go test would (in the sim's directory), with the schema's mutant id
// planted (0: none).
func (h harness) runJudge(bin, test string, id int) result {
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^"+test+"$", "-test.count=1", "-test.paniconexit0",
		fmt.Sprintf("-rapid.checks=%d", h.checks), fmt.Sprintf("-rapid.seed=%d", h.seed), "-rapid.nofailfile",
		fmt.Sprintf("-rapid.shrinktime=%v", h.shrink))
	cmd.Dir = h.simDir
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", schemaEnv, id))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	res := result{elapsed: time.Since(start), cpu: cpuTime(cmd), output: out.String(), checks: "-", shrunk: "-"}
	text := out.String()
	var exit *exec.ExitError
	switch {
	case runErr == nil && strings.Contains(text, noTests):
		res.err = fmt.Errorf("%s matches no test", test)
	case runErr == nil:
		// survived
	case ctx.Err() != nil:
		res.err = fmt.Errorf("timed out after %v", h.timeout)
	case !errors.As(runErr, &exit):
		res.err = runErr
	default:
		res.caught = true
		res.checks = checksToCatch(text, false)
		if sm := shrunkSize.FindStringSubmatch(text); sm != nil {
			res.shrunk = strings.TrimSpace(sm[1])
		}
	}
	return res
}

// noTests is what a test binary says when -test.run matches no test.
const noTests = "testing: warning: no tests to run"

// A queue runs jobs, a given number at a time, each as soon as the build
// it needs (if any) is done, earlier ones first.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	jobs   []qjob
	done   map[*testBin]bool
	judged map[judge]bool // the baselines run: whether each passed
}

type qjob struct {
	after *testBin
	run   func()
}

func newQueue() *queue {
	q := &queue{done: map[*testBin]bool{}, judged: map[judge]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add queues run, to start once after (if not nil) is built.
func (q *queue) add(after *testBin, run func()) { q.jobs = append(q.jobs, qjob{after, run}) }

// finish marks b built (or failed to build).
func (q *queue) finish(b *testBin) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done[b] = true
	q.cond.Broadcast()
}

// setJudged records whether the unmutated code passes j.
func (q *queue) setJudged(j judge, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.judged[j] = ok
}

// failed reports whether j's baseline is known to fail: its mutants need
// not run.
func (q *queue) failed(j judge) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	ok, known := q.judged[j]
	return known && !ok
}

// next takes the first job that can start, waiting for a build if none
// can; nil when none is left.
func (q *queue) next() func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) > 0 {
		for i, j := range q.jobs {
			if j.after == nil || q.done[j.after] {
				q.jobs = slices.Delete(q.jobs, i, i+1)
				return j.run
			}
		}
		q.cond.Wait()
	}
	return nil
}

// run runs every job, n at a time.
func (q *queue) run(n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for run := q.next(); run != nil; run = q.next() {
				run()
			}
		})
	}
	wg.Wait()
}

// checksToCatch reads how a judge's failing output caught the bug: the
// checks rapid ran until the first failure (counting the failing one), or
// what caught it instead.
func checksToCatch(text string, unit bool) string {
	switch sm := failedAfter.FindStringSubmatch(text); {
	case sm != nil && failFile.MatchString(text):
		// rapid replays the judge's saved fail files before its seeded
		// checks, and one of them failed: the seed's count is unknown.
		return "file"
	case sm != nil:
		var n int
		fmt.Sscan(sm[1], &n)
		return fmt.Sprint(n + 1)
	case strings.Contains(text, "[rapid] flaky test"):
		return "flaky" // failed once, but not again on the same schedule
	case unit:
		return "unit" // caught by the Suite's tests, not the sim
	case strings.Contains(text, "panic: "), strings.Contains(text, "fatal error: "):
		return "crash" // the bug took the whole test binary down
	}
	return "-"
}

// plant writes m's mutated files and an overlay file mapping the originals
// to them, returning the overlay's path ("" for no edits).
func (h harness) plant(m mutant) (string, error) {
	if len(m.Edits) == 0 {
		return "", nil
	}
	lib, err := h.lib(m.Tags)
	if err != nil {
		return "", err
	}
	files, err := lib.rewrite(m.Edits)
	if err != nil {
		return "", fmt.Errorf("mutant %s is stale: %v", m.Name, err)
	}
	return writeOverlay(files, func(file string) string { return filepath.Join(h.tmp, m.Name+"-"+filepath.Base(file)) },
		filepath.Join(h.tmp, m.Name+".json"))
}

// writeOverlay writes each of files (their source by path) to dst(path)
// and, at overlay, a go build -overlay file replacing each with its copy;
// it returns overlay.
func writeOverlay(files map[string][]byte, dst func(string) string, overlay string) (string, error) {
	replace := map[string]string{}
	for file, src := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return "", err
		}
		to := dst(file)
		if err := os.WriteFile(to, src, 0o644); err != nil {
			return "", err
		}
		replace[abs] = to
	}
	b, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", err
	}
	return overlay, os.WriteFile(overlay, b, 0o644)
}

// lib returns the library's source as a build with tags sees it.
func (h harness) lib(tags string) (*pkgSource, error) {
	h.libsMu.Lock()
	defer h.libsMu.Unlock()
	if p := h.libs[tags]; p != nil {
		return p, nil
	}
	p, err := loadPackage("lifecycle", tags)
	if err != nil {
		return nil, err
	}
	h.libs[tags] = p
	return p, nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	os.Exit(1)
}
