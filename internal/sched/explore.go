package sched

import (
	"fmt"
	"slices"
)

// Explorer enumerates every interleaving of the scheduling points of one
// program with at most Bound preemptions, by depth-first search over the
// choices, replaying a prefix of choices on each run (stateless model
// checking, as CHESS and the loom crate do). A choice is a preemption when
// the goroutine chosen at the previous step is parked again and another
// one is chosen instead; the default choice continues it (or takes the
// first option). The program must be deterministic given the choices:
// replay checks that each step offers the options it offered before.
//
//	for x := sched.NewExplorer(2); x.Next(); {
//		run(sched.New(x)) // one whole simulation
//	}
type Explorer struct {
	Bound int

	stack   []node // the current run's choices
	pos     int    // the next step of the current run
	runs    int
	started bool
	err     error
}

type node struct {
	opts   []string
	last   string
	choice int
	tried  []bool
	pre    int // preemptions before this step
}

// NewExplorer returns an Explorer with the given preemption bound.
func NewExplorer(bound int) *Explorer { return &Explorer{Bound: bound} }

// Next prepares the next run and reports whether there is one. Call it
// before each run; the first call always reports true.
func (x *Explorer) Next() bool {
	if x.err != nil {
		return false
	}
	if !x.started {
		x.started = true
		x.runs = 1
		return true
	}
	x.stack = x.stack[:min(x.pos, len(x.stack))] // a run may end earlier than the replayed one
	for len(x.stack) > 0 {
		n := &x.stack[len(x.stack)-1]
		n.tried[n.choice] = true
		for j := range n.opts {
			if !n.tried[j] && n.pre+x.cost(n, j) <= x.Bound {
				n.choice = j
				x.pos = 0
				x.runs++
				return true
			}
		}
		x.stack = x.stack[:len(x.stack)-1]
	}
	return false
}

// cost is 1 if choosing j at n preempts the goroutine that ran last.
func (x *Explorer) cost(n *node, j int) int {
	if slices.Contains(n.opts, n.last) && n.opts[j] != n.last {
		return 1
	}
	return 0
}

// Choose implements [Strategy]: it replays the prefix, then makes the
// default choice, recording each new step.
func (x *Explorer) Choose(step int, last string, opts []string) int {
	defer func() { x.pos++ }()
	if x.pos < len(x.stack) {
		n := &x.stack[x.pos]
		if !slices.Equal(n.opts, opts) && x.err == nil {
			x.err = fmt.Errorf("sched: run %d step %d offers %q; an earlier run offered %q: the program is not deterministic", x.runs, step, opts, n.opts)
		}
		if n.choice < len(opts) {
			return n.choice
		}
		return 0
	}
	n := node{opts: slices.Clone(opts), last: last, tried: make([]bool, len(opts))}
	if len(x.stack) > 0 {
		p := x.stack[len(x.stack)-1]
		n.pre = p.pre + x.cost(&p, p.choice)
	}
	if i := slices.Index(opts, last); i >= 0 {
		n.choice = i
	}
	x.stack = append(x.stack, n)
	return n.choice
}

// Runs returns the number of runs started.
func (x *Explorer) Runs() int { return x.runs }

// Err returns the nondeterminism found, if any.
func (x *Explorer) Err() error { return x.err }
