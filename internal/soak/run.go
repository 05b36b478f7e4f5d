package soak

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Config is one soak watch.
type Config struct {
	Target   string        // proxy address, host:port
	PID      int           // the proxy's process id
	Streams  int           // idle /events streams to hold open
	Duration time.Duration // how long to sample, after Warmup
	Warmup   time.Duration // wait after opening the streams before the first sample
	Every    time.Duration // sampling interval
	CSV      string        // file the samples are written to
	Limits   Limits        // growth judged at the end; MinStreams is set to Streams
}

// Run opens the streams, waits Warmup, samples every Every for Duration
// (a sample at both ends), writes a summary line per metric to out, closes
// the streams and returns Judge's verdict.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	f, err := os.Create(cfg.CSV)
	if err != nil {
		return fmt.Errorf("soak: create %s: %w", cfg.CSV, err)
	}
	defer f.Close()
	if err := WriteCSVHeader(f); err != nil {
		return fmt.Errorf("soak: write %s: %w", cfg.CSV, err)
	}
	before, err := Read(cfg.PID)
	if err != nil {
		return err
	}
	streams, err := Open(ctx, cfg.Target, cfg.Streams)
	if err != nil {
		return err
	}
	defer streams.Close()
	held, err := Read(cfg.PID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "soak: %d idle streams open: rss %d -> %d KiB (%.1f KiB/stream), threads %d -> %d, fds %d -> %d\n",
		cfg.Streams, before.RSSKiB, held.RSSKiB, float64(held.RSSKiB-before.RSSKiB)/float64(max(cfg.Streams, 1)),
		before.Threads, held.Threads, before.FDs, held.FDs)

	if !sleep(ctx, cfg.Warmup) {
		return ctx.Err()
	}
	var samples []Sample
	start := time.Now()
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	for {
		s, err := Read(cfg.PID)
		if err != nil {
			return err
		}
		s.Elapsed = time.Since(start)
		s.Streams = streams.Count()
		samples = append(samples, s)
		if err := WriteCSV(f, s); err != nil {
			return fmt.Errorf("soak: write %s: %w", cfg.CSV, err)
		}
		if s.Elapsed >= cfg.Duration {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	first, last := samples[0], samples[len(samples)-1]
	fmt.Fprintf(out, "soak: %d samples over %s: rss %d -> %d KiB, threads %d -> %d, fds %d -> %d, streams open %d of %d\n",
		len(samples), last.Elapsed.Round(time.Second), first.RSSKiB, last.RSSKiB, first.Threads, last.Threads,
		first.FDs, last.FDs, last.Streams, cfg.Streams)
	lim := cfg.Limits
	lim.MinStreams = int64(cfg.Streams)
	return Judge(samples, lim)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
