package lifecycle

import (
	"fmt"
	"hash/maphash"
	"testing"
)

// Register's name set (nameset.go).

// nameOf is the name set's view of services: the name of the i-th.
func nameOf(services []*service) func(int) string {
	return func(i int) string { return services[i].name }
}

// servicesNamed makes a service per name, as Register keeps them.
func servicesNamed(names []string) []*service {
	out := make([]*service, len(names))
	for i, name := range names {
		out[i] = &service{name: name}
	}
	return out
}

func TestNameSet_FindsEveryTakenNameAcrossGrowth(t *testing.T) {
	const n = 5000 // grows the table from 16 slots to 8,192
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%d", i)
	}
	services := servicesNamed(names)
	var ns nameSet
	for i, name := range names {
		if !ns.add(name, i, nameOf(services)) {
			t.Fatalf("add(%q) reported it taken, the first time", name)
		}
	}
	if len(ns.slots) != 8192 || ns.n != n {
		t.Errorf("%d names in %d slots, %d in use; want 8192 slots, %d in use", n, len(ns.slots), ns.n, n)
	}
	for i, name := range names {
		if ns.add(name, n+i, nameOf(services)) {
			t.Fatalf("add(%q) again reported it free", name)
		}
	}
	if !ns.add("svc-new", n, nameOf(services)) {
		t.Error("add of a new name reported it taken")
	}
}

func TestNameSet_GrowsAtThreeQuartersFull(t *testing.T) {
	// The table doubles at the add that would make it more than three
	// quarters full, and not before: 12 names fit in 16 slots, the 13th
	// makes 32.
	names := make([]string, 13)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i)
	}
	services := servicesNamed(names)
	var ns nameSet
	for i, name := range names {
		ns.add(name, i, nameOf(services))
		want := 16
		if i == 12 {
			want = 32
		}
		if len(ns.slots) != want {
			t.Fatalf("after %d names, %d slots; want %d", i+1, len(ns.slots), want)
		}
	}
}

func TestNameSet_SameHashBitsDifferentNameIsFree(t *testing.T) {
	// A slot whose hash bits match but whose service has another name is
	// a collision, not a duplicate: the new name goes in the next slot.
	var ns nameSet
	services := servicesNamed([]string{"a"})
	ns.add("a", 0, nameOf(services))
	h := uint32(maphash.String(ns.seed, "b"))
	clear(ns.slots)
	ns.slots[h&uint32(len(ns.slots)-1)] = uint64(h)<<32 | 1 // "b"'s bits, service "a"
	services = append(services, &service{name: "b"})
	if !ns.add("b", 1, nameOf(services)) {
		t.Fatal(`add("b") found it taken; the slot it hit holds service "a"`)
	}
	if ns.add("b", 2, nameOf(services)) {
		t.Error(`add("b") a second time reported it free`)
	}
}
