package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"github.com/sockproxylab/sockproxy/internal/upstream"
)

// startSim serves the Docker-shaped simulator on a fresh socket until the
// test ends.
func startSim(t *testing.T) string {
	t.Helper()
	sock := testsock.Path(t, "up.sock")
	s, err := upstream.Start(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return sock
}

// startArgs runs sockproxy with exactly args until the test ends.
func startArgs(t *testing.T, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stderr: &syncBuffer{}, stop: cancel, exit: make(chan int, 1)}
	ready := make(chan net.Addr, 1)
	go func() {
		in.exit <- serve(ctx, args, io.Discard, in.stderr, func(a net.Addr) { ready <- a })
	}()
	select {
	case a := <-ready:
		in.addr = a.String()
	case code := <-in.exit:
		t.Fatalf("sockproxy exited %d before serving: %s", code, in.stderr.String())
	}
	t.Cleanup(func() {
		cancel()
		<-in.exit
		t.Logf("sockproxy stderr:\n%s", in.stderr.String())
	})
	return in
}

// runHealthcheck runs sockproxy -healthcheck with args and returns its
// exit status and output.
func runHealthcheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"-healthcheck"}, args...), &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// TestHealthcheck: 0 when the proxy and the upstream answer; 1, saying
// which is not ready, when the upstream is missing, the proxy is not
// there, or the policy does not grant /_ping. -listen also comes from
// SOCKPROXY_LISTEN, as in a compose file.
func TestHealthcheck(t *testing.T) {
	sock := startSim(t)
	in := start(t, "-socket", sock)
	if code, out := runHealthcheck(t, "-listen", in.addr); code != 0 || !strings.Contains(out, "healthy") {
		t.Errorf("healthy proxy: exit %d, %q; want 0", code, out)
	}
	t.Setenv("SOCKPROXY_LISTEN", in.addr)
	if code, out := runHealthcheck(t); code != 0 {
		t.Errorf("SOCKPROXY_LISTEN: exit %d, %q; want 0", code, out)
	}

	missing := start(t, "-socket", testsock.Path(t, "missing.sock"))
	if code, out := runHealthcheck(t, "-listen", missing.addr); code != 1 || !strings.Contains(out, "proxy up, upstream not ready") {
		t.Errorf("missing upstream: exit %d, %q; want 1 and the upstream named", code, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	if code, out := runHealthcheck(t, "-listen", gone); code != 1 || !strings.Contains(out, "proxy not answering") {
		t.Errorf("no proxy: exit %d, %q; want 1", code, out)
	}

	pol := filepath.Join(t.TempDir(), "list.policy")
	os.WriteFile(pol, []byte("allow ContainerList\n"), 0o644)
	strict := start(t, "-socket", sock, "-policy", pol)
	if code, out := runHealthcheck(t, "-listen", strict.addr); code != 1 || !strings.Contains(out, "SystemPing") {
		t.Errorf("policy without ping: exit %d, %q; want 1 naming SystemPing", code, out)
	}

	if code, _ := runHealthcheck(t, "-listen", in.addr, "-log-format", "yaml"); code != 2 {
		t.Errorf("bad -log-format: exit %d; want 2", code)
	}
}

// TestMetricsAndLogs serves with -metrics, a JSON access log and a
// policy: the scrape parses as Prometheus text and counts the requests
// by operation and decision; every log line is one JSON object; the
// access log has each request; X-Registry-Auth appears in no log line.
func TestMetricsAndLogs(t *testing.T) {
	sock := startSim(t)
	in := start(t, "-socket", sock, "-metrics", "127.0.0.1:0", "-log-format", "json", "-access-log", "-policy", "preset:traefik")
	m := regexp.MustCompile(`metrics on http://([0-9.:]+)/metrics`).FindStringSubmatch(in.stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", in.stderr.String())
	}
	c := newClient(t)
	const secret = "c2VjcmV0LXRva2VuLW5ldmVyLWxvZ2dlZA"
	for _, r := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/_ping", 200},
		{"GET", "/v1.41/containers/json", 200},
		{"POST", "/v1.41/images/create?fromImage=x", 403},
		{"GET", "/_ping", 200},
	} {
		req, _ := http.NewRequest(r.method, "http://"+in.addr+r.path, nil)
		req.Header.Set("X-Registry-Auth", secret)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != r.want {
			t.Errorf("%s %s: %d; want %d", r.method, r.path, res.StatusCode, r.want)
		}
	}
	waitUntil(t, "four access lines", func() bool { return strings.Count(in.stderr.String(), `"msg":"access"`) == 4 })

	res, err := c.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	count := func(name string, want map[string]string) float64 {
		var sum float64
		f := fams[name]
		if f == nil {
			return -1
		}
	next:
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				sum += s.Counter.GetValue()
			case s.Gauge != nil:
				sum += s.Gauge.GetValue()
			}
		}
		return sum
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sockproxy_requests_total", map[string]string{"op": "SystemPing", "decision": "allowed", "code": "200"}, 2},
		{"sockproxy_requests_total", map[string]string{"op": "ContainerList", "decision": "allowed"}, 1},
		{"sockproxy_requests_total", map[string]string{"op": "ImageCreate", "decision": "denied", "code": "403"}, 1},
		{"sockproxy_denials_total", map[string]string{"op": "ImageCreate"}, 1},
		{"sockproxy_upstream_up", nil, 1},
		{"sockproxy_upstream_dials_total", nil, -2}, // present
		{"sockproxy_streams", map[string]string{"kind": "parked"}, 0},
	} {
		got := count(tc.name, tc.labels)
		if tc.want == -2 && got >= 1 || got == tc.want {
			continue
		}
		t.Errorf("%s%v = %v; want %v", tc.name, tc.labels, got, tc.want)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics")
	}

	in.stop()
	in.waitExit(t)
	logs := in.stderr.String()
	if strings.Contains(logs, secret) {
		t.Errorf("the X-Registry-Auth value was logged:\n%s", logs)
	}
	for i, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line %d is not JSON: %q", i+1, line)
			continue
		}
		if rec["msg"] == "access" && rec["op"] == "ImageCreate" && (rec["decision"] != "denied" || rec["status"] != float64(403)) {
			t.Errorf("access line of the refused request: %v", rec)
		}
	}
	if !strings.Contains(logs, `"level":"WARN","msg":"proxy: denied`) {
		t.Errorf("no audit line at WARN:\n%s", logs)
	}
}

// TestUnixListener: -listen unix:PATH replaces a stale socket left by a
// previous run, and gets -listen-mode and -listen-group; the healthcheck
// reaches it.
func TestUnixListener(t *testing.T) {
	sock := startSim(t)
	path := testsock.Path(t, "front.sock")
	// A stale socket: bound, then closed without unlinking.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	gid := strconv.Itoa(os.Getgid())
	startArgs(t, "-listen", "unix:"+path, "-socket", sock, "-listen-mode", "0660", "-listen-group", gid)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o660 {
		t.Errorf("socket mode %#o; want 0660", got)
	}
	if code, out := runHealthcheck(t, "-listen", "unix:"+path); code != 0 {
		t.Errorf("healthcheck over unix: exit %d, %q", code, out)
	}

	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-listen", "unix:" + path, "-socket", sock, "-listen-mode", "888"}, io.Discard, &stderr); code != 2 {
		t.Errorf("-listen-mode 888: exit %d; want 2", code)
	}
}
