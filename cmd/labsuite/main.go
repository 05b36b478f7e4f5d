// Command labsuite runs the lab's cross-process suite (package
// internal/suite): the upstream simulator, one sockproxy per strategy and
// the installed peers (socat, HAProxy, nginx), measured with the loadgen
// binary, interleaved round by round. `make bench` calls it after the Go
// benchmarks; its benchfmt output is the results folder's loadgen.txt.
// With -upstream docker the upstream is a sandboxed real dockerd
// (internal/dockerd) and the scenarios are Docker API reads and a real
// `docker save` of the 128 MiB lab/big image.
//
//	labsuite -loadgen BIN -sockproxy BIN -out loadgen.txt [flags]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/internal/dockerd"
	"github.com/sockproxylab/sockproxy/internal/suite"
	"github.com/sockproxylab/sockproxy/internal/upstream"
	"github.com/sockproxylab/sockproxy/proxy"
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
	out := fs.String("out", "", "append benchfmt results to this `file` (default stdout)")
	strategies := fs.String("strategies", strings.Join(proxy.Modes(), ","), "comma-separated sockproxy `strategies`")
	transports := fs.String("transports", strings.Join(proxy.Transports(), ","), "comma-separated sockproxy `transports` each strategy runs with (raw targets are named sockproxy-<strategy>-raw)")
	peers := fs.String("peers", "socat,haproxy,nginx", "comma-separated `peers` to run where installed (empty for none)")
	scenarios := fs.String("scenarios", formatScenarios(suite.DefaultScenarios), "comma-separated `name[:size]:conc` runs")
	rounds := fs.Int("rounds", 5, "interleaved `rounds`")
	dur := fs.Duration("d", 3*time.Second, "loadgen `duration` per run")
	streams := fs.Int("streams", 1000, "idle /events streams for the memory measure (0 skips it)")
	dir := fs.String("dir", "", "scratch `dir` for peer configs and logs (default a temp dir)")
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
	scenarioFlagSet := false
	fs.Visit(func(f *flag.Flag) { scenarioFlagSet = scenarioFlagSet || f.Name == "scenarios" })
	if *upstreamKind == "docker" && !scenarioFlagSet {
		// A real dockerd has no /_lab/blob and no sized image saves: the
		// Docker API reads and a save of lab/big.
		*scenarios = formatScenarios(suite.DockerScenarios)
	}
	scs, err := parseScenarios(*scenarios)
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
	socket, stopUpstream, err := startUpstream(ctx, *upstreamKind, scratch)
	if err != nil {
		fmt.Fprintln(stderr, "labsuite:", err)
		return 1
	}
	defer stopUpstream()

	w := stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "labsuite:", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	cfg := suite.Config{
		Socket:     socket,
		Loadgen:    *loadgenBin,
		Sockproxy:  *sockproxyBin,
		Strategies: split(*strategies),
		Transports: split(*transports),
		Peers:      split(*peers),
		Scenarios:  scs,
		Rounds:     *rounds,
		Duration:   *dur,
		Streams:    *streams,
		Dir:        scratch,
		Out:        w,
		Log:        stderr,
	}
	// Two or more CPUs: loadgen on the first, the proxies on the others.
	if n := runtime.NumCPU(); n >= 2 {
		cfg.LoadgenCPUs = "0"
		cfg.ProxyCPUs = "1-" + strconv.Itoa(n-1)
	}
	if err := suite.Run(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "labsuite:", err)
		return 1
	}
	return 0
}

// startUpstream starts the simulator in this process, or a sandboxed
// dockerd, and returns its socket and how to stop it.
func startUpstream(ctx context.Context, kind, scratch string) (string, func(), error) {
	if kind == "docker" {
		d, err := dockerd.Start(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("starting dockerd: %w", err)
		}
		if err := d.EnsureImages(ctx); err != nil {
			d.Close()
			return "", nil, fmt.Errorf("importing images into dockerd: %w", err)
		}
		return d.Socket(), func() { d.Close() }, nil
	}
	up, err := upstream.Start(scratch + "/up.sock")
	if err != nil {
		return "", nil, fmt.Errorf("starting the simulator: %w", err)
	}
	return up.Path(), func() { up.Close() }, nil
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

// parseScenarios parses "ping:16,json:1536B:16".
func parseScenarios(s string) ([]suite.Scenario, error) {
	var out []suite.Scenario
	for _, f := range split(s) {
		parts := strings.Split(f, ":")
		sc := suite.Scenario{Name: parts[0]}
		var concStr string
		switch len(parts) {
		case 2:
			concStr = parts[1]
		case 3:
			sc.Size, concStr = parts[1], parts[2]
		default:
			return nil, fmt.Errorf("bad scenario %q: want name[:size]:conc", f)
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
		if sc.Size != "" {
			parts = append(parts, fmt.Sprintf("%s:%s:%d", sc.Name, sc.Size, sc.Conc))
		} else {
			parts = append(parts, fmt.Sprintf("%s:%d", sc.Name, sc.Conc))
		}
	}
	return strings.Join(parts, ",")
}
