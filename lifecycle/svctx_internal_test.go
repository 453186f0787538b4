package lifecycle

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestServiceCtx_DoneOnceMadeStaysTheSameAndCloses(t *testing.T) {
	c := &serviceCtx{parent: context.Background()}
	d := c.Done()
	if c.Done() != d {
		t.Fatal("Done returned another channel the second time")
	}
	c.cancel(context.Canceled)
	select {
	case <-d:
	default:
		t.Fatal("Done's channel not closed by cancel")
	}
	if c.Done() != d {
		t.Error("Done returned another channel once cancelled")
	}
}

func TestServiceCtx_CancelledBeforeDoneIsAskedForGivesAClosedChannel(t *testing.T) {
	c := &serviceCtx{parent: context.Background()}
	c.cancel(context.DeadlineExceeded)
	select {
	case <-c.Done():
	default:
		t.Fatal("Done of a context cancelled before anyone asked is not closed")
	}
	c.cancel(context.Canceled) // a second cancel changes nothing
	if c.Err() != context.DeadlineExceeded || context.Cause(c) != context.DeadlineExceeded {
		t.Errorf("Err %v, Cause %v; want the first cancel's DeadlineExceeded", c.Err(), context.Cause(c))
	}
}

func TestServiceCtx_AfterFuncOnACancelledContextRunsAtOnce(t *testing.T) {
	// Called on a context already cancelled, f runs at once, on its own
	// goroutine (the context package calls AfterFunc holding a lock f
	// takes), and stop has nothing to stop.
	c := &serviceCtx{parent: context.Background()}
	c.cancel(context.Canceled)
	ran := make(chan struct{})
	stop := c.AfterFunc(func() { close(ran) })
	<-ran
	if stop() {
		t.Error("stop reported true for a function already called")
	}
	// And a context derived from it is born cancelled.
	child, cancel := context.WithCancel(c)
	defer cancel()
	if !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("derived context's Err %v; want Canceled", child.Err())
	}
}

func TestServiceCtx_StringNamesItsParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &serviceCtx{parent: parent}
	if s := c.String(); !strings.HasPrefix(s, "context.Background.WithCancel") || !strings.HasSuffix(s, "lifecycle.ServiceContext") {
		t.Errorf("String() = %q; want Run's context's name, then lifecycle.ServiceContext", s)
	}
	if s := (&serviceCtx{parent: struct{ context.Context }{context.Background()}}).String(); s != "lifecycle.ServiceContext" {
		t.Errorf("String() with a parent that has no String = %q", s)
	}
}
