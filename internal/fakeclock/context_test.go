package fakeclock_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

func TestWithTimeout_ExpiresWhenStepReturns(t *testing.T) {
	c := fakeclock.New(t, start)
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	ctx, cancel := c.WithTimeout(parent, time.Second)
	defer cancel()

	if d, ok := ctx.Deadline(); !ok || !d.Equal(at(time.Second)) {
		t.Errorf("Deadline() = %v, %v; want %v, true", d, ok, at(time.Second))
	}
	if err := ctx.Err(); err != nil {
		t.Errorf("Err() before the deadline = %v; want nil", err)
	}
	if got := c.Pending(); got != 1 {
		t.Errorf("Pending() = %d; want 1", got)
	}

	c.Step()

	if err := ctx.Err(); err != context.DeadlineExceeded {
		t.Errorf("Err() when Step returns = %v; want %v", err, context.DeadlineExceeded)
	}
	select {
	case <-ctx.Done():
	default:
		t.Errorf("Done() not closed when Step returns")
	}
	if err := context.Cause(ctx); err != context.DeadlineExceeded {
		t.Errorf("Cause() = %v; want %v", err, context.DeadlineExceeded)
	}
	if got := c.Pending(); got != 0 {
		t.Errorf("Pending() after expiry = %d; want 0", got)
	}
}

func TestWithTimeout_StdChildrenReportDeadlineExceeded(t *testing.T) {
	c := fakeclock.New(t, start)
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	ctx, cancel := c.WithTimeout(parent, time.Second)
	defer cancel()

	before := runtime.NumGoroutine()
	const n = 50
	var children []context.Context
	for range n {
		child, cancelChild := context.WithCancel(ctx)
		defer cancelChild()
		grandchild, cancelGrandchild := context.WithTimeout(child, time.Hour) // real timer, never reached
		defer cancelGrandchild()
		children = append(children, child, grandchild)
	}
	if grown := runtime.NumGoroutine() - before; grown >= n {
		t.Errorf("creating %d children started %d goroutines; want them attached through AfterFunc", n, grown)
	}

	c.Step()

	for i, child := range children {
		if err := child.Err(); err != context.DeadlineExceeded {
			t.Errorf("child %d: Err() when Step returns = %v; want %v", i, err, context.DeadlineExceeded)
		}
		if err := context.Cause(child); err != context.DeadlineExceeded {
			t.Errorf("child %d: Cause() = %v; want %v", i, err, context.DeadlineExceeded)
		}
	}
}

func TestWithTimeout_CancelRemovesTimer(t *testing.T) {
	c := fakeclock.New(t, start)
	ctx, cancel := c.WithTimeout(context.Background(), time.Second)
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()

	cancel()
	cancel() // idempotent

	if got := c.Pending(); got != 0 {
		t.Errorf("Pending() after cancel = %d; want 0", got)
	}
	for name, x := range map[string]context.Context{"ctx": ctx, "child": child} {
		if err := x.Err(); err != context.Canceled {
			t.Errorf("%s.Err() = %v; want %v", name, err, context.Canceled)
		}
		if err := context.Cause(x); err != context.Canceled {
			t.Errorf("Cause(%s) = %v; want %v", name, err, context.Canceled)
		}
	}
	if c.Step() {
		t.Errorf("Step() after cancel = true; want false")
	}
}

func TestWithTimeout_ParentCancelPropagates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		errBoom := errors.New("boom")
		parent, cancelParent := context.WithCancelCause(context.Background())
		ctx, cancel := c.WithTimeout(parent, time.Second)
		defer cancel()
		child, cancelChild := context.WithCancel(ctx)
		defer cancelChild()

		cancelParent(errBoom)
		<-child.Done() // virtual wait: the bubble reports a deadlock if it never closes

		for name, x := range map[string]context.Context{"ctx": ctx, "child": child} {
			if err := x.Err(); err != context.Canceled {
				t.Errorf("%s.Err() = %v; want %v", name, err, context.Canceled)
			}
			if err := context.Cause(x); err != errBoom {
				t.Errorf("Cause(%s) = %v; want %v", name, err, errBoom)
			}
		}
		if got := c.Pending(); got != 0 {
			t.Errorf("Pending() after parent cancel = %d; want 0", got)
		}
	})
}

func TestWithTimeout_ParentAlreadyDone(t *testing.T) {
	c := fakeclock.New(t, start)
	parent, cancelParent := context.WithCancel(context.Background())
	cancelParent()
	ctx, cancel := c.WithTimeout(parent, time.Second)
	defer cancel()
	if err := ctx.Err(); err != context.Canceled {
		t.Errorf("Err() = %v; want %v", err, context.Canceled)
	}
	if got := c.Pending(); got != 0 {
		t.Errorf("Pending() = %d; want 0", got)
	}
}

func TestWithTimeout_FakeParentChainExpiresInOneStep(t *testing.T) {
	c := fakeclock.New(t, start)
	outer, cancelOuter := c.WithTimeout(context.Background(), time.Second)
	defer cancelOuter()
	inner, cancelInner := c.WithTimeout(outer, time.Minute)
	defer cancelInner()
	leaf, cancelLeaf := context.WithCancel(inner)
	defer cancelLeaf()
	if got := c.Pending(); got != 2 {
		t.Fatalf("Pending() = %d; want 2", got)
	}

	c.Step()

	for name, x := range map[string]context.Context{"outer": outer, "inner": inner, "leaf": leaf} {
		if err := x.Err(); err != context.DeadlineExceeded {
			t.Errorf("%s.Err() when Step returns = %v; want %v", name, err, context.DeadlineExceeded)
		}
	}
	if got := c.Pending(); got != 0 {
		t.Errorf("Pending() = %d; want 0: inner's own timer must be removed", got)
	}
	if got, want := c.Now(), at(time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v; want %v", got, want)
	}
}

func TestWithDeadline_ValueAndString(t *testing.T) {
	type key struct{}
	c := fakeclock.New(t, start)
	parent := context.WithValue(context.Background(), key{}, "v")
	ctx, cancel := c.WithDeadline(parent, at(time.Minute))
	defer cancel()
	if got := ctx.Value(key{}); got != "v" {
		t.Errorf("Value() = %v; want %v", got, "v")
	}
	if s := ctx.(interface{ String() string }).String(); s == "" {
		t.Errorf("String() is empty")
	}
}

func TestContextAfterFunc_StopAndLateRegistration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		ctx, cancel := c.WithTimeout(context.Background(), time.Second)
		defer cancel()
		af := ctx.(afterFuncer)

		calls := 0
		stop := af.AfterFunc(func() { calls++ })
		if !stop() {
			t.Errorf("stop() before done = false; want true")
		}
		kept := 0
		af.AfterFunc(func() { kept++ })
		c.Step()
		if calls != 0 || kept != 1 {
			t.Errorf("calls = %d, kept = %d after Step; want 0, 1", calls, kept)
		}

		late := make(chan struct{})
		if af.AfterFunc(func() { close(late) })() {
			t.Errorf("stop() of a late registration = true; want false")
		}
		<-late // started with go since ctx was already done
	})
}

func TestWithTimeout_ConcurrentCancelAndStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		parent, cancelParent := context.WithCancel(context.Background())
		defer cancelParent()
		var ctxs []context.Context
		var cancels []context.CancelFunc
		for range 100 {
			ctx, cancel := c.WithTimeout(parent, time.Second)
			child, cancelChild := context.WithCancel(ctx)
			defer cancelChild()
			ctxs = append(ctxs, child)
			cancels = append(cancels, cancel)
		}
		go func() {
			for _, cancel := range cancels {
				cancel()
			}
		}()
		go func() {
			for c.Step() {
			}
		}()
		for _, ctx := range ctxs {
			<-ctx.Done()
			if err := ctx.Err(); err != context.Canceled && err != context.DeadlineExceeded {
				t.Errorf("Err() = %v; want Canceled or DeadlineExceeded", err)
			}
		}
		synctest.Wait()
		if got := c.Pending(); got != 0 {
			t.Errorf("Pending() = %d; want 0", got)
		}
	})
}

func TestCause_FirstCancellationWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeclock.New(t, start)
		errBoom := errors.New("boom")
		parent, cancelParent := context.WithCancelCause(context.Background())
		ctx, cancel := c.WithTimeout(parent, time.Second)
		defer cancel()
		child, cancelChild := context.WithCancel(ctx)
		defer cancelChild()

		c.Step()              // ctx expires first...
		cancelParent(errBoom) // ...then its parent is cancelled with a cause.
		synctest.Wait()

		for name, x := range map[string]context.Context{"ctx": ctx, "child": child} {
			if err := x.Err(); err != context.DeadlineExceeded {
				t.Errorf("%s.Err() = %v; want %v", name, err, context.DeadlineExceeded)
			}
			if err := context.Cause(x); err != context.DeadlineExceeded {
				t.Errorf("Cause(%s) = %v; want %v", name, err, context.DeadlineExceeded)
			}
		}
	})
}
