package e2e

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sockproxylab/sockproxy/proxy"
)

// modes lists the targets every test runs against, in order: "direct", the
// engine's own socket with no proxy in between (the floor; a failure there
// is the engine's or the test's, not a proxy's), then every proxy mode over
// the std transport, then every mode that accepts it over the raw transport
// as "NAME/transport=raw" (so subtests read mode=NAME/transport=raw/STEP);
// the pairs are proxy.Setups().
//
// This, setupOf and startTarget are the one place that knows about the
// proxy.
func modes() []string {
	m := []string{"direct"}
	var raw []string
	for _, s := range proxy.Setups() {
		if s.Transport == proxy.TransportStd {
			m = append(m, s.Mode)
		} else {
			raw = append(raw, s.Mode+"/transport="+s.Transport)
		}
	}
	return append(m, raw...)
}

// setupOf returns the proxy setup of a modes() entry other than "direct":
// a bare mode name is over the std transport.
func setupOf(mode string) proxy.Setup {
	name, transport, ok := strings.Cut(mode, "/transport=")
	if !ok {
		transport = proxy.TransportStd
	}
	return proxy.Setup{Mode: name, Transport: transport}
}

// forEachMode runs f as the subtest "mode=NAME" of t for every mode, all at
// once: the steps mostly wait on the engine (container starts), so running
// the modes side by side keeps the suite's wall time near one mode's even on
// two cores. (t.Parallel would cap them at -parallel, GOMAXPROCS by default.)
func forEachMode(t *testing.T, f func(t *testing.T, mode string)) {
	var wg sync.WaitGroup
	for _, mode := range modes() {
		wg.Go(func() {
			t.Run("mode="+mode, func(t *testing.T) { f(t, mode) })
		})
	}
	wg.Wait()
}

// startTarget serves mode for the rest of t and returns the address a
// docker client uses to reach it, as a DOCKER_HOST value.
func startTarget(t *testing.T, mode string) string {
	t.Helper()
	if mode == "direct" {
		return engine.Host()
	}
	h, err := proxy.New(proxy.Config{Mode: setupOf(mode).Mode, Transport: setupOf(mode).Transport, Socket: engine.Socket(), ErrorLog: log.New(newTestLog(t), "proxy: ", 0)})
	if err != nil {
		t.Fatalf("proxy.New(%q): %v", mode, err)
	}
	t.Cleanup(h.CloseIdleConnections) // runs after serve's cleanup: the server is closed first
	return serve(t, h)
}

// serve serves h on a fresh 127.0.0.1 listener until t ends and returns its
// address as a DOCKER_HOST value.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close() // hijacked streams are the proxy's to end; goleak in TestMain checks it did
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve %s: %v", ln.Addr(), err)
		}
	})
	return "tcp://" + ln.Addr().String()
}

// testLog sends a proxy's error log to t.Log while t runs, and to stderr
// after: a handler goroutine may still log once the server is closed, when
// t.Log would panic.
type testLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newTestLog(t *testing.T) *testLog {
	w := &testLog{t: t}
	t.Cleanup(func() { // registered first, so it runs last
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	line := strings.TrimRight(string(p), "\n")
	if w.done {
		fmt.Fprintf(os.Stderr, "%s (after the test ended): %s\n", w.t.Name(), line)
	} else {
		w.t.Log(line)
	}
	return len(p), nil
}
