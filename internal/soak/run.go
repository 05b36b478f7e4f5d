package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Config is one soak watch.
type Config struct {
	Target    string        // proxy address, host:port
	PID       int           // the proxy's process id
	Streams   int           // idle /events streams to hold open
	Slow      int           // slow readers of a 1 GiB body to hold open (see SlowReaders); 0 means none
	SlowEvery time.Duration // a slow reader's pace: one byte per SlowEvery; must be > 0 when Slow > 0
	Duration  time.Duration // how long to sample, after Warmup
	Warmup    time.Duration // wait after opening the streams before the first sample
	Every     time.Duration // sampling interval
	CSV       string        // file the samples are written to
	Limits    Limits        // growth judged at the end; MinStreams is set to Streams, MinSlow to Slow
}

// Run opens the streams, then the slow readers, waits Warmup, samples
// every Every for Duration (a sample at both ends), writes a summary line
// to out for the streams, the samples and the slow readers, closes the
// streams and the slow readers, and returns Judge's verdict joined with
// the reason each broken slow reader broke.
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
	var slow *SlowReaders
	if cfg.Slow > 0 {
		if slow, err = OpenSlow(ctx, cfg.Target, cfg.Slow, cfg.SlowEvery); err != nil {
			return err
		}
		defer slow.Close()
		fmt.Fprintf(out, "soak: %d slow readers open (GET %s, in turn), each reading one byte per %s\n",
			cfg.Slow, strings.Join(SlowPaths, ", GET "), cfg.SlowEvery)
	}

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
		if slow != nil {
			s.Slow = slow.Count()
		}
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
	fmt.Fprintf(out, "soak: %d samples over %s: rss %d -> %d KiB (%.1f -> %.1f MiB), threads %d -> %d, fds %d -> %d, streams open %d of %d\n",
		len(samples), last.Elapsed.Round(time.Second), first.RSSKiB, last.RSSKiB,
		float64(first.RSSKiB)/1024, float64(last.RSSKiB)/1024, first.Threads, last.Threads,
		first.FDs, last.FDs, last.Streams, cfg.Streams)
	var slowErr error
	if slow != nil {
		fmt.Fprintf(out, "soak: %s\n", slowSummary(slow.Bytes(), last.Slow, cfg.SlowEvery))
		slowErr = slow.Err()
	}
	lim := cfg.Limits
	lim.MinStreams = int64(cfg.Streams)
	lim.MinSlow = int64(cfg.Slow)
	return errors.Join(Judge(samples, lim), slowErr)
}

// slowSummary says how far the slow readers got: how many were still
// reading at the last sample, and the body bytes they read.
func slowSummary(bytes []int64, open int64, every time.Duration) string {
	if len(bytes) == 0 {
		return "no slow readers"
	}
	lo, hi, sum := bytes[0], bytes[0], int64(0)
	for _, n := range bytes {
		lo, hi, sum = min(lo, n), max(hi, n), sum+n
	}
	return fmt.Sprintf("%d of %d slow readers still reading at the end (one byte per %s); %d body bytes read in all, %d to %d each",
		open, len(bytes), every, sum, lo, hi)
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
