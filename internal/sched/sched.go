// Package sched decides, from a seed, the order in which goroutines pass
// their scheduling points (lifecycle/internal/schedpoint), so that a
// simulation explores interleavings of the Manager's goroutines that the
// lockstep driver never produces, and replays each one exactly.
//
// # How it works
//
// A goroutine that reaches a point calls [Scheduler.Yield], which parks it
// on a channel. Inside a testing/synctest bubble a parked goroutine is
// durably blocked, so the driver's synctest.Wait returns once every
// goroutine is either parked at a point or blocked on something else (a
// timer, a channel, ctx.Done). The driver then calls [Scheduler.Next],
// which asks a [Strategy] to pick one of the parked goroutines and
// releases only that one; the driver waits again, and so on. Only when no
// goroutine is parked does the driver move the fake clock (unless the
// strategy may pick the clock itself: see [Scheduler.Next]). Every choice
// is made by the driver's goroutine from a set that synctest.Wait makes
// complete, so the same seed gives the same interleaving.
//
// Goroutines are told apart by a key: the key passed to Yield (the
// service a supervise loop or Stop call works for) with the point's
// family (what comes before the first dot: "svc0/supervise"), or a label the
// goroutine gave itself with [Scheduler.Label] (the driver's goroutines
// calling Shutdown). A point passed with no key and no label (a Tracker's,
// which knows no service) takes, after [Scheduler.Learn], the identity of
// the goroutine's last keyed point (a supervise loop recording its Run's
// outcome), or else the label of the goroutine that started it, with
// "/child" (the health endpoint's goroutine, started by a driver's
// sample). Two goroutines parked with the same identity cannot
// be ordered by the strategy; they are released in arrival order and
// counted in [Scheduler.Collisions].
//
// # Selects
//
// Go's select takes one of its ready cases at random, from a source no
// program can seed. A goroutine released from a point into a select that
// finds two cases ready would take either, and the run would not replay.
// Without the clock among the choices that cannot come from time (the
// clock moves only when no goroutine is parked); with it, a goroutine
// parked before a select may find both a deadline passed and a value
// sent. [Scheduler.Select] names such points and the points whose release
// sends to them, and the Scheduler then lets through, while a goroutine
// is parked at one, either the clock or a sender, never both.
//
// # Strategies
//
// [PCT] is probabilistic concurrency testing (Burckhardt, Kothari,
// Musuvathi, Nagarakatte, ASPLOS 2010; the shuttle crate's PCT): random
// priorities, the highest-priority parked goroutine runs, and at d-1
// random steps the running goroutine drops below every other. For a
// program of n goroutines and k steps, a bug of depth d (d ordering
// constraints must hold for it to show) is found by one run with
// probability at least 1/(n·k^(d-1)).
//
// [Explorer] enumerates every interleaving up to a preemption bound
// (CHESS, and the loom crate's bound of 2 or 3) by replaying prefixes.
package sched

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Clock is the identity of the fake clock when a strategy may choose it:
// moving time while goroutines are parked (a goroutine descheduled while
// time passes).
const Clock = "clock"

// A Strategy picks which of the parked goroutines goes next.
type Strategy interface {
	// Choose returns an index into opts, the identities of the parked
	// goroutines in sorted order (and Clock, if the clock may move). step
	// counts the choices made so far in this run; last is the identity
	// chosen at the previous step ("" at the first).
	Choose(step int, last string, opts []string) int
}

// Scheduler parks goroutines at their scheduling points and releases them
// one at a time, as its Strategy decides. Yield and Label are safe for
// concurrent use; Next must be called by the driver only.
type Scheduler struct {
	strat Strategy

	mu         sync.Mutex          // guards the fields below
	parked     []*waiter           // in arrival order
	labels     map[uint64]string   // goroutine id -> label
	learned    map[uint64]string   // goroutine id -> identity at its last keyed point; nil: not learning
	steps      int                 // choices made
	last       string              // identity chosen last
	trail      []string            // "identity@point" per choice
	collisions int                 // choices between goroutines of one identity
	points     map[string]struct{} // the points seen
	selects    map[string][]string // select point -> the points whose release sends to it (see Select)
	parents    map[uint64]parentOf // goroutine id -> creator(), once read
}

type parentOf struct {
	id    uint64
	found bool
}

type waiter struct {
	id, point string
	go_       chan struct{}

	// At a select point (see Select): since this goroutine parked, the
	// clock moved; a goroutine was released from one of its senders.
	clocked, sent bool
}

// New returns a Scheduler that asks strat.
func New(strat Strategy) *Scheduler {
	return &Scheduler{strat: strat, labels: map[uint64]string{}, points: map[string]struct{}{}, parents: map[uint64]parentOf{}}
}

// Label names the calling goroutine for the points it passes with an
// empty key.
func (s *Scheduler) Label(name string) {
	id := goid()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.labels[id] = name
}

// Learn makes the Scheduler remember, for each goroutine, the identity it
// had at the last point it passed with a key, and use it at the points it
// passes without one (see [Scheduler.Yield]). It costs a stack read per
// point, so it is off until called.
func (s *Scheduler) Learn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.learned == nil {
		s.learned = map[uint64]string{}
	}
}

// Select declares that a goroutine released from point goes straight
// into a select whose cases become ready when the clock moves (a
// deadline) or when a goroutine is released from one of senders (which
// sends at once). While a goroutine is parked at point, Next lets the
// clock move only if no goroutine was released from senders since it
// parked, and releases one from senders only if the clock has not moved
// since; the goroutine at point itself may always go. So it never finds
// both a deadline and a value, of which Go's select would take either at
// random (see the package documentation). Call it before the run.
func (s *Scheduler) Select(point string, senders ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.selects == nil {
		s.selects = map[string][]string{}
	}
	s.selects[point] = append(s.selects[point], senders...)
}

// Yield parks the calling goroutine at point until Next releases it. It
// is the function to install with lifecycle.SetScheduler.
func (s *Scheduler) Yield(point, key string) {
	if key == "" {
		key = s.identity(goid(), point)
	} else {
		if family, _, _ := strings.Cut(point, "."); family != point {
			// One service has a supervise goroutine and a Stop goroutine:
			// "svc0/supervise", "svc0/stop".
			key += "/" + family
		}
		s.learn(key)
	}
	w := &waiter{id: key, point: point, go_: make(chan struct{})}
	s.mu.Lock()
	s.parked = append(s.parked, w)
	s.points[point] = struct{}{}
	s.mu.Unlock()
	<-w.go_
}

// learn remembers identity for the calling goroutine, if Learn was called.
func (s *Scheduler) learn(identity string) {
	s.mu.Lock()
	on := s.learned != nil
	s.mu.Unlock()
	if !on {
		return
	}
	id := goid()
	s.mu.Lock()
	s.learned[id] = identity
	s.mu.Unlock()
}

// identity names goroutine id at a point passed with an empty key (a
// Tracker's, which does not know its service): its label; else the
// identity it had at the last point it passed with a key (a supervise
// loop's goroutine, recording its Run's outcome); else the label of the
// goroutine that started it (the health endpoint's goroutine, started by a
// labelled driver goroutine); else "?" and the point.
func (s *Scheduler) identity(id uint64, point string) string {
	s.mu.Lock()
	key, ok := s.labels[id]
	if !ok {
		key, ok = s.learned[id]
	}
	s.mu.Unlock()
	if ok {
		return key
	}
	if parent, found := s.parent(id); found {
		s.mu.Lock()
		key, ok = s.labels[parent]
		s.mu.Unlock()
		if ok {
			return key + "/child"
		}
	}
	return "?" + point
}

// parent returns creator() for goroutine id, the calling one, reading its
// stack only the first time: ids are never reused, and Identity asks for
// every timer armed.
func (s *Scheduler) parent(id uint64) (uint64, bool) {
	s.mu.Lock()
	p, ok := s.parents[id]
	s.mu.Unlock()
	if ok {
		return p.id, p.found
	}
	pid, found := creator()
	s.mu.Lock()
	s.parents[id] = parentOf{pid, found}
	s.mu.Unlock()
	return pid, found
}

// Identity returns the calling goroutine's identity as Yield would name
// it at a point passed with no key (its label, the identity it learned, or
// its creator's label with "/child"), or "" if it has none. It names the
// goroutines arming timers for fakeclock's SetTieBreak, so that timers of
// one deadline armed by goroutines running at once fire in the same order
// in every run. It reads the goroutine's stack: tests only.
func (s *Scheduler) Identity() string {
	if key := s.identity(goid(), ""); !strings.HasPrefix(key, "?") {
		return key
	}
	return ""
}

// Parked returns the number of goroutines parked at a point.
func (s *Scheduler) Parked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.parked)
}

// Next makes one choice: it releases one parked goroutine and reports
// true, or reports false when none is parked or the strategy chose to let
// the clock move (offered as [Clock] when clockReady). Call it from the
// driver once synctest.Wait has returned, so that every goroutine about to
// park has parked.
func (s *Scheduler) Next(clockReady bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.parked) == 0 {
		return false
	}
	var opts []string
	offered := 0
	for _, w := range s.parked {
		if s.heldLocked(w) {
			continue
		}
		offered++
		if !slices.Contains(opts, w.id) {
			opts = append(opts, w.id)
		}
	}
	if len(opts) < offered {
		s.collisions++
	}
	slices.Sort(opts)
	if clockReady && !slices.ContainsFunc(s.parked, func(w *waiter) bool { return w.sent }) {
		opts = append(opts, Clock)
	}
	i := s.strat.Choose(s.steps, s.last, opts)
	if i < 0 || i >= len(opts) {
		panic(fmt.Sprintf("sched: strategy chose %d of %d options", i, len(opts)))
	}
	s.steps++
	s.last = opts[i]
	if opts[i] == Clock {
		for _, v := range s.parked {
			v.clocked = v.clocked || s.selects[v.point] != nil
		}
		s.trail = append(s.trail, Clock)
		return false
	}
	j := slices.IndexFunc(s.parked, func(w *waiter) bool { return w.id == opts[i] && !s.heldLocked(w) })
	w := s.parked[j]
	s.parked = slices.Delete(s.parked, j, j+1)
	for _, v := range s.parked {
		v.sent = v.sent || slices.Contains(s.selects[v.point], w.point)
	}
	s.trail = append(s.trail, w.id+"@"+w.point)
	close(w.go_)
	return true
}

// heldLocked reports whether w, parked at a sender of a select point (see
// Select), must wait: a goroutine parked at that select point saw the
// clock move. s.mu must be held.
func (s *Scheduler) heldLocked(w *waiter) bool {
	if s.selects == nil {
		return false
	}
	return slices.ContainsFunc(s.parked, func(v *waiter) bool {
		return v.clocked && slices.Contains(s.selects[v.point], w.point)
	})
}

// Steps returns the number of choices made.
func (s *Scheduler) Steps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.steps
}

// Trail returns the choices made, as "identity@point" (or "clock").
func (s *Scheduler) Trail() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.trail)
}

// Collisions returns how many choices had two parked goroutines of one
// identity (ordered by arrival, not by the strategy).
func (s *Scheduler) Collisions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.collisions
}

// Points returns the names of the points passed, sorted.
func (s *Scheduler) Points() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []string
	for p := range s.points {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// creator returns the id of the goroutine that started the calling one,
// from the last line of its stack ("created by f in goroutine 42").
// Tests only: it is slow.
func creator() (uint64, bool) {
	bp := stacks.Get().(*[]byte)
	defer stacks.Put(bp)
	b := (*bp)[:runtime.Stack(*bp, false)]
	_, after, ok := bytes.Cut(b, []byte("\ncreated by "))
	if !ok {
		return 0, false
	}
	line, _, _ := bytes.Cut(after, []byte("\n"))
	_, n, ok := bytes.Cut(line, []byte(" in goroutine "))
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(string(n), 10, 64)
	return id, err == nil
}

// stacks holds the buffers creator reads stacks into (Identity calls it
// for every timer armed).
var stacks = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// goid returns the calling goroutine's id, from its stack header
// ("goroutine 42 [running]:"). Tests only: it is slow.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	b = b[:strings.IndexByte(string(b), ' ')]
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("sched: cannot read the goroutine id: " + err.Error())
	}
	return id
}
