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
// Usage, from the module root:
//
//	go run ./internal/mutants [-checks 10000] [-seed 1] [-run regexp] [-list] [-v]
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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
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
	verbose := flag.Bool("v", false, "print each judge's output")
	parallel := flag.Int("parallel", runtime.GOMAXPROCS(0), "mutants run at once")
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

	h := harness{libs: map[string]*pkgSource{}, libsMu: new(sync.Mutex), checks: *checks, seed: *seed, timeout: *timeout, tmp: tmp}
	var todo []mutant
	for _, m := range mutants {
		if filter.MatchString(m.Name) {
			todo = append(todo, m)
		}
	}

	// The unmutated code must pass each sim test that is to judge, or a
	// "caught" mutant proves nothing: the mutants that judge would judge
	// are not run, but the others are.
	type judge struct{ test, tags string }
	judges := map[judge]bool{} // true: the unmutated code passes it
	for _, m := range todo {
		if m.Suite == "" {
			judges[judge{m.judge(), m.Tags}] = false
		}
	}
	for _, j := range slices.SortedFunc(maps.Keys(judges), func(a, b judge) int { return strings.Compare(a.test, b.test) }) {
		fmt.Printf("baseline %s: %d checks, seed %d ... ", j.test, *checks, *seed)
		res := h.try(mutant{Name: "baseline", Test: j.test, Tags: j.tags})
		if res.err != nil || res.caught {
			why := "it fails"
			if res.err != nil {
				why = res.err.Error()
			}
			fmt.Printf("FAILED (%s): its mutants are not run\n%s\n", why, indent(res.output))
			continue
		}
		judges[j] = true
		fmt.Println("ok")
	}

	// Run the mutants, -parallel at a time (each judge is one go test
	// process), and report them in the catalogue's order.
	results := make([]result, len(todo))
	started := make([]bool, len(todo))
	sem := make(chan struct{}, max(*parallel, 1))
	var wg sync.WaitGroup
	for i, m := range todo {
		if m.Suite == "" && !judges[judge{m.judge(), m.Tags}] {
			continue
		}
		started[i] = true
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = h.try(m)
		})
	}
	wg.Wait()

	fmt.Printf("\n%-28s %-8s %-13s %6s %6s  %s\n", "mutant", "result", "caught by", "checks", "time", "shrunk schedule / the bug")
	survived, broken, unjudged := 0, 0, 0
	for i, m := range todo {
		if !started[i] {
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
	if survived+broken+unjudged > 0 {
		fatal(fmt.Errorf("%d mutants survived, %d could not be planted, %d not run: their judge fails on the unmutated code",
			survived, broken, unjudged))
	}
	fmt.Println("\nevery planted bug was caught")
}

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
	tmp     string
}

type result struct {
	caught  bool
	checks  string // checks until the first failure, as rapid counts them (+1)
	shrunk  string // size of the shrunk schedule, as the sim reports it
	elapsed time.Duration
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

// try runs the sim with m planted.
func (h harness) try(m mutant) result {
	overlay, err := h.plant(m)
	if err != nil {
		return result{err: err}
	}
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
			fmt.Sprintf("-rapid.checks=%d", h.checks), fmt.Sprintf("-rapid.seed=%d", h.seed), "-rapid.nofailfile")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	res := result{elapsed: time.Since(start), output: out.String(), checks: "-", shrunk: "-"}

	text := out.String()
	switch {
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
	replace := map[string]string{}
	for file, src := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return "", err
		}
		dst := filepath.Join(h.tmp, m.Name+"-"+filepath.Base(file))
		if err := os.WriteFile(dst, src, 0o644); err != nil {
			return "", err
		}
		replace[abs] = dst
	}
	b, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", err
	}
	path := filepath.Join(h.tmp, m.Name+".json")
	return path, os.WriteFile(path, b, 0o644)
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
