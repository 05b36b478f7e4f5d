package e2e

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// modes lists the targets every test runs against, in order: "direct", the
// engine's own socket with no proxy in between (the floor; a failure there
// is the engine's or the test's, not a proxy's), then every proxy mode.
//
// This and startTarget are the one place that knows about the proxy.
func modes() []string {
	// The proxy package is not on main yet: once it is, this becomes
	//	return append([]string{"direct"}, proxy.Modes()...)
	return []string{"direct"}
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
	// Once the proxy package is on main:
	//	h, err := proxy.New(proxy.Config{Socket: engine.Socket(), Mode: mode, ErrorLog: log.New(testWriter{t}, "", 0)})
	//	if err != nil {
	//		t.Fatalf("proxy.New(%q): %v", mode, err)
	//	}
	//	return serve(t, h)
	t.Fatalf("startTarget(%q): the proxy package is not wired in yet", mode)
	return ""
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
		srv.Close() // also closes the hijacked streams' listeners; hijacked conns are the handler's
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve %s: %v", ln.Addr(), err)
		}
	})
	return "tcp://" + ln.Addr().String()
}

// testWriter sends a proxy's error log to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
