package soak

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/upstream"
)

// testSlowEvery paces the slow readers of these tests: fast, so that they
// read a few dozen bytes in a fraction of a second. No assertion depends
// on it.
const testSlowEvery = 2 * time.Millisecond

// waitUntil polls cond every 5 ms until it holds or 10 s have passed.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSlowReaders holds slow readers of both SlowPaths against the
// simulator: each must keep reading, and Close must not count them as
// broken.
func TestSlowReaders(t *testing.T) {
	srv := httptest.NewServer(upstream.NewHandler())
	defer srv.Close()
	s, err := OpenSlow(context.Background(), srv.Listener.Addr().String(), 4, testSlowEvery)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // before srv.Close, which waits for the handlers
	waitUntil(t, "each slow reader to read 20 bytes", func() bool {
		for _, n := range s.Bytes() {
			if n < 20 {
				return false
			}
		}
		return true
	})
	if n := s.Count(); n != 4 {
		t.Errorf("Count = %d; want 4", n)
	}
	s.Close()
	if err := s.Err(); err != nil {
		t.Errorf("Err after Close = %v; want nil", err)
	}
	if got := slowSummary(s.Bytes(), 4, testSlowEvery); !strings.HasPrefix(got, "4 of 4 slow readers still reading") {
		t.Errorf("summary %q; want it to start with 4 of 4 still reading", got)
	}
}

// TestSlowReadersBroken has the server end each body early: every reader
// must count as broken, with an error naming it and the proxy's side.
func TestSlowReadersBroken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, "short") // then the handler returns: the body ends 995 bytes short
	}))
	defer srv.Close()
	s, err := OpenSlow(context.Background(), srv.Listener.Addr().String(), 2, testSlowEvery)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitUntil(t, "both slow readers to break", func() bool { return s.Count() == 0 })
	err = s.Err()
	for _, want := range []string{"slow reader 0 (GET /images/lab/big/get?size=1GiB) broke after 5 body bytes", "slow reader 1 (GET /_lab/blob?size=1GiB)", "read from 127.0.0.1:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Err = %v; want it to contain %q", err, want)
		}
	}
}

// TestSlowReadersNot200 has the server refuse: OpenSlow must fail naming
// the status and leave nothing open (TestMain checks for goroutines).
func TestSlowReadersNot200(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	s, err := OpenSlow(context.Background(), srv.Listener.Addr().String(), 3, testSlowEvery)
	if err == nil || !strings.Contains(err.Error(), "404 Not Found; want 200") || !strings.Contains(err.Error(), "3 of 3 slow readers") {
		t.Errorf("OpenSlow = %v, %v; want an error naming 404 for 3 of 3 readers", s, err)
	}
	if s != nil {
		s.Close()
	}
}

// TestRunSlow runs a short soak of this test process with streams and
// slow readers against the simulator: the summary must report the slow
// readers still reading, and the CSV must carry their count.
func TestRunSlow(t *testing.T) {
	srv := httptest.NewServer(upstream.NewHandler())
	defer srv.Close()
	cfg := Config{
		Target: srv.Listener.Addr().String(), PID: os.Getpid(), Streams: 2, Slow: 2, SlowEvery: testSlowEvery,
		Duration: 100 * time.Millisecond, Every: 20 * time.Millisecond, CSV: filepath.Join(t.TempDir(), "soak.csv"),
		Limits: DefaultLimits,
	}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("Run = %v; output:\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "soak: 2 of 2 slow readers still reading at the end") {
		t.Errorf("output:\n%s\nwant a line saying 2 of 2 slow readers still reading", &out)
	}
	csv, err := os.ReadFile(cfg.CSV)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, ",2,2") {
		t.Errorf("last CSV row %q; want 2 streams and 2 slow readers", last)
	}
}
