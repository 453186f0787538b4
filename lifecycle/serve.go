package lifecycle

import (
	"context"
	"errors"
	"time"
)

// Serve is the one call a program's main needs: it runs every registered
// service until ctx is done (a signal, say) or an [Essential] service gives
// up, then shuts them all down in order within timeout, and returns nil
// for a clean run or an error that joins what went wrong: each service
// that gave up (a *[GiveUpError]), each Stop that failed, and each Run or
// Stop abandoned at its deadline.
//
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
//	defer stop()
//	if err := m.Serve(ctx, 10*time.Second); err != nil {
//		log.Fatal(err) // exit non-zero: the orchestrator restarts the process
//	}
//
// The shutdown is the ordered one of [WithOrderedShutdown], whether or not
// that option was given, and begins with the drain of [WithDrain]: each
// service's Run has a context of its own, cancelled in its turn, last
// registered first, so that a server stops taking requests before the
// consumers behind it drain and the database under them closes. Services
// keep running, and failing ones keep being restarted, until their turn.
// ctx's values reach every Run; its cancellation does not, except through
// that shutdown.
//
// Serve returns once the shutdown is over; a Run or Stop abandoned at its
// deadline is left running. It calls [Manager.Run], so it may be called
// only once, and not with Run; a ctx already done at the call starts
// nothing and shuts down at once.
func (m *Manager) Serve(ctx context.Context, timeout time.Duration) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		panic("lifecycle: Manager.Serve called after Run or Serve")
	}
	m.ordered, m.serving = true, true
	m.mu.Unlock()

	// Run on a context of Serve's own: the signal starts the ordered
	// shutdown, which cancels each service in its turn.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	ran := make(chan struct{})
	if ctx.Err() == nil {
		go func() {
			defer close(ran)
			m.Run(runCtx)
		}()
		select {
		case <-ctx.Done():
		case <-m.escalated:
		}
	} else {
		m.mu.Lock()
		m.running = true // as Run would: registration is over
		m.mu.Unlock()
		close(ran)
	}

	rep := m.Shutdown(timeout)

	// Every service's own context is cancelled by now; cancelling Run's
	// lets Run return, at once unless a Run was abandoned.
	cancelRun()
	abandoned := false
	for _, s := range rep.Services {
		abandoned = abandoned || s.RunAbandoned
	}
	if !abandoned {
		<-ran
	}
	return errors.Join(append(m.GaveUp(), rep.Err())...)
}
