package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// imageRef is the tag TestImage builds and removes.
const imageRef = "lab/sockproxy:e2e"

// TestImage builds the container image with `make image` through the
// sandboxed engine (DOCKER_HOST), runs it there as people run socket
// proxies — non-root with the socket's group, read-only root filesystem,
// --network none, configured only by environment variables (Tecnativa's
// CONTAINERS=1, IMAGES=1, INFO=1), listening on a Unix socket in a
// bind-mounted directory, metrics on another — and checks that dockerd
// reports its HEALTHCHECK healthy, that the docker CLI and the Go SDK work
// through it where the policy allows and get dockerd's 403 where it does
// not, and that the metrics endpoint parses as Prometheus text and counts
// those requests.
func TestImage(t *testing.T) {
	if engine.Attached() {
		t.Skip("the image is built and run only in the sandboxed dockerd (an attached engine may not run it)")
	}
	start := time.Now()
	if err := waitImage(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dockerRun(CommandTimeout, dockerBin, "rmi", "-f", imageRef) })
	built := time.Since(start)
	run := dockerRun

	// The directory the client mounts: the proxy's socket and metrics.
	dir, err := os.MkdirTemp("", "spi-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777) // the proxy runs as 65534
	front := filepath.Join(dir, "docker.sock")
	metricsSock := filepath.Join(dir, "metrics.sock")

	fi, err := os.Stat(engine.Socket())
	if err != nil {
		t.Fatal(err)
	}
	gid := fi.Sys().(*syscall.Stat_t).Gid
	name := fmt.Sprintf("sockproxy-e2e-%d", os.Getpid())
	id, err := run(CommandTimeout, dockerBin, "run", "-d", "--name", name,
		"--network", "none", "--read-only", "--group-add", fmt.Sprint(gid),
		"--health-interval", "1s", "--health-start-period", "30s",
		"-v", engine.Socket()+":/var/run/docker.sock",
		"-v", dir+":/run/sockproxy",
		"-e", "SOCKPROXY_LISTEN=unix:/run/sockproxy/docker.sock",
		"-e", "SOCKPROXY_LISTEN_MODE=0666",
		"-e", "SOCKPROXY_METRICS=unix:/run/sockproxy/metrics.sock",
		"-e", "SOCKPROXY_ACCESS_LOG=true",
		"-e", "SOCKPROXY_LOG_FORMAT=json",
		"-e", "CONTAINERS=1", "-e", "IMAGES=1", "-e", "INFO=1",
		imageRef)
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(id)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := run(CommandTimeout, dockerBin, "logs", id)
			t.Logf("sockproxy container log:\n%s", logs)
		}
		run(CommandTimeout, dockerBin, "rm", "-f", id)
	})

	// dockerd runs the image's HEALTHCHECK (sockproxy -healthcheck) every
	// second; wait for its verdict.
	deadline := time.Now().Add(CommandTimeout)
	var health string
	for time.Now().Before(deadline) {
		out, err := run(CommandTimeout, dockerBin, "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", id)
		if err != nil {
			t.Fatal(err)
		}
		health = strings.TrimSpace(out)
		if health == "running healthy" || strings.HasPrefix(health, "exited") || strings.HasSuffix(health, "unhealthy") {
			break
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not synchronisation
	}
	if health != "running healthy" {
		out, _ := run(CommandTimeout, dockerBin, "inspect", "-f", "{{json .State.Health}}", id)
		t.Fatalf("container state %q; want running healthy (health log: %s)", health, out)
	}
	healthy := time.Since(start)

	// The docker CLI through the proxy's socket.
	host := "unix://" + front
	for _, args := range [][]string{{"version"}, {"info"}, {"ps", "-a"}, {"images"}} {
		if _, err := run(CommandTimeout, dockerBin, append([]string{"-H", host}, args...)...); err != nil {
			t.Errorf("through the image: %v", err)
		}
	}
	out, err := run(CommandTimeout, dockerBin, "-H", host, "run", "--rm", "--network", "none", img, "true")
	if err == nil || !strings.Contains(out, "not granted") {
		t.Errorf("docker run through a CONTAINERS=1 proxy: %v, %q; want refused as not granted", err, out)
	}

	// The Go SDK.
	cl, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sctx, scancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer scancel()
	if _, err := cl.Ping(sctx, client.PingOptions{}); err != nil {
		t.Errorf("SDK ping: %v", err)
	}
	list, err := cl.ContainerList(sctx, client.ContainerListOptions{All: true})
	if err != nil {
		t.Errorf("SDK container list: %v", err)
	} else if !containsID(list, id) {
		t.Errorf("SDK container list lacks the proxy's own container %s", id[:12])
	}
	if _, err := cl.ContainerKill(sctx, id, client.ContainerKillOptions{}); err == nil || !strings.Contains(err.Error(), "not granted") {
		t.Errorf("SDK kill through the proxy: %v; want refused", err)
	}

	// The metrics, scraped over their socket and parsed.
	fams := scrapeUnix(t, metricsSock)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"sockproxy_requests_total", map[string]string{"op": "ContainerList", "decision": "allowed", "code": "200"}, 2},
		{"sockproxy_requests_total", map[string]string{"op": "SystemPing", "decision": "allowed"}, 1}, // the healthchecks
		{"sockproxy_requests_total", map[string]string{"decision": "denied", "code": "403"}, 2},
		{"sockproxy_denials_total", map[string]string{"op": "ContainerKill"}, 1},
		{"sockproxy_upstream_up", nil, 1},
		{"sockproxy_upstream_dials_total", nil, 1},
		{"sockproxy_build_info", nil, 1},
	} {
		if got := sum(fams, tc.name, tc.labels); got < tc.min {
			t.Errorf("%s%v = %v; want ≥ %v", tc.name, tc.labels, got, tc.min)
		}
	}
	// A named volume mounted at /run/sockproxy starts out as the image's
	// directory: writable by the proxy's user (what the compose example
	// relies on).
	vol := name + "-run"
	if _, err := run(CommandTimeout, dockerBin, "run", "--rm", "--network", "none", "-v", vol+":/run/sockproxy", imageRef, "-version"); err != nil {
		t.Error(err)
	} else {
		t.Cleanup(func() { run(CommandTimeout, dockerBin, "volume", "rm", "-f", vol) })
		out, err := run(CommandTimeout, dockerBin, "run", "--rm", "--network", "none", "-v", vol+":/x", img, "stat", "-c", "%u:%g %a", "/x")
		if err != nil || strings.TrimSpace(out) != "65534:65534 755" {
			t.Errorf("named volume at /run/sockproxy: %q, %v; want 65534:65534 755", out, err)
		}
	}

	t.Logf("waited %v for the image (built in %v, alongside the other tests), healthy after %v more, whole test %v",
		built.Round(time.Millisecond), imageTook.Round(time.Millisecond), (healthy - built).Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
}

var (
	imageDone = make(chan struct{})
	imageErr  error
	imageTook time.Duration
)

// startImageBuild runs `make image` through the sandboxed engine in the
// background, so that the build (mostly compiling the static binary)
// overlaps TestCLI and TestSDK, which mostly wait on the engine. It runs
// with -p=1 to leave them a core. TestImage waits for it.
func startImageBuild() {
	if engine.Attached() {
		close(imageDone)
		return
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		if re, err := regexp.Compile(f.Value.String()); err != nil || !re.MatchString("TestImage") {
			close(imageDone)
			return
		}
	}
	go func() {
		defer close(imageDone)
		t0 := time.Now()
		gobin, err := goBin()
		if err == nil {
			_, err = dockerRun(10*time.Minute, "make", "image", "IMAGE="+imageRef, "GO="+gobin, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -p=1"))
		}
		imageErr, imageTook = err, time.Since(t0)
	}()
}

// waitImage waits for the build startImageBuild started.
func waitImage() error {
	<-imageDone
	if imageTook == 0 && imageErr == nil {
		return fmt.Errorf("the image build did not run")
	}
	return imageErr
}

// dockerRun runs name args in the repository's root with dockerEnv's
// environment under timeout, and returns its combined output.
func dockerRun(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = dockerEnv()
	cmd.Dir = ".."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out.String()))
	}
	return out.String(), err
}

// dockerEnv is the caller's environment without DOCKER_* variables, with
// DOCKER_HOST naming the sandboxed engine and a fresh DOCKER_CONFIG.
func dockerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	cfg := filepath.Join(engine.Dir(), "image-cli") // removed with the engine
	os.MkdirAll(cfg, 0o700)
	return append(env, "DOCKER_HOST="+engine.Host(), "DOCKER_CONFIG="+cfg, "DOCKER_CLI_HINTS=false", "DOCKER_BUILDKIT=0")
}

// goBin is the go command for make's GO.
func goBin() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no go command for make image: %w", err)
	}
	return p, nil
}

func containsID(list client.ContainerListResult, id string) bool {
	for _, c := range list.Items {
		if c.ID == id {
			return true
		}
	}
	return false
}

// scrapeUnix GETs /metrics over the Unix socket path and parses it.
func scrapeUnix(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: CommandTimeout}
	res, err := c.Get("http://sockproxy/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// sum adds the values of family name's samples whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	var s float64
next:
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			s += m.Counter.GetValue()
		case m.Gauge != nil:
			s += m.Gauge.GetValue()
		}
	}
	return s
}
