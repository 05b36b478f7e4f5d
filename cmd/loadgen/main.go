// Command loadgen drives a socket proxy (or the upstream directly) with a
// scenario and reports latency and throughput, as text, JSON or Go benchmark
// lines for benchstat. See package internal/loadgen for the manual.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/internal/loadgen"
	"github.com/sockproxylab/sockproxy/internal/units"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the load, writes the report to stdout and returns the
// exit status: 0, 1 when a request failed (unless -allow-errors) or the run
// could not start, 2 for bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         loadgen.Config
		size        string
		format      string
		allowErrors bool
	)
	fs.StringVar(&cfg.Target, "target", "", "`URL` to load: http://host:port or unix:///path/to.sock")
	fs.StringVar(&cfg.Scenario, "scenario", "", "scenario: "+strings.Join(loadgen.Scenarios(), ", "))
	fs.StringVar(&size, "size", "", "body or message `SIZE` (e.g. 1536B, 64KiB, 1MiB); default per scenario")
	fs.StringVar(&cfg.Mix, "mix", "", "weights for -scenario mix, e.g. ping=80,json=15,chunked=5")
	fs.IntVar(&cfg.Conc, "c", 16, "closed loop: `N` connections; with -rate: cap on requests in flight (default 1024)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: `R` requests per second on a fixed schedule")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "measured `DURATION` (after -warmup)")
	fs.Int64Var(&cfg.Count, "n", 0, "measured request `COUNT` (instead of -d)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "unmeasured warmup `D` before the measured run")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "per-request (or round-trip) timeout `D`")
	fs.DurationVar(&cfg.Every, "every", 0, "events: the interval `D` between events (default 1ms)")
	fs.StringVar(&cfg.Client, "client", "raw", "HTTP client: raw (lean, built in) or std (net/http)")
	fs.StringVar(&format, "format", "text", "output format: "+strings.Join(loadgen.Formats(), ", "))
	fs.StringVar(&cfg.Name, "name", "", "target `LABEL` in benchmark names (default: direct for unix://, else host:port)")
	fs.BoolVar(&allowErrors, "allow-errors", false, "exit 0 even when requests failed")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: loadgen -target URL -scenario NAME [-size SIZE] [-mix ping=80,json=15,chunked=5]\n"+
			"               [-c N | -rate R] [-d DURATION | -n COUNT] [-warmup D] [-format text|bench|json]\n"+
			"               [-name LABEL] [-allow-errors] [-timeout D] [-client raw|std] [-every D]")
		fs.PrintDefaults()
	}
	usage := func(err error) int {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		fs.Usage()
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.Target == "" || cfg.Scenario == "" {
		return usage(errors.New("-target and -scenario are required"))
	}
	if set["d"] && set["n"] {
		return usage(errors.New("-d and -n exclude each other"))
	}
	if set["rate"] && cfg.Rate <= 0 {
		return usage(errors.New("-rate must be positive"))
	}
	if set["rate"] && !set["c"] {
		cfg.Conc = 0 // the open loop's default in-flight cap
	}
	if set["n"] {
		cfg.Duration = 0
		if cfg.Count <= 0 {
			return usage(errors.New("-n must be positive"))
		}
	}
	if set["c"] && cfg.Conc <= 0 {
		return usage(errors.New("-c must be positive"))
	}
	if size != "" {
		n, err := units.ParseSize(size)
		if err != nil {
			return usage(err)
		}
		cfg.Size = n
	}
	if _, err := loadgen.NewReporter(format, &loadgen.Report{}); err != nil {
		return usage(err)
	}
	if err := cfg.Check(); err != nil {
		return usage(err)
	}
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			cfg.Progress = stderr
		}
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	report, _ := loadgen.NewReporter(format, rep)
	if err := report(stdout); err != nil {
		fmt.Fprintf(stderr, "loadgen: write report: %v\n", err)
		return 1
	}
	if n := rep.Metrics.Errors.Total(); n > 0 && !allowErrors {
		fmt.Fprintf(stderr, "loadgen: %d of %d requests failed; first: %s\n", n, rep.Metrics.Requests, rep.Metrics.FirstError)
		return 1
	}
	return 0
}
