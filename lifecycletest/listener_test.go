package lifecycletest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycletest"
)

func TestListener_ServesHTTPInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := lifecycletest.NewListener()
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(3 * time.Second) // virtual: a slow handler takes no real time
			io.WriteString(w, "hello "+r.URL.Path)
		})}
		served := make(chan error)
		go func() { served <- srv.Serve(ln) }()

		start := time.Now()
		resp, err := ln.Client().Get("http://any.example/world")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := resp.Status+" "+string(body), "200 OK hello /world"; got != want {
			t.Errorf("GET = %q; want %q", got, want)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("GET took %v; want 3s of virtual time", got)
		}

		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v; want nil", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v; want http.ErrServerClosed", err)
		}
		if _, err := ln.Client().Get("http://any.example/"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("GET after Shutdown: err = %v; want connection refused", err)
		}
	})
}

func TestListener_AcceptAndDialAfterClose(t *testing.T) {
	ln := lifecycletest.NewListener()
	if err := ln.Close(); err != nil {
		t.Errorf("Close = %v; want nil", err)
	}
	if err := ln.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: err = %v; want net.ErrClosed", err)
	}
	if _, err := ln.Dial(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial after Close: err = %v; want connection refused", err)
	}
	if got := ln.Addr().Network() + " " + ln.Addr().String(); got != "pipe pipe" {
		t.Errorf("Addr = %q; want network and address pipe", got)
	}
}

func TestListener_DialGivesUpWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := lifecycletest.NewListener()
		defer ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := ln.DialContext(ctx, "tcp", "x:80"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("DialContext with nobody accepting: err = %v; want context.DeadlineExceeded", err)
		}
	})
}

func TestListener_ConnCarriesBytesBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := lifecycletest.NewListener()
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				t.Errorf("Accept: %v", err)
				return
			}
			defer c.Close()
			io.Copy(c, c) // echo
		}()
		c, err := ln.Dial()
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		io.WriteString(c, "ping")
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Errorf("echo = %q, %v; want ping, nil", buf, err)
		}
		c.Close()
	})
}
