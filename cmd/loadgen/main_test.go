package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"go.uber.org/goleak"
	"golang.org/x/perf/benchfmt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func servePing(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("unix", testsock.Path(t, "up.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "OK")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return "unix://" + ln.Addr().String()
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-scenario", "ping"},
		{"-target", "ftp://x", "-scenario", "ping"},
		{"-target", "unix:///x.sock", "-scenario", "nope"},
		{"-target", "unix:///x.sock", "-scenario", "ping", "-d", "1s", "-n", "5"},
		{"-target", "unix:///x.sock", "-scenario", "ping", "-format", "xml"},
		{"-target", "unix:///x.sock", "-scenario", "ping", "-size", "12QiB"},
		{"-target", "unix:///x.sock", "-scenario", "mix", "-mix", "events=1"},
		{"-target", "unix:///x.sock", "-scenario", "ping", "-mix", "ping=1"},
		{"-target", "unix:///x.sock", "-scenario", "events", "-rate", "10"},
		{"-target", "unix:///x.sock", "-scenario", "ping", "-name", "a/b"},
		{"-target", "unix:///x.sock", "-scenario", "ping", "-c", "0"},
		{"-target", "unix:///x.sock", "-scenario", "ping", "extra"},
		{"-target", "unix:///x.sock", "-scenario", "save", "-size", "1MiB"},
		{"-bogus"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("run(%q) = %d; want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "usage: loadgen") && !strings.Contains(stderr.String(), "-target") {
			t.Errorf("run(%q): stderr has no usage:\n%s", args, stderr.String())
		}
	}
}

func TestRun(t *testing.T) {
	url := servePing(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-target", url, "-scenario", "ping", "-n", "50", "-c", "2", "-format", "bench"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; want 0; stderr:\n%s", code, stderr.String())
	}
	r := benchfmt.NewReader(&stdout, "stdout")
	n := 0
	for r.Scan() {
		if res, ok := r.Result().(*benchfmt.Result); ok {
			n++
			if got, want := res.Name.String(), "Loadgen/target=direct/scenario=ping/conc=2"; got != want {
				t.Errorf("name %q; want %q", got, want)
			}
			if res.Iters != 50 {
				t.Errorf("iters %d; want 50", res.Iters)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d results; want 1", n)
	}
}

func TestExitOnErrors(t *testing.T) {
	args := []string{"-target", "unix:///nonexistent/x.sock", "-scenario", "ping", "-n", "3", "-c", "1"}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d; want 1 (requests failed)", code)
	}
	if !strings.Contains(stdout.String(), "connect 3") {
		t.Errorf("text report does not count 3 connect errors:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := run(context.Background(), append(args, "-allow-errors"), &stdout, &stderr); code != 0 {
		t.Errorf("with -allow-errors: exit %d; want 0", code)
	}
}
