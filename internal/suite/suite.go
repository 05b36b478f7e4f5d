package suite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// A Scenario is one loadgen run shape.
type Scenario struct {
	Name string // loadgen -scenario
	Size string // loadgen -size, "" for none
	Conc int    // loadgen -c
}

// Args returns the loadgen flags for s.
func (s Scenario) Args() []string {
	a := []string{"-scenario", s.Name, "-c", strconv.Itoa(s.Conc)}
	if s.Size != "" {
		a = append(a, "-size", s.Size)
	}
	return a
}

func (s Scenario) String() string {
	if s.Size != "" {
		return fmt.Sprintf("%s/size=%s/conc=%d", s.Name, s.Size, s.Conc)
	}
	return fmt.Sprintf("%s/conc=%d", s.Name, s.Conc)
}

// bulk reports whether s moves big bodies (reported per GiB) rather than
// many small requests (reported per request).
func (s Scenario) bulk() bool { return s.Name == "blob" || s.Name == "chunked" || s.Name == "save" }

// DefaultScenarios is the suite's default share of `make bench`.
var DefaultScenarios = []Scenario{
	{Name: "ping", Conc: 16},
	{Name: "json", Size: "1536B", Conc: 16},
	{Name: "blob", Size: "64MiB", Conc: 4},
	{Name: "chunked", Size: "64MiB", Conc: 4},
}

// DockerScenarios is the default against a real dockerd, which has no
// /_lab/blob and no sized image saves: /_ping, the loadgen `docker` mix of
// real API reads, and `save`, a real `docker save` of the 128 MiB lab/big
// image (two at a time: dockerd spends more CPU building the tar than a
// proxy relaying it, and the machine may have 2 cores).
var DockerScenarios = []Scenario{
	{Name: "ping", Conc: 16},
	{Name: "docker", Conc: 16},
	{Name: "save", Conc: 2},
}

// Config says what the suite runs.
type Config struct {
	Socket     string   // the upstream Unix socket (already serving)
	Loadgen    string   // path of the loadgen binary
	Sockproxy  string   // path of the sockproxy binary
	Strategies []string // sockproxy -strategy values to run, one process each per transport
	// Transports are the sockproxy -transport values each strategy runs
	// with ("std", "raw"; nil means std only). stdlib-default runs with
	// std only: it is Go's default transport by definition.
	Transports []string
	Peers      []string // among socat, haproxy, nginx; missing ones are skipped with a line
	Scenarios  []Scenario
	Rounds     int
	Duration   time.Duration // loadgen -d per run
	Streams    int           // idle /events streams for the memory measure; 0 skips it
	// LoadgenCPUs and ProxyCPUs are taskset CPU lists ("" leaves a process
	// unpinned).
	LoadgenCPUs, ProxyCPUs string
	Dir                    string    // scratch dir for configs and logs
	Out                    io.Writer // benchfmt: loadgen's output, augmented
	Log                    io.Writer // progress
}

// Run starts every target, runs the scenarios against all of them
// interleaved (round by round, target after target), measures memory per
// idle stream, and stops the targets.
func Run(ctx context.Context, cfg Config) error {
	targets := []*Target{{Name: "direct", URL: "unix://" + cfg.Socket}}
	defer func() {
		for _, t := range targets {
			t.Stop()
		}
	}()
	maxConns := 4 * max(cfg.Streams, 1024)
	transports := cfg.Transports
	if len(transports) == 0 {
		transports = []string{"std"}
	}
	for _, st := range cfg.Strategies {
		for _, tr := range transports {
			if tr == "raw" && st == "stdlib-default" {
				continue
			}
			t, err := startSockproxy(ctx, cfg.Sockproxy, cfg.Socket, st, tr, cfg.ProxyCPUs, cfg.Dir, maxConns)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		}
	}
	for _, peer := range cfg.Peers {
		start := map[string]func(context.Context, string, string, string) (*Target, error){
			"socat": startSocat, "haproxy": startHAProxy, "nginx": startNginx,
		}[peer]
		if start == nil {
			return fmt.Errorf("suite: unknown peer %q", peer)
		}
		t, err := start(ctx, cfg.Socket, cfg.ProxyCPUs, cfg.Dir)
		if errors.Is(err, errMissing) {
			fmt.Fprintf(cfg.Log, "suite: %s is not installed; skipping it\n", peer)
			continue
		}
		if err != nil {
			return fmt.Errorf("suite: %w", err)
		}
		targets = append(targets, t)
	}

	// One short unrecorded run per target and scenario warms caches,
	// connection pools and the Go runtime.
	for _, sc := range cfg.Scenarios {
		for _, t := range targets {
			if _, err := loadgen(ctx, cfg, t, sc, []string{"-n", strconv.Itoa(2 * sc.Conc)}); err != nil {
				return err
			}
		}
	}
	for round := 1; round <= cfg.Rounds; round++ {
		for _, sc := range cfg.Scenarios {
			for _, t := range targets {
				fmt.Fprintf(cfg.Log, "  suite round %d of %d: %s → %s\n", round, cfg.Rounds, sc, t.Name)
				if err := measure(ctx, cfg, t, sc); err != nil {
					return err
				}
			}
		}
	}
	if cfg.Streams > 0 {
		for _, t := range targets {
			if t.PID() == 0 {
				continue
			}
			fmt.Fprintf(cfg.Log, "  suite: %d idle /events streams → %s\n", cfg.Streams, t.Name)
			if err := idleStreams(ctx, cfg, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadgen runs the loadgen binary against t and returns its stdout.
func loadgen(ctx context.Context, cfg Config, t *Target, sc Scenario, extra []string) ([]byte, error) {
	args := append([]string{"-target", t.URL, "-name", t.Name, "-format", "bench", "-warmup", "0s"}, sc.Args()...)
	args = append(args, extra...)
	argv := append([]string{cfg.Loadgen}, args...)
	if cfg.LoadgenCPUs != "" {
		if tp, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{tp, "-c", cfg.LoadgenCPUs}, argv...)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("suite: loadgen %s against %s: %w\n%s", sc, t.Name, err, stderr.Bytes())
	}
	return out, nil
}

// measure runs one recorded loadgen run and appends its benchfmt output to
// cfg.Out, adding the proxy process's CPU time (proxy-cpu-s/GiB for bulk
// scenarios, proxy-cpu-ns/op otherwise) and its peak memory during the run
// (proxy-peak-pss-KiB, sampled every 100 ms over the process tree, so
// socat's per-connection children count while they live).
func measure(ctx context.Context, cfg Config, t *Target, sc Scenario) error {
	pid := t.PID()
	var cpu0 time.Duration
	var peak *peakSampler
	if pid != 0 {
		cpu0 = treeCPU(pid)
		peak = samplePeak(pid, 100*time.Millisecond)
	}
	out, err := loadgen(ctx, cfg, t, sc, []string{"-d", cfg.Duration.String()})
	var cpu time.Duration
	var peakKiB int64
	if pid != 0 {
		peakKiB = peak.stop()
		waitChildren(pid, 5*time.Second)
		cpu = treeCPU(pid) - cpu0
	}
	if err != nil {
		return err
	}
	sc2 := bufio.NewScanner(bytes.NewReader(out))
	for sc2.Scan() {
		line := sc2.Text()
		if strings.HasPrefix(line, "BenchmarkLoadgen") && pid != 0 {
			line += cpuMetric(line, cpu, sc.bulk())
			line += fmt.Sprintf("\t%d proxy-peak-pss-KiB", peakKiB)
		}
		fmt.Fprintln(cfg.Out, line)
	}
	return nil
}

// cpuMetric returns the extra metric for a result line: the proxy's CPU
// seconds per GiB moved (bulk) or CPU nanoseconds per request.
func cpuMetric(line string, cpu time.Duration, bulk bool) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return ""
	}
	n, _ := strconv.ParseFloat(f[1], 64)
	val := map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err == nil {
			val[f[i+1]] = v
		}
	}
	if n <= 0 {
		return ""
	}
	if bulk {
		elapsed := val["ns/op"] * n / 1e9
		bytes := val["MB/s"] * 1e6 * elapsed
		if bytes <= 0 {
			return ""
		}
		return fmt.Sprintf("\t%.4f proxy-cpu-s/GiB", cpu.Seconds()/(bytes/(1<<30)))
	}
	return fmt.Sprintf("\t%.0f proxy-cpu-ns/op", float64(cpu.Nanoseconds())/n)
}
