// Command soak watches a proxy process during `make soak`: it holds idle
// Docker event streams and slow readers (one byte per second of a 1 GiB
// body) open through it, samples its RSS, threads and open descriptors
// into a CSV file, and exits 1 if any grew without bound, a stream was
// dropped or a slow reader's connection broke. See package internal/soak.
//
// Usage:
//
//	soak -target HOST:PORT -pid PID -csv FILE [-streams N] [-slow N] [-slow-every D] [-d D] [-warmup D] [-every D]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/internal/soak"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) int {
	cfg := soak.Config{Limits: soak.DefaultLimits}
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Target, "target", "", "proxy `HOST:PORT` (required)")
	fs.IntVar(&cfg.PID, "pid", 0, "the proxy's process `ID` (required)")
	fs.StringVar(&cfg.CSV, "csv", "", "`FILE` for the samples (required)")
	fs.IntVar(&cfg.Streams, "streams", 1000, "idle /events streams to hold open")
	fs.IntVar(&cfg.Slow, "slow", 10, "slow readers of a 1 GiB body to hold open (0: none)")
	fs.DurationVar(&cfg.SlowEvery, "slow-every", time.Second, "a slow reader reads one byte per `D`")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Minute, "sampling `DURATION`, after -warmup")
	fs.DurationVar(&cfg.Warmup, "warmup", 10*time.Second, "wait `D` after opening the streams before the first sample")
	fs.DurationVar(&cfg.Every, "every", 10*time.Second, "sampling interval `D`")
	fs.Float64Var(&cfg.Limits.Percent, "growth", cfg.Limits.Percent, "allowed growth in `PERCENT`, last third over first third")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.Target == "" || cfg.PID == 0 || cfg.CSV == "" || fs.NArg() > 0 || cfg.Every <= 0 || cfg.Slow < 0 || cfg.SlowEvery <= 0 {
		fmt.Fprintln(stderr, "soak: -target, -pid and -csv are required, -every and -slow-every must be > 0, -slow >= 0, and no arguments")
		fs.Usage()
		return 2
	}
	if err := soak.Run(ctx, cfg, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
