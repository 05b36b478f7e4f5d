package soak

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sample is one observation of the watched process.
type Sample struct {
	Elapsed time.Duration // since the first sample
	RSSKiB  int64         // VmRSS
	Threads int64         // Threads
	FDs     int64         // entries of /proc/PID/fd
	Streams int64         // idle streams still open
	Slow    int64         // slow readers still reading
}

// csvHeader names the columns WriteCSV writes.
var csvHeader = []string{"elapsed_s", "rss_kib", "threads", "fds", "streams", "slow"}

// Read samples process pid from /proc.
func Read(pid int) (Sample, error) {
	var s Sample
	status := filepath.Join("/proc", strconv.Itoa(pid), "status")
	f, err := os.Open(status)
	if err != nil {
		return s, fmt.Errorf("soak: read %s: %w", status, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			s.RSSKiB = n
		case "Threads":
			s.Threads = n
		}
	}
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return s, fmt.Errorf("soak: read %s: %w", fdDir, err)
	}
	s.FDs = int64(len(ents))
	return s, nil
}

// WriteCSVHeader writes the CSV header line.
func WriteCSVHeader(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	cw.Flush()
	return cw.Error()
}

// WriteCSV writes s as one CSV row.
func WriteCSV(w io.Writer, s Sample) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{
		strconv.FormatFloat(s.Elapsed.Seconds(), 'f', 1, 64),
		strconv.FormatInt(s.RSSKiB, 10),
		strconv.FormatInt(s.Threads, 10),
		strconv.FormatInt(s.FDs, 10),
		strconv.FormatInt(s.Streams, 10),
		strconv.FormatInt(s.Slow, 10),
	})
	cw.Flush()
	return cw.Error()
}

// Limits says how much growth Judge tolerates.
type Limits struct {
	Percent    float64 // relative growth allowed, last third over first third (20 means 20 %)
	RSSKiB     int64   // absolute floor for RSS growth
	Threads    int64   // absolute floor for thread growth
	FDs        int64   // absolute floor for descriptor growth
	MinStreams int64   // streams that must stay open to the end
	MinSlow    int64   // slow readers that must still be reading at the end
}

// DefaultLimits are the limits of `make soak`: 20 %, and floors of
// 32 MiB, 16 threads and 64 descriptors.
var DefaultLimits = Limits{Percent: 20, RSSKiB: 32 << 10, Threads: 16, FDs: 64}

// Judge returns an error naming every metric that grew beyond the limits,
// and streams or slow readers that were dropped.
func Judge(samples []Sample, lim Limits) error {
	var errs []error
	if n := len(samples); n > 0 && samples[n-1].Streams < lim.MinStreams {
		errs = append(errs, fmt.Errorf("soak: %d of %d idle streams still open at the end", samples[n-1].Streams, lim.MinStreams))
	}
	if n := len(samples); n > 0 && samples[n-1].Slow < lim.MinSlow {
		errs = append(errs, fmt.Errorf("soak: %d of %d slow readers still reading at the end", samples[n-1].Slow, lim.MinSlow))
	}
	if len(samples) < 3 {
		return errors.Join(errs...)
	}
	third := len(samples) / 3
	first, last := samples[:third], samples[len(samples)-third:]
	check := func(name string, get func(Sample) int64, floor int64) {
		a, b := mean(first, get), mean(last, get)
		if b > a*(1+lim.Percent/100) && b-a > float64(floor) {
			errs = append(errs, fmt.Errorf("soak: %s grew from %.0f (first third) to %.0f (last third): more than %g %% and %d",
				name, a, b, lim.Percent, floor))
		}
	}
	check("rss_kib", func(s Sample) int64 { return s.RSSKiB }, lim.RSSKiB)
	check("threads", func(s Sample) int64 { return s.Threads }, lim.Threads)
	check("fds", func(s Sample) int64 { return s.FDs }, lim.FDs)
	return errors.Join(errs...)
}

func mean(ss []Sample, get func(Sample) int64) float64 {
	var sum float64
	for _, s := range ss {
		sum += float64(get(s))
	}
	return sum / float64(len(ss))
}

// Streams holds idle GET /events streams open.
type Streams struct {
	open atomic.Int64
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
	cs   []net.Conn
}

// Open opens n idle /events streams to the HTTP server at addr
// (host:port), 64 at a time, and waits until each has its response
// header. Each stream is then read in the background; a stream that ends
// or fails before Close counts as dropped.
func Open(ctx context.Context, addr string, n int) (*Streams, error) {
	s := &Streams{}
	sem := make(chan struct{}, 64)
	var opening sync.WaitGroup
	for range n {
		sem <- struct{}{}
		opening.Add(1)
		go func() {
			defer func() { <-sem; opening.Done() }()
			c, br, err := openStream(ctx, addr)
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				s.errs = append(s.errs, err)
				return
			}
			s.cs = append(s.cs, c)
			s.open.Add(1)
			s.wg.Add(1)
			go s.hold(c, br)
		}()
	}
	opening.Wait()
	if len(s.errs) > 0 {
		err := fmt.Errorf("soak: %d of %d streams to %s failed to open: %w", len(s.errs), n, addr, s.errs[0])
		s.Close()
		return nil, err
	}
	return s, nil
}

// hold reads a stream until it ends, then counts it as closed.
func (s *Streams) hold(c net.Conn, br *bufio.Reader) {
	defer s.wg.Done()
	io.Copy(io.Discard, br)
	s.open.Add(-1)
}

// Count returns how many streams are still open.
func (s *Streams) Count() int64 { return s.open.Load() }

// Close closes every stream and waits for their readers.
func (s *Streams) Close() {
	s.mu.Lock()
	for _, c := range s.cs {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func openStream(ctx context.Context, addr string) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET /events?every=1h HTTP/1.1\r\nHost: docker\r\n\r\n"); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("GET /events via %s: %w", addr, err)
	}
	br := bufio.NewReaderSize(c, 512)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("GET /events via %s: %w", addr, err)
	}
	if res.StatusCode != http.StatusOK {
		c.Close()
		return nil, nil, fmt.Errorf("GET /events via %s: %s", addr, res.Status)
	}
	c.SetDeadline(time.Time{})
	return c, br, nil
}
