package fakeclock

import (
	"context"
	"sync"
	"time"
)

// A timer is one pending wait on a Clock. Firing it does exactly one of:
// a non-blocking send of its deadline on ch, go fn(), or cancelling ctx with
// context.DeadlineExceeded. Firing always happens outside Clock.mu.
type timer struct {
	when  time.Time
	seq   uint64 // creation order; breaks ties between equal deadlines
	index int    // position in Clock.timers; -1 once fired or stopped (guarded by Clock.mu)

	// With Clock.SetTieBreak, equal deadlines are ordered by popped, then
	// armer ("" first), before seq.
	popped uint64 // timers the clock had taken when this one was armed
	armer  string // the arming goroutine's name; "" for none

	ch  chan time.Time // After, NewTimer, Sleep
	fn  func()         // AfterFunc
	ctx *timerCtx      // the deadline of a context from WithDeadline

	sendMu  sync.Mutex // orders the send on ch against the drain in NewTimer's stop
	stopped bool       // guarded by sendMu; set by stop, no send after it
}

// fire delivers t. The caller must not hold Clock.mu.
func (t *timer) fire() {
	switch {
	case t.ch != nil:
		t.sendMu.Lock()
		if !t.stopped {
			select {
			case t.ch <- t.when:
			default: // capacity 1: a value is already waiting
			}
		}
		t.sendMu.Unlock()
	case t.fn != nil:
		go t.fn()
	case t.ctx != nil:
		t.ctx.cancel(context.DeadlineExceeded)
	}
}

// stopAndDrain makes sure no value is received from t.ch after it returns,
// like Timer.Stop since Go 1.23.
func (t *timer) stopAndDrain() {
	t.sendMu.Lock()
	t.stopped = true
	select {
	case <-t.ch:
	default:
	}
	t.sendMu.Unlock()
}

// timerHeap is a min-heap of pending timers ordered by (when, seq); it
// implements container/heap.Interface.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if c := a.when.Compare(b.when); c != 0 {
		return c < 0
	}
	// Without SetTieBreak every armer is "" and popped grows with seq:
	// these two comparisons never decide, and the order is (when, seq).
	if a.popped != b.popped {
		return a.popped < b.popped
	}
	if a.armer != b.armer {
		return a.armer < b.armer // "" sorts first
	}
	return a.seq < b.seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	n := len(old) - 1
	t := old[n]
	old[n] = nil
	t.index = -1
	*h = old[:n]
	return t
}
