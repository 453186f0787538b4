package fakeclock_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
	"github.com/lifecyclesim/lifecycle/lifecycle"
)

var (
	_ lifecycle.Clock      = (*fakeclock.Clock)(nil)
	_ lifecycle.TimerClock = (*fakeclock.Clock)(nil)
	_ fakeclock.TB         = (testing.TB)(nil)
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start is the fake time every test begins at.
var start = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns start plus d.
func at(d time.Duration) time.Time { return start.Add(d) }

// recordTB is a fakeclock.TB that records Fatalf messages and returns, so
// the clock's own panic stops the caller.
type recordTB struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordTB) Helper() {}

func (r *recordTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recordTB) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// expectMisuse runs f, which must report exactly one misuse through tb and
// then panic with the same message; it returns the message.
func expectMisuse(t *testing.T, tb *recordTB, f func()) string {
	t.Helper()
	var recovered any
	returned := false
	func() {
		defer func() { recovered = recover() }()
		f()
		returned = true
	}()
	if returned {
		t.Fatalf("misuse returned normally; want it to stop the caller")
	}
	msgs := tb.messages()
	if len(msgs) != 1 {
		t.Fatalf("Fatalf called %d times (%q); want 1", len(msgs), msgs)
	}
	if recovered != msgs[0] {
		t.Errorf("panic value %#v; want the Fatalf message %q", recovered, msgs[0])
	}
	if !strings.HasPrefix(msgs[0], "fakeclock: ") {
		t.Errorf("message %q; want prefix %q", msgs[0], "fakeclock: ")
	}
	return msgs[0]
}

// ready reports whether ch holds a value, and receives it.
func ready(ch <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		return time.Time{}, false
	}
}

// afterFuncer is the AfterFunc method of the clock's contexts.
type afterFuncer interface {
	AfterFunc(f func()) (stop func() bool)
}
