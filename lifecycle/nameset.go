package lifecycle

import "hash/maphash"

// nameSet is the set of registered names, for Register's check for a
// name already taken. It is an open-addressing table of slots, each the
// low 32 bits of a name's hash over the index of its service plus one (0
// is an empty slot): a probe compares names only when the hash bits agree,
// and growing the table moves slots without hashing a name again.
//
// A map[string]struct{} did the same job with three times the garbage:
// it keeps each key's 16 bytes, and it grows in steps that each leave the
// old table behind. Registering 10,000 services allocated 84 bytes per
// service for the map, a third of everything Register and Run allocate;
// the garbage collector's work at that scale is a large part of the cost
// of starting services (BenchmarkStartCancel, docs/performance.md).
type nameSet struct {
	seed  maphash.Seed
	slots []uint64 // len a power of two, at most three quarters full
	n     int      // slots in use
}

// add adds name, the name of the i-th service, unless a service before i
// has it: then it reports false. nameOf returns the name of the j-th
// service, for j < i; services are added in order.
func (ns *nameSet) add(name string, i int, nameOf func(int) string) bool {
	if ns.slots == nil {
		ns.seed, ns.slots = maphash.MakeSeed(), make([]uint64, 16)
	} else if 4*(ns.n+1) > 3*len(ns.slots) {
		ns.grow()
	}
	h := uint32(maphash.String(ns.seed, name))
	mask := uint32(len(ns.slots) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		slot := ns.slots[p]
		if slot == 0 {
			ns.slots[p] = uint64(h)<<32 | uint64(i+1)
			ns.n++
			return true
		}
		if uint32(slot>>32) == h && nameOf(int(uint32(slot)-1)) == name {
			return false
		}
	}
}

// grow doubles the table.
func (ns *nameSet) grow() {
	old := ns.slots
	ns.slots = make([]uint64, 2*len(old))
	mask := uint32(len(ns.slots) - 1)
	for _, slot := range old {
		if slot == 0 {
			continue
		}
		p := uint32(slot>>32) & mask
		for ns.slots[p] != 0 {
			p = (p + 1) & mask
		}
		ns.slots[p] = slot
	}
}
