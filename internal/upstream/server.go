package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Server is the simulator listening on a Unix socket.
type Server struct {
	path   string
	srv    *http.Server
	t      *tracker
	cancel context.CancelFunc
	served chan struct{} // closed when Serve has returned

	closeOnce sync.Once
	closeErr  error
}

// Start listens on the Unix socket socketPath and serves the simulator in
// the background until Close. The socket must not exist.
func Start(socketPath string) (*Server, error) {
	ln, err := net.Listen("unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("upstream: listen on %s: %w", socketPath, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		path:   socketPath,
		t:      &tracker{conns: make(map[net.Conn]struct{})},
		cancel: cancel,
		served: make(chan struct{}),
	}
	s.srv = &http.Server{
		Handler:     &handler{t: s.t},
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Path returns the socket path the server listens on.
func (s *Server) Path() string { return s.path }

// Close stops the server: it closes the listener (removing the socket),
// every connection including hijacked ones, wakes handlers that are
// sleeping, and returns once every handler has returned. Later calls
// return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.t.close()
		s.cancel()
		err := s.srv.Close()
		<-s.served
		s.t.wg.Wait()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = fmt.Errorf("upstream: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// tracker counts running handlers and holds hijacked connections, which
// http.Server.Close neither waits for nor closes.
type tracker struct {
	mu     sync.RWMutex // read-locked per request, write-locked for conns and closing
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// enter registers a running handler; false means the server is closing.
func (t *tracker) enter() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

// leave ends what enter began.
func (t *tracker) leave() { t.wg.Done() }

// addConn registers a hijacked connection; false means the server is
// closing and the caller must close c.
func (t *tracker) addConn(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

// removeConn forgets a hijacked connection its handler is done with.
func (t *tracker) removeConn(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// close refuses new handlers and closes every hijacked connection.
func (t *tracker) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	clear(t.conns)
}
