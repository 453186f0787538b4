package main

import (
	"os/exec"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestMutantsApplyAndCompile proves every mutant still finds each of its
// targets exactly once and that the planted library compiles, so `make
// mutants` never reports a bug as caught merely because it broke the build,
// nor one as surviving because its New silently means the original.
func TestMutantsApplyAndCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the library once per mutant")
	}
	t.Chdir("../..")
	h := harness{libs: map[string]*pkgSource{}, libsMu: new(sync.Mutex), tmp: t.TempDir()}
	names := map[string]bool{}
	for _, m := range mutants {
		if names[m.Name] {
			t.Errorf("mutant name %q used twice", m.Name)
		}
		names[m.Name] = true
		if len(m.Edits) == 0 {
			t.Errorf("mutant %s has no edits", m.Name)
			continue
		}
		overlay, err := h.plant(m)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		// vet type-checks the planted library, and its nilfunc check
		// catches a New written against an older library that still
		// compiles but means nothing: s.stopper != nil, once stopper
		// became a method, is always true, and the mutant is the original.
		out, err := exec.Command("go", "vet", "-nilfunc", "-tags", m.Tags, "-overlay", overlay, "./lifecycle").CombinedOutput()
		if err != nil {
			t.Errorf("mutant %s does not compile, or compares a function with nil: %v\n%s", m.Name, err, out)
		}
	}
	if len(mutants) < 15 {
		t.Errorf("got %d mutants; want at least 15", len(mutants))
	}
}

// TestSchemaCompiles proves the catalogue planted all at once, as `make
// mutants` builds it for each set of build tags, compiles: else every
// mutant is built on its own, and the run takes minutes longer.
func TestSchemaCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the library once per set of build tags")
	}
	t.Chdir("../..")
	h := harness{libs: map[string]*pkgSource{}, libsMu: new(sync.Mutex), tmp: t.TempDir()}
	byTags := map[string][][]edit{}
	for _, m := range mutants {
		// A mutant of a function that calls recover itself cannot be
		// planted a call deeper: the harness builds it alone instead.
		if m.Suite == "" && h.schemable(m) {
			byTags[m.Tags] = append(byTags[m.Tags], m.Edits)
		}
	}
	for tags, edits := range byTags {
		overlay, err := h.plantSchema(tags, edits)
		if err != nil {
			t.Errorf("tags %q: %v", tags, err)
			continue
		}
		if out, err := exec.Command("go", "build", "-tags", tags, "-overlay", overlay, "./lifecycle").CombinedOutput(); err != nil {
			t.Errorf("the schema of tags %q does not compile: %v\n%s", tags, err, out)
		}
	}
}

// TestPlantRejectsStaleMutant proves a mutant whose target is gone, or no
// longer unique, is reported with the function and the text it looked
// for, not silently skipped.
func TestPlantRejectsStaleMutant(t *testing.T) {
	lib, err := parsePackage("p", map[string][]byte{
		"p/a.go": []byte("package p\n\nfunc f(a int) int {\n\tif a > 0 {\n\t\treturn a + a\n\t}\n\treturn 0\n}\n"),
		"p/b.go": []byte("package p\n\ntype T struct{}\n\nfunc (T) m() int { return 1 + 1 }\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := harness{libs: map[string]*pkgSource{"": lib}, libsMu: new(sync.Mutex), tmp: t.TempDir()}
	for _, tc := range []struct {
		e    edit
		want string // in the error
	}{
		{edit{"g", "a > 0", "a >= 0"}, "no function g"},
		{edit{"f", "a < 0", "a >= 0"}, `f (a.go): "a < 0" matches 0 times`},
		{edit{"f", "a", "b"}, `f (a.go): "a" matches 3 times in its body (lines 4, 5, 5)`},
		{edit{"(*T).m", "1", "2"}, `(*T).m (b.go): "1" matches 2 times`},
		{edit{"f", "return a + a", "return a +"}, "does not parse"},
		{edit{"f", `"unterminated`, "0"}, "is not Go tokens"},
	} {
		_, err := h.plant(mutant{Name: "m", Edits: []edit{tc.e}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("plant %+v: got error %v; want one containing %q", tc.e, err, tc.want)
		}
	}
	_, err = h.plant(mutant{Name: "m", Edits: []edit{{"f", "a + a", "a - a"}, {"f", "return a + a", "return 0"}}})
	if err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("plant with overlapping edits: got error %v; want an overlap error", err)
	}
	for _, e := range []edit{
		{"f", "if a>0{return a+a;}", "if a > 1 { return a }"}, // laid out differently
		{"T.m", "1 + 1", "2"}, // value receiver, either spelling
		{"(*T).m", "1 + 1", "2"},
	} {
		if _, err := h.plant(mutant{Name: "m", Edits: []edit{e}}); err != nil {
			t.Errorf("plant %+v: got %v; want nil", e, err)
		}
	}
}

// TestChecksToCatch reads the outputs rapid v1.3 prints (engine.go's
// checkTB) the way the harness must: a fail file replayed before the
// seeded checks is not the seed's first check.
func TestChecksToCatch(t *testing.T) {
	const seedFail = "    sim_test.go:40: [rapid] failed after 14 tests: the Manager broke the spec\n" +
		"        To reproduce, specify -run=\"^TestSim$\" -rapid.seed=16417978800760476717\n" +
		"        Failed test output:\n"
	const fileFail = "    sim_test.go:40: [rapid] failed after 0 tests: the Manager broke the spec\n" +
		"        To reproduce, specify -run=\"^TestSim$\" -rapid.failfile=\"testdata/rapid/TestSim/TestSim-1-2.fail\"\n" +
		"        Failed test output:\n"
	for _, tc := range []struct {
		text string
		unit bool
		want string
	}{
		{seedFail, false, "15"},
		{strings.Replace(seedFail, "failed after", "panic after", 1), false, "15"},
		{fileFail, false, "file"},
		{"[rapid] flaky test, can not reproduce a failure\n", false, "flaky"},
		{"--- FAIL: TestStop (0.00s)\n", true, "unit"},
		{"panic: lifecycle: boom\n\ngoroutine 7 [running]:\n", false, "crash"},
		{"fatal error: panic while printing panic value: hostile Error method\n", false, "crash"},
		{"FAIL\n", false, "-"},
	} {
		if got := checksToCatch(tc.text, tc.unit); got != tc.want {
			t.Errorf("checksToCatch(%q, %v) = %q; want %q", tc.text, tc.unit, got, tc.want)
		}
	}
}
