package lifecycle

import "testing"

// The name tables are sized by their constants; a constant added without a
// name leaves an empty string, which these tests catch.

func TestKindNames_EveryKindNamedOnce(t *testing.T) {
	seen := map[string]EventKind{}
	for k := EventKind(1); k < kindCount; k++ {
		name := k.String()
		if name == "" {
			t.Errorf("EventKind %d has no name", int(k))
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("EventKind %d and %d are both %q", int(prev), int(k), name)
		}
		seen[name] = k
	}
}

func TestOutcomeNames_EveryOutcomeNamedOnce(t *testing.T) {
	seen := map[string]Outcome{}
	for o := Outcome(0); o < outcomeCount; o++ {
		name := o.String()
		if name == "" {
			t.Errorf("Outcome %d has no name", int(o))
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("Outcome %d and %d are both %q", int(prev), int(o), name)
		}
		seen[name] = o
	}
}
