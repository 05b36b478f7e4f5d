package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for the run goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve runs the command on path until the returned stop is called, which
// returns run's error.
func serve(t *testing.T, path string) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &stdout, &stderr, []string{"-socket", path}) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "serving on"); {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run ended early: %v; stderr %q", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("run never said it was serving")
		}
		time.Sleep(time.Millisecond)
	}
	return func() error { cancel(); return <-done }
}

func TestRunServesAndRemovesSocket(t *testing.T) {
	path := testsock.Path(t, "up.sock")
	stop := serve(t, path)
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := c.Get("http://docker/v1.41/_ping")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.CloseIdleConnections()
	if string(body) != "OK" {
		t.Errorf("ping body %q; want OK", body)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after exit: %v; want removed", err)
	}
}

func TestRunRemovesStaleSocket(t *testing.T) {
	path := testsock.Path(t, "up.sock")
	// A socket file nobody listens on: bind without listening, then close
	// without unlinking.
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	if err := serve(t, path)(); err != nil {
		t.Errorf("run over a stale socket: %v", err)
	}
}

func TestRunRefuses(t *testing.T) {
	path := testsock.Path(t, "up.sock")
	os.WriteFile(path, []byte("not a socket"), 0o600)
	err := run(context.Background(), io.Discard, io.Discard, []string{"-socket", path})
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("run over a regular file: %v; want an error saying it is not a socket", err)
	}

	live := testsock.Path(t, "live.sock")
	stop := serve(t, live)
	defer stop()
	err = run(context.Background(), io.Discard, io.Discard, []string{"-socket", live})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("run over a live socket: %v; want an error saying it is in use", err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-bogus"}, {"-socket", "/tmp/x.sock", "extra"}} {
		var stderr bytes.Buffer
		err := run(context.Background(), io.Discard, &stderr, args)
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("%q: exit %d; want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "Usage: upstream -socket PATH") {
			t.Errorf("%q: stderr %q; want the usage", args, stderr.String())
		}
	}
	if code := exitCode(run(context.Background(), io.Discard, io.Discard, []string{"-h"}), io.Discard); code != 0 {
		t.Errorf("-h: exit %d; want 0", code)
	}
	var stderr bytes.Buffer
	if code := exitCode(errors.New("boom"), &stderr); code != 1 || stderr.String() != "upstream: boom\n" {
		t.Errorf("error: exit %d, stderr %q; want 1, \"upstream: boom\\n\"", code, stderr.String())
	}
}
