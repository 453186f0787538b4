package lifecycletest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// Listener is an in-memory [net.Listener]: each dial makes a [net.Pipe]
// and hands one end to Accept. It lets a test serve HTTP (or any protocol
// over net.Conn) without a socket, and so inside a testing/synctest
// bubble, where a goroutine blocked on a real socket is never idle and
// synctest.Wait would not return. Connections block on channels only, so
// a server and its client parked on them are durably blocked.
//
// Create it with [NewListener], inside the bubble if the test runs in one.
// It is safe for concurrent use.
type Listener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

var _ net.Listener = (*Listener)(nil)

// NewListener returns a Listener that accepts connections until it is
// closed.
func NewListener() *Listener {
	return &Listener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept waits for a dial and returns the server's end of its pipe. Once
// the listener is closed it returns an error matching [net.ErrClosed], as
// a closed TCP listener does, so that http.Server.Serve ends.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close closes the listener: Accept and every later dial fail. Connections
// already made are not closed. Close may be called more than once.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr returns the listener's address, whose network and string are both
// "pipe".
func (l *Listener) Addr() net.Addr { return pipeAddr{} }

// Dial connects to the listener; see [Listener.DialContext].
func (l *Listener) Dial() (net.Conn, error) {
	return l.DialContext(context.Background(), "pipe", "pipe")
}

// DialContext connects to the listener, whatever network and addr say: it
// returns the client's end of a pipe once Accept has taken the other end.
// It fails with an error matching syscall.ECONNREFUSED once the listener
// is closed, as a dial to a port nobody listens on does, or with ctx.Err()
// once ctx is done. Its signature is that of [http.Transport.DialContext].
func (l *Listener) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	var err error
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		err = &net.OpError{Op: "dial", Net: network, Addr: pipeAddr{},
			Err: fmt.Errorf("listener closed: %w", syscall.ECONNREFUSED)}
	case <-ctx.Done():
		err = ctx.Err()
	}
	client.Close()
	server.Close()
	return nil, err
}

// Client returns an HTTP client whose requests, to any URL, are sent to
// the listener. It keeps no connection alive between requests, so that no
// idle connection outlives the test (a synctest bubble ends only once all
// its goroutines have). Each call returns a new client.
func (l *Listener) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: l.DialContext, DisableKeepAlives: true}}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
