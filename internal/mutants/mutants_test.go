package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestMutantsApplyAndCompile proves every mutant still matches the source
// exactly once and that the planted library compiles, so `make mutants`
// never reports a bug as caught merely because it broke the build.
func TestMutantsApplyAndCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the library once per mutant")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	h := harness{tmp: t.TempDir()}
	names := map[string]bool{}
	for _, m := range mutants {
		if names[m.Name] {
			t.Errorf("mutant name %q used twice", m.Name)
		}
		names[m.Name] = true
		overlay, err := h.plant(m)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		out, err := exec.Command("go", "build", "-overlay", overlay, "./lifecycle").CombinedOutput()
		if err != nil {
			t.Errorf("mutant %s does not compile: %v\n%s", m.Name, err, out)
		}
	}
	if len(mutants) < 15 {
		t.Errorf("got %d mutants; want at least 15", len(mutants))
	}
}

// TestPlantRejectsStaleMutant proves a mutant whose text no longer occurs
// exactly once is reported, not silently skipped.
func TestPlantRejectsStaleMutant(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("f.go", []byte("a a"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := harness{tmp: t.TempDir()}
	for _, old := range []string{"b", "a"} { // absent; twice
		if _, err := h.plant(mutant{Name: "m", Edits: []edit{{"f.go", old, "c"}}}); err == nil {
			t.Errorf("plant with %q occurring %s: got nil error; want a stale-mutant error", old, map[string]string{"a": "twice", "b": "never"}[old])
		}
	}
	if _, err := h.plant(mutant{Name: "m", Edits: []edit{{"f.go", "a a", "c"}}}); err != nil {
		t.Errorf("plant with an exact match: got %v; want nil", err)
	}
}
