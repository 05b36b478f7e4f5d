package suite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/proxy"
)

// A Scenario is one loadgen run shape: a closed loop of Conc connections,
// or, with Rate, an open loop at Rate requests per second with at most
// Conc in flight.
type Scenario struct {
	Name string        // loadgen -scenario
	Size string        // loadgen -size, "" for none
	Conc int           // loadgen -c
	Rate float64       // loadgen -rate; 0 for a closed loop
	N    int           // loadgen -n when positive (a count of transfers), else -d
	D    time.Duration // loadgen -d; 0 means Config.Duration
	// Every is loadgen -every: the events scenario's interval between
	// events; 0 leaves loadgen's default.
	Every time.Duration
}

// Args returns the loadgen flags for s; d is the duration when s has
// neither N nor D.
func (s Scenario) Args(d time.Duration) []string {
	a := []string{"-scenario", s.Name, "-c", strconv.Itoa(s.Conc)}
	if s.Size != "" {
		a = append(a, "-size", s.Size)
	}
	if s.Rate > 0 {
		a = append(a, "-rate", strconv.FormatFloat(s.Rate, 'f', -1, 64))
	}
	if s.Every > 0 {
		a = append(a, "-every", s.Every.String())
	}
	switch {
	case s.N > 0:
		a = append(a, "-n", strconv.Itoa(s.N))
	case s.D > 0:
		a = append(a, "-d", s.D.String())
	default:
		a = append(a, "-d", d.String())
	}
	return a
}

// String is the scenario as loadgen names it: name[/size=Z]/conc=N or
// /rate=R.
func (s Scenario) String() string {
	b := s.Name
	if s.Size != "" {
		b += "/size=" + s.Size
	}
	if s.Rate > 0 {
		return b + "/rate=" + strconv.FormatFloat(s.Rate, 'f', -1, 64)
	}
	return b + "/conc=" + strconv.Itoa(s.Conc)
}

// bulk reports whether s moves big bodies, down or up (reported per GiB),
// rather than many small requests (reported per request).
func (s Scenario) bulk() bool {
	switch s.Name {
	case "blob", "chunked", "save", "load", "load-chunked":
		return true
	}
	return false
}

// DefaultClosed are the closed-loop runs of `make bench`: throughput, a
// secondary figure (a closed loop measures the slower of the proxy and the
// harness). Bulk runs count transfers, so that each run moves enough bytes.
var DefaultClosed = []Scenario{
	{Name: "ping", Conc: 16, D: 500 * time.Millisecond},
	{Name: "json", Size: "1536B", Conc: 16, D: 500 * time.Millisecond},
	{Name: "blob", Size: "64MiB", Conc: 4, N: 8},
	{Name: "chunked", Size: "64MiB", Conc: 4, N: 8},
	DefaultEvents,
}

// DefaultEvents is the delivery-delay run: one /events stream through each
// target, an event every 10 ms, each event's receipt time minus its send
// time (loadgen's events latency); internal/labreport subtracts direct's,
// round by round. It runs among the closed-loop runs; its proxy-cpu-ns/op
// is the proxy's CPU per event delivered.
var DefaultEvents = Scenario{Name: "events", Conc: 1, N: 150, Every: 10 * time.Millisecond}

// DefaultFixed are the open-loop runs at fixed rates well below every
// target's saturation here: the proxy's CPU per request and per GiB, the
// capacity figures the verdicts use.
var DefaultFixed = []Scenario{
	{Name: "ping", Conc: 256, Rate: 2000, D: time.Second},
	{Name: "blob", Size: "64MiB", Conc: 16, Rate: 4, D: 1500 * time.Millisecond},
	{Name: "chunked", Size: "64MiB", Conc: 16, Rate: 4, D: 1500 * time.Millisecond},
	{Name: "load", Size: "64MiB", Conc: 16, Rate: 4, D: time.Second},
	{Name: "load-chunked", Size: "64MiB", Conc: 16, Rate: 4, D: time.Second},
}

// DefaultSweep is the latency–throughput sweep: ping in an open loop at
// each of DefaultSweepRates, up to the first rate a target cannot keep.
var (
	DefaultSweep      = Scenario{Name: "ping", Conc: 256, D: time.Second}
	DefaultSweepRates = []float64{1000, 2500, 5000, 10000, 15000, 20000, 30000}
)

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

// Config says what the suite runs. The zero value of each phase's fields
// skips that phase.
type Config struct {
	Socket    string // the upstream Unix socket (already serving)
	Loadgen   string // path of the loadgen binary
	Sockproxy string // path of the sockproxy binary
	// Sockproxies are the sockproxy targets: a strategy over Go's
	// transport ("pooled") or, with "-raw", over the raw transport
	// ("pooled-raw"); each runs as target sockproxy-<that>.
	Sockproxies []string
	// Peers are keys of [Peers]; missing ones are skipped with a line.
	Peers []string
	// Bins are peer binaries by name where not on PATH (relay, caddy).
	Bins map[string]string

	Closed   []Scenario    // closed-loop runs, each round
	Fixed    []Scenario    // fixed-rate open-loop runs, each round
	Rounds   int           // interleaved rounds of Closed and Fixed
	Duration time.Duration // loadgen -d of a scenario without N or D

	Sweep       Scenario  // the open-loop scenario swept (its Rate is ignored)
	SweepRates  []float64 // rates in increasing order; none skips the sweep
	SweepRounds int

	// StreamCounts are the idle-stream counts measured on a fresh proxy
	// process per target, MemRepeats times; Streams idle streams are
	// measured once more after the load, on the process that carried it.
	StreamCounts []int
	MemRepeats   int
	Streams      int
	Settle       time.Duration // how long streams idle before a reading; 0 means 2s

	// HarnessCPUs (loadgen, the simulator) and ProxyCPUs (the target) are
	// taskset CPU lists ("" leaves a process unpinned). HarnessPIDs are
	// processes whose CPU time counts as the harness's (the simulator).
	HarnessCPUs, ProxyCPUs string
	HarnessPIDs            []int

	Dir       string    // scratch dir for configs and logs
	ConfigDir string    // where to copy each target's command line and config; "" for nowhere
	Out       io.Writer // benchfmt: loadgen's output, augmented
	Log       io.Writer // progress
}

// Run starts every target, runs the closed-loop and fixed-rate scenarios
// against all of them interleaved (round by round, target after target),
// then the rate sweep, measures memory per idle stream after the load and
// on fresh processes, and stops the targets.
func Run(ctx context.Context, cfg Config) error {
	targets, err := startTargets(ctx, cfg)
	defer func() {
		for _, t := range targets {
			t.Stop()
		}
	}()
	if err != nil {
		return err
	}
	if cfg.ConfigDir != "" {
		if err := writeConfigs(cfg.ConfigDir, cfg.Dir, targets); err != nil {
			return err
		}
	}

	// One short unrecorded run per target and scenario warms caches,
	// connection pools and the Go runtime.
	for _, sc := range append(append([]Scenario(nil), cfg.Closed...), cfg.Fixed...) {
		warm := Scenario{Name: sc.Name, Size: sc.Size, Conc: min(sc.Conc, 16), N: 2 * min(sc.Conc, 16), Every: sc.Every}
		if sc.bulk() {
			warm.Conc, warm.N = 2, 2 // two big bodies warm the path
		}
		for _, t := range targets {
			if !t.runs(sc) {
				continue
			}
			if _, err := loadgen(ctx, cfg, t, warm); err != nil {
				return err
			}
		}
	}
	runs := append(append([]Scenario(nil), cfg.Closed...), cfg.Fixed...)
	for round := 1; round <= cfg.Rounds; round++ {
		for _, sc := range runs {
			for _, t := range targets {
				if !t.runs(sc) {
					continue
				}
				fmt.Fprintf(cfg.Log, "  suite round %d of %d: %s → %s\n", round, cfg.Rounds, sc, t.Name)
				if _, err := measure(ctx, cfg, t, sc); err != nil {
					return err
				}
			}
		}
	}
	if err := sweep(ctx, cfg, targets); err != nil {
		return err
	}
	if cfg.Streams > 0 {
		for _, t := range targets {
			if t.PID() == 0 || t.Only != "" {
				continue
			}
			fmt.Fprintf(cfg.Log, "  suite: %d idle /events streams after the load → %s\n", cfg.Streams, t.Name)
			if err := idleStreams(ctx, cfg, t); err != nil {
				return err
			}
		}
	}
	return memory(ctx, cfg, targets)
}

// startTargets starts direct, the sockproxies and the installed peers; on
// error it returns what it started, for the caller to stop.
func startTargets(ctx context.Context, cfg Config) ([]*Target, error) {
	targets := []*Target{{Name: "direct", URL: "unix://" + cfg.Socket}}
	maxConns := 20000
	var n int
	add := func(st starter) (bool, error) {
		n++
		idx := n
		mk := func(ctx context.Context, instance string) (*Target, error) {
			dir := filepath.Join(cfg.Dir, fmt.Sprintf("t%02d%s", idx, instance))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			return st(ctx, launch{socket: cfg.Socket, cpus: cfg.ProxyCPUs, dir: dir, bins: cfg.Bins})
		}
		t, err := mk(ctx, "")
		if errors.Is(err, errMissing) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("suite: %w", err)
		}
		t.start = mk
		targets = append(targets, t)
		return true, nil
	}
	for _, spec := range cfg.Sockproxies {
		if s, _ := sockproxySetup(spec); proxy.IsMode(s.Mode) && s.Validate() != nil {
			continue // a mode that does not run over that transport (stdlib-default-raw)
		}
		if _, err := add(sockproxyStarter(cfg.Sockproxy, spec, maxConns)); err != nil {
			return targets, err
		}
	}
	for _, name := range cfg.Peers {
		st := Peers[name]
		if st == nil {
			return targets, fmt.Errorf("suite: unknown peer %q", name)
		}
		ok, err := add(st)
		if err != nil {
			return targets, err
		}
		if !ok {
			fmt.Fprintf(cfg.Log, "suite: %s is not installed; skipping it\n", name)
		}
	}
	return targets, nil
}

// writeConfigs writes commands.txt (each target's command line, the
// scratch dir written as $SCRATCH) and every configuration file into dir.
func writeConfigs(dir, scratch string, targets []*Target) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	for _, t := range targets {
		if len(t.Argv) == 0 {
			continue
		}
		line := strings.Join(t.Argv, " ")
		if scratch != "" {
			line = strings.ReplaceAll(line, scratch, "$SCRATCH")
		}
		fmt.Fprintf(&b, "%s: %s\n", t.Name, line)
		if t.ConfName != "" {
			if err := os.WriteFile(filepath.Join(dir, t.ConfName), t.Conf, 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(dir, "commands.txt"), b.Bytes(), 0o644)
}

// sweep runs cfg.Sweep at each rate, SweepRounds times, interleaving the
// targets at each rate; a target that could not keep a rate in a round
// (dropped sends, or under 90 % of the rate achieved) skips the higher
// rates of that round.
func sweep(ctx context.Context, cfg Config, targets []*Target) error {
	for round := 1; round <= cfg.SweepRounds; round++ {
		saturated := map[*Target]bool{}
		for _, rate := range cfg.SweepRates {
			sc := cfg.Sweep
			sc.Rate = rate
			for _, t := range targets {
				if saturated[t] || t.Only != "" {
					continue
				}
				fmt.Fprintf(cfg.Log, "  suite sweep %d of %d: %s → %s\n", round, cfg.SweepRounds, sc, t.Name)
				r, err := measure(ctx, cfg, t, sc)
				if err != nil {
					return err
				}
				if r.dropped > 0 || r.rate < 0.9*rate {
					saturated[t] = true
				}
			}
		}
	}
	return nil
}

// runResult is what the suite reads back from one loadgen line.
type runResult struct {
	rate    float64 // req/s achieved
	dropped float64 // dropped/op
}

// loadgenRun is one finished loadgen process.
type loadgenRun struct {
	out  []byte
	cpu  time.Duration // loadgen's own user+system time
	wall time.Duration
}

// loadgen runs the loadgen binary against t, pinned to the harness CPUs.
func loadgen(ctx context.Context, cfg Config, t *Target, sc Scenario) (loadgenRun, error) {
	// -allow-errors: a run with failed requests is recorded, its line
	// carrying errors/op (measure logs it), instead of ending the whole
	// suite: one peer's timeout in round 7 must not cost the other rows.
	args := append([]string{"-target", t.URL, "-name", t.Name, "-format", "bench", "-warmup", "0s", "-allow-errors"}, sc.Args(cfg.Duration)...)
	argv := append([]string{cfg.Loadgen}, args...)
	if cfg.HarnessCPUs != "" {
		if tp, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{tp, "-c", cfg.HarnessCPUs}, argv...)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	run := loadgenRun{out: out, wall: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		run.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
			run.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return run, fmt.Errorf("suite: loadgen %s against %s: %w\n%s", sc, t.Name, err, stderr.Bytes())
	}
	return run, nil
}

// measure runs one recorded loadgen run and appends its benchfmt output to
// cfg.Out, adding:
//   - harness-util: the CPU time of loadgen, the simulator
//     (cfg.HarnessPIDs) and this process (which samples the proxy) ÷ the
//     run's wall time, in cores; near 1 the harness CPU was saturated and
//     the row measures the harness (harness-bound); loadgen-util is
//     loadgen's share of it;
//   - for a proxy: its CPU time per request (proxy-cpu-ns/op) or per GiB
//     (proxy-cpu-s/GiB, bulk), proxy-util (its CPU ÷ wall time), and its
//     peak PSS during the run (proxy-peak-pss-KiB, sampled every 100 ms over
//     the process tree, so socat's per-connection children count).
func measure(ctx context.Context, cfg Config, t *Target, sc Scenario) (runResult, error) {
	pid := t.PID()
	var cpu0, harness0 time.Duration
	var peak *peakSampler
	for _, p := range cfg.HarnessPIDs {
		harness0 += treeCPU(p)
	}
	self0, _ := threadsCPU(os.Getpid()) // this process samples and reads /proc: harness work too
	if pid != 0 {
		cpu0 = treeCPU(pid)
		peak = samplePeak(pid, 100*time.Millisecond)
	}
	run, err := loadgen(ctx, cfg, t, sc)
	var cpu, harness time.Duration
	var peakKiB int64
	if pid != 0 {
		peakKiB = peak.stop()
		waitChildren(pid, 5*time.Second)
		cpu = treeCPU(pid) - cpu0
	}
	for _, p := range cfg.HarnessPIDs {
		harness += treeCPU(p)
	}
	self, _ := threadsCPU(os.Getpid())
	harness = harness - harness0 + run.cpu + self - self0
	if err != nil {
		return runResult{}, err
	}
	if bytes.Contains(run.out, []byte(" errors/op")) {
		fmt.Fprintf(cfg.Log, "  suite: WARNING: requests failed in %s against %s (errors/op in its line; the row is tainted)\n", sc, t.Name)
	}
	var res runResult
	sc2 := bufio.NewScanner(bytes.NewReader(run.out))
	for sc2.Scan() {
		line := sc2.Text()
		if strings.HasPrefix(line, "BenchmarkLoadgen") {
			vals := lineValues(line)
			res = runResult{rate: vals["req/s"], dropped: vals["dropped/op"]}
			if run.wall > 0 {
				line += fmt.Sprintf("\t%.3f harness-util\t%.3f loadgen-util", harness.Seconds()/run.wall.Seconds(), run.cpu.Seconds()/run.wall.Seconds())
			}
			if pid != 0 {
				line += cpuMetric(line, cpu, sc.bulk())
				if run.wall > 0 {
					line += fmt.Sprintf("\t%.3f proxy-util", cpu.Seconds()/run.wall.Seconds())
				}
				line += fmt.Sprintf("\t%d proxy-peak-pss-KiB", peakKiB)
			}
		}
		fmt.Fprintln(cfg.Out, line)
	}
	return res, nil
}

// lineValues returns the values of a benchfmt result line by unit.
func lineValues(line string) map[string]float64 {
	f := strings.Fields(line)
	val := map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			val[f[i+1]] = v
		}
	}
	return val
}

// cpuMetric returns the extra metric for a result line: the proxy's CPU
// seconds per GiB moved (bulk) or CPU nanoseconds per request.
func cpuMetric(line string, cpu time.Duration, bulk bool) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return ""
	}
	n, _ := strconv.ParseFloat(f[1], 64)
	val := lineValues(line)
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
