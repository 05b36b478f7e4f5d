// Command labsuite runs the lab's cross-process suite (package
// internal/suite): the upstream simulator (its own process on the harness
// CPU with -upstream-bin), sockproxy targets, the installed peers at their
// defaults and tuned, and the ceiling relay, measured with the loadgen
// binary, interleaved round by round: closed-loop and fixed-rate runs, a
// rate sweep, and memory per idle stream after the load and on fresh
// processes. `make bench` calls it after the Go benchmarks; its benchfmt
// output is the results folder's loadgen.txt, its progress suite-log.txt,
// and with -configs each target's command line and configuration go into
// the folder too. With -upstream docker the upstream is a sandboxed real
// dockerd (internal/dockerd) and the closed-loop runs are Docker API reads
// and a real `docker save` of the 128 MiB lab/big image.
//
//	labsuite -loadgen BIN -sockproxy BIN [-upstream-bin BIN] [-relay BIN] [-caddy BIN] -out loadgen.txt [flags]
//
// A run is name[:size]:conc, then options rate=R (an open loop at R
// requests per second, conc in flight at most), n=N (N requests instead of
// a duration), d=D (the duration) and every=D (events: the interval between
// events).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/internal/dockerd"
	"github.com/sockproxylab/sockproxy/internal/suite"
	"github.com/sockproxylab/sockproxy/internal/upstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("labsuite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	loadgenBin := fs.String("loadgen", "", "the loadgen `binary` (required)")
	sockproxyBin := fs.String("sockproxy", "", "the sockproxy `binary` (required)")
	upstreamBin := fs.String("upstream-bin", "", "the upstream simulator `binary`, run as its own process on the harness CPU (default: the simulator runs inside labsuite, unpinned)")
	relayBin := fs.String("relay", "", "the cmd/relay `binary` (the ceiling target relay; empty skips it)")
	caddyBin := fs.String("caddy", "", "a Caddy `binary` (empty: caddy on PATH, if any)")
	out := fs.String("out", "", "append benchfmt results to this `file` (default stdout)")
	sockproxies := fs.String("sockproxies", strings.Join(DefaultSockproxies, ","), "comma-separated sockproxy `targets`: a strategy (Go's transport) or strategy-raw, either followed by -traefik (restricted by -policy preset:traefik; ping only)")
	peers := fs.String("peers", strings.Join(DefaultPeers, ","), "comma-separated `peers` to run where installed (empty for none)")
	closed := fs.String("closed", formatScenarios(suite.DefaultClosed), "closed-loop `runs`: name[:size]:conc[:n=N][:d=D][:every=D], comma-separated")
	fixed := fs.String("fixed", formatScenarios(suite.DefaultFixed), "fixed-rate open-loop `runs`: name[:size]:cap:rate=R[:d=D]")
	rounds := fs.Int("rounds", 10, "interleaved `rounds` of the closed and fixed runs")
	dur := fs.Duration("d", time.Second, "loadgen `duration` of a run without n= or d=")
	sweepSc := fs.String("sweep", formatScenarios([]suite.Scenario{suite.DefaultSweep}), "the open-loop `run` of the rate sweep (empty skips it)")
	sweepRates := fs.String("sweep-rates", formatRates(suite.DefaultSweepRates), "comma-separated `rates` of the sweep, increasing")
	sweepRounds := fs.Int("sweep-rounds", 3, "`rounds` of the sweep")
	streams := fs.Int("streams", 1000, "idle /events streams measured after the load (0 skips it)")
	counts := fs.String("stream-counts", "1000,2000,3000,8000", "idle-stream `counts` measured on fresh processes (empty skips it)")
	memRepeats := fs.Int("mem-repeats", 2, "fresh processes per target for the memory `repeats`")
	settle := fs.Duration("settle", 2*time.Second, "how long idle streams idle before a memory `reading`")
	dir := fs.String("dir", "", "scratch `dir` for peer configs and logs (default a temp dir)")
	configs := fs.String("configs", "", "write each target's command line and config file into this `dir`")
	upstreamKind := fs.String("upstream", "sim", "the upstream: `sim` (the simulator) or docker (a sandboxed real dockerd; root, docker.io)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *loadgenBin == "" || *sockproxyBin == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "labsuite: -loadgen and -sockproxy are required")
		fs.Usage()
		return 2
	}
	if *upstreamKind != "sim" && *upstreamKind != "docker" {
		fmt.Fprintf(stderr, "labsuite: -upstream %q: want sim or docker\n", *upstreamKind)
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *upstreamKind == "docker" && !set["closed"] {
		// A real dockerd has no /_lab/blob and no sized image saves: the
		// Docker API reads and a save of lab/big, closed loop only.
		*closed = formatScenarios(suite.DockerScenarios)
		if !set["fixed"] {
			*fixed = ""
		}
	}
	cfg := suite.Config{
		Loadgen:     *loadgenBin,
		Sockproxy:   *sockproxyBin,
		Sockproxies: split(*sockproxies),
		Peers:       split(*peers),
		Bins:        map[string]string{"relay": *relayBin, "caddy": *caddyBin},
		Rounds:      *rounds,
		Duration:    *dur,
		SweepRounds: *sweepRounds,
		Streams:     *streams,
		MemRepeats:  *memRepeats,
		Settle:      *settle,
		Out:         stdout,
		Log:         stderr,
	}
	if *relayBin == "" {
		cfg.Peers = slices.DeleteFunc(cfg.Peers, func(p string) bool { return p == "relay" })
	}
	var err error
	if cfg.Closed, err = parseScenarios(*closed); err == nil {
		cfg.Fixed, err = parseScenarios(*fixed)
	}
	if err == nil && *sweepSc != "" {
		var sw []suite.Scenario
		if sw, err = parseScenarios(*sweepSc); err == nil && len(sw) != 1 {
			err = fmt.Errorf("-sweep %q: want one run", *sweepSc)
		}
		if err == nil {
			cfg.Sweep = sw[0]
			cfg.SweepRates, err = parseRates(*sweepRates)
		}
	}
	if err == nil {
		cfg.StreamCounts, err = parseInts(*counts)
	}
	if err != nil {
		fmt.Fprintln(stderr, "labsuite:", err)
		return 2
	}
	if err := suite.RaiseNoFile(); err != nil {
		fmt.Fprintln(stderr, "labsuite: raising the open-file limit:", err)
	}
	scratch := *dir
	if scratch == "" {
		d, err := os.MkdirTemp("", "spsuite-")
		if err != nil {
			fmt.Fprintln(stderr, "labsuite:", err)
			return 1
		}
		defer os.RemoveAll(d)
		scratch = d
	}
	cfg.Dir, cfg.ConfigDir = scratch, *configs
	// Two or more CPUs: the harness (loadgen, and the simulator when it is
	// its own process) on the first, the proxy under test alone on the
	// second; more CPUs stay unused, so that the proxy gets one core.
	if n := runtime.NumCPU(); n >= 2 {
		cfg.HarnessCPUs, cfg.ProxyCPUs = "0", "1"
	}
	up, err := startUpstream(ctx, *upstreamKind, *upstreamBin, cfg.HarnessCPUs, scratch)
	if err != nil {
		fmt.Fprintln(stderr, "labsuite:", err)
		return 1
	}
	defer up.stop()
	cfg.Socket = up.socket
	if up.pid != 0 {
		cfg.HarnessPIDs = []int{up.pid}
	}
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "labsuite:", err)
			return 1
		}
		defer f.Close()
		cfg.Out = f
	}
	if err := suite.Run(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "labsuite:", err)
		return 1
	}
	return 0
}

// DefaultSockproxies are the suite's sockproxy targets: Go's proxy (over
// Go's transport, and with Go's default transport as most socket proxies
// ship), pooled and the splice strategies over the raw transport, and the
// default (splice-chunked-raw), and the lean front end (lean-raw), each
// default and lean also restricted by the traefik preset. The Go
// benchmarks cover every strategy.
var DefaultSockproxies = []string{"stdlib", "stdlib-default", "pooled-raw", "splice-raw", "splice-chunked-raw", "splice-chunked-raw-traefik", "lean-raw", "lean-raw-traefik"}

// DefaultPeers are the peers at their defaults and tuned for bulk bodies,
// and the ceiling relay.
var DefaultPeers = []string{"relay", "socat", "socat-tuned", "haproxy", "haproxy-tuned", "nginx", "nginx-tuned", "caddy"}

// upstreamProc is the running upstream.
type upstreamProc struct {
	socket string
	pid    int // 0 when it runs inside labsuite
	stop   func()
}

// startUpstream starts a sandboxed dockerd, the simulator binary as its
// own process pinned to cpus, or (without a binary) the simulator inside
// this process.
func startUpstream(ctx context.Context, kind, bin, cpus, scratch string) (upstreamProc, error) {
	if kind == "docker" {
		d, err := dockerd.Start(ctx)
		if err != nil {
			return upstreamProc{}, fmt.Errorf("starting dockerd: %w", err)
		}
		if err := d.EnsureImages(ctx); err != nil {
			d.Close()
			return upstreamProc{}, fmt.Errorf("importing images into dockerd: %w", err)
		}
		return upstreamProc{socket: d.Socket(), stop: func() { d.Close() }}, nil
	}
	socket := filepath.Join(scratch, "up.sock")
	if bin == "" {
		up, err := upstream.Start(socket)
		if err != nil {
			return upstreamProc{}, fmt.Errorf("starting the simulator: %w", err)
		}
		return upstreamProc{socket: up.Path(), stop: func() { up.Close() }}, nil
	}
	argv := []string{bin, "-socket", socket}
	if cpus != "" {
		if tp, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{tp, "-c", cpus}, argv...)
		}
	}
	logf, err := os.Create(filepath.Join(scratch, "upstream.log"))
	if err != nil {
		return upstreamProc{}, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return upstreamProc{}, fmt.Errorf("starting the simulator: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.Dial("unix", socket)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			return upstreamProc{}, fmt.Errorf("the simulator exited before serving on %s", socket)
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return upstreamProc{}, fmt.Errorf("the simulator did not serve on %s: %w", socket, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return upstreamProc{socket: socket, pid: cmd.Process.Pid, stop: stop}, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseScenarios parses "ping:16,blob:64MiB:4:n=8,ping:256:rate=2000:d=1s":
// name[:size]:conc, then options rate=R (an open loop with conc in flight
// at most), n=N and d=D.
func parseScenarios(s string) ([]suite.Scenario, error) {
	var out []suite.Scenario
	for _, f := range split(s) {
		var pos []string
		sc := suite.Scenario{}
		for _, p := range strings.Split(f, ":") {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				pos = append(pos, p)
				continue
			}
			var err error
			switch k {
			case "rate":
				sc.Rate, err = strconv.ParseFloat(v, 64)
				if err == nil && sc.Rate <= 0 {
					err = errors.New("not positive")
				}
			case "n":
				sc.N, err = strconv.Atoi(v)
			case "d":
				sc.D, err = time.ParseDuration(v)
			case "every":
				sc.Every, err = time.ParseDuration(v)
			default:
				err = errors.New("unknown option")
			}
			if err != nil {
				return nil, fmt.Errorf("bad scenario %q: %s: %v", f, p, err)
			}
		}
		var concStr string
		switch len(pos) {
		case 2:
			sc.Name, concStr = pos[0], pos[1]
		case 3:
			sc.Name, sc.Size, concStr = pos[0], pos[1], pos[2]
		default:
			return nil, fmt.Errorf("bad scenario %q: want name[:size]:conc[:rate=R][:n=N][:d=D][:every=D]", f)
		}
		c, err := strconv.Atoi(concStr)
		if err != nil || c < 1 {
			return nil, fmt.Errorf("bad scenario %q: conc must be a positive integer", f)
		}
		sc.Conc = c
		out = append(out, sc)
	}
	return out, nil
}

func formatScenarios(scs []suite.Scenario) string {
	var parts []string
	for _, sc := range scs {
		p := sc.Name
		if sc.Size != "" {
			p += ":" + sc.Size
		}
		p += ":" + strconv.Itoa(sc.Conc)
		if sc.Rate > 0 {
			p += ":rate=" + strconv.FormatFloat(sc.Rate, 'f', -1, 64)
		}
		if sc.N > 0 {
			p += ":n=" + strconv.Itoa(sc.N)
		}
		if sc.D > 0 {
			p += ":d=" + sc.D.String()
		}
		if sc.Every > 0 {
			p += ":every=" + sc.Every.String()
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ",")
}

func formatRates(rs []float64) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, strconv.FormatFloat(r, 'f', -1, 64))
	}
	return strings.Join(parts, ",")
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range split(s) {
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 || len(out) > 0 && r <= out[len(out)-1] {
			return nil, fmt.Errorf("bad -sweep-rates %q: want positive rates, increasing", s)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad count %q in %q", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}
