//go:build unix

package lifecycle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// BenchmarkProbe answers the probes for 1,000 running services, beside
// BenchmarkHealth; the bare baseline is the readiness a caller would write
// by hand on States: read them, check each Ready, write "ok".
func BenchmarkProbe(b *testing.B) {
	const services = 1000
	m := lifecycle.NewManager(quiet)
	var started sync.WaitGroup
	started.Add(services)
	for i := range services {
		m.Register(fleetNames[i], parker{&started})
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { m.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()
	started.Wait() // each is ready from its call of Run

	ready, live := lifecycle.ReadinessHandler(m), lifecycle.LivenessHandler(m)
	for _, bc := range []struct {
		name   string
		h      http.Handler
		target string
		accept string
	}{
		{"readyz", ready, "/readyz", ""},
		{"livez", live, "/livez", ""},
		{"readyz_verbose", ready, "/readyz?verbose", ""},
		{"readyz_exclude", ready, "/readyz?exclude=svc-00001&exclude=svc-00002", ""},
		{"readyz_health+json", ready, "/readyz", "application/health+json"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.target, nil)
			if bc.accept != "" {
				req.Header.Set("Accept", bc.accept)
			}
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				bc.h.ServeHTTP(w, req)
			}
		})
	}
	b.Run("bare", func(b *testing.B) {
		w := &discardWriter{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			ok := true
			for _, s := range m.States() {
				ok = ok && s.Ready
			}
			if ok {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusOK)
				w.Write([]byte("ok\n"))
			}
		}
	})
}
