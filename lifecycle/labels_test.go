package lifecycle_test

import (
	"bytes"
	"context"
	"runtime/pprof"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

func TestGoroutineLabels_NameTheServiceAndItsStop(t *testing.T) {
	// Issue 9: a goroutine dump shows whose goroutine hung.
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := lifecycle.NewManager(quiet, lifecycle.WithGoroutineLabels())
		m.Register("stuck-db", stopRunFunc{
			run:  func(ctx context.Context) error { <-ctx.Done(); return nil },
			stop: func(context.Context) error { <-release; return nil },
		})
		m.Register("worker", runFunc(func(ctx context.Context) error {
			go func() { <-release }() // a goroutine the service starts inherits the label
			<-ctx.Done()
			return nil
		}))
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		synctest.Wait()
		m.Shutdown(time.Second) // stuck-db's Stop is abandoned, still running
		var dump bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&dump, 1); err != nil {
			t.Fatal(err)
		}
		text := dump.String()
		for _, want := range []string{`"lifecycle_service":"stuck-db"`, `"lifecycle_service":"worker"`} {
			if !strings.Contains(text, want) {
				t.Errorf("goroutine dump lacks %s", want)
			}
		}
		close(release)
		cancel()
		<-ran
	})
}

func TestGoroutineLabels_OffByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := lifecycle.NewManager(quiet)
		m.Register("svc", idle{})
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		synctest.Wait()
		var dump bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
		if strings.Contains(dump.String(), "lifecycle_service") {
			t.Errorf("labels without WithGoroutineLabels")
		}
		cancel()
		<-ran
	})
}
