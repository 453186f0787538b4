package sched

import (
	"math/rand/v2"
)

// PCT is the probabilistic concurrency testing strategy. Each identity
// gets a random priority the first time it is offered (above depth, so
// above every lowered one); each step runs the highest-priority parked
// goroutine; at each of depth-1 change points, drawn uniformly among the
// first maxSteps steps, the goroutine chosen at that step is lowered below
// every other (the i-th change point to priority -i) and the choice is
// made again.
//
// With n goroutines, k steps and a bug that needs d orderings to show, one
// run finds it with probability at least 1/(n·k^(d-1)) (Burckhardt et al.,
// ASPLOS 2010, Theorem 3). Everything comes from the seed, so a run
// replays exactly.
type PCT struct {
	rng    *rand.Rand
	depth  int
	change map[int]int // step -> which change point (1..depth-1)
	prio   map[string]float64
}

// NewPCT returns a PCT strategy for bugs of depth up to depth (>= 1), with
// its change points among the first maxSteps steps.
func NewPCT(seed uint64, depth, maxSteps int) *PCT {
	p := &PCT{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), depth: max(depth, 1),
		change: map[int]int{}, prio: map[string]float64{}}
	for i := 1; i < p.depth && maxSteps > 0; i++ {
		p.change[p.rng.IntN(maxSteps)] = i
	}
	return p
}

// NewPCTAt is NewPCT with the change points given (steps, from 0; the
// i-th lowers its goroutine to priority -i-1), for a caller that draws
// them itself: a property-based generator leaning towards early steps
// finds shallow bugs sooner than a uniform draw.
func NewPCTAt(seed uint64, changes []int) *PCT {
	p := &PCT{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), depth: len(changes) + 1,
		change: map[int]int{}, prio: map[string]float64{}}
	for i, c := range changes {
		p.change[c] = i + 1
	}
	return p
}

// Choose implements [Strategy].
func (p *PCT) Choose(step int, _ string, opts []string) int {
	for _, o := range opts { // opts are sorted: new priorities are drawn in a fixed order
		if _, ok := p.prio[o]; !ok {
			p.prio[o] = float64(p.depth) + p.rng.Float64()
		}
	}
	best := p.highest(opts)
	if i, ok := p.change[step]; ok {
		p.prio[opts[best]] = -float64(i)
		best = p.highest(opts)
	}
	return best
}

func (p *PCT) highest(opts []string) int {
	best := 0
	for i, o := range opts {
		if p.prio[o] > p.prio[opts[best]] {
			best = i
		}
	}
	return best
}
