package suite

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RaiseNoFile raises this process's open-file limit to its hard limit, so
// that the suite, and the proxies it starts (which inherit it), can hold
// thousands of streams.
func RaiseNoFile() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// settle is how long streams idle before a reading: past sockproxy's
// default -park-idle (proxy.DefaultParkIdle) by far.
func (cfg Config) settle() time.Duration {
	if cfg.Settle > 0 {
		return cfg.Settle
	}
	return 2 * time.Second
}

// streamSet is a set of idle /events streams through one target.
type streamSet struct {
	t     *Target
	conns []net.Conn
	err   error // the first failure to open one
}

// grow opens streams until n are held (or fewer, counting failures).
func (s *streamSet) grow(ctx context.Context, n int) {
	want := n - len(s.conns)
	if want <= 0 {
		return
	}
	got := make([]net.Conn, want)
	errs := make([]error, want)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range got {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got[i], errs[i] = openStream(ctx, s.t.URL)
		}()
	}
	wg.Wait()
	for i, c := range got {
		if c != nil {
			s.conns = append(s.conns, c)
		} else if s.err == nil {
			s.err = errs[i]
		}
	}
}

func (s *streamSet) close() {
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// idleStreams opens cfg.Streams idle `GET /events` streams through t (the
// process that carried the load), waits cfg.settle(), and reports the
// proxy's memory (PSS) per open stream as scenario=streams: (PSS holding
// them − PSS before) ÷ streams. This is memory after load: the heap the
// process grew under load is reused first, so it reads lower than on a
// fresh process (see memory).
func idleStreams(ctx context.Context, cfg Config, t *Target) error {
	pid := t.PID()
	before := treePSS(pid)
	set := &streamSet{t: t}
	defer set.close()
	set.grow(ctx, min(cfg.Streams, limit(t)))
	if err := sleep(ctx, cfg.settle()); err != nil {
		return err
	}
	after := treePSS(pid)
	held := len(set.conns)
	if held == 0 {
		return fmt.Errorf("suite: no idle stream through %s could be opened: %w", t.Name, set.err)
	}
	if set.err != nil {
		fmt.Fprintf(cfg.Log, "  suite: %s held %d of %d streams; first error: %v\n", t.Name, held, cfg.Streams, set.err)
	}
	fmt.Fprintf(cfg.Out, "BenchmarkLoadgen/target=%s/scenario=streams/conc=%d\t1\t%.2f KiB/stream\t%d streams\t%d pss-KiB\n",
		t.Name, cfg.Streams, float64(after-before)/float64(held), held, after)
	return nil
}

func limit(t *Target) int {
	if t.MaxStreams > 0 {
		return t.MaxStreams
	}
	return 1 << 30
}

// memory measures memory per idle stream on fresh processes: for each
// repeat and target, a new instance of the target (direct: the simulator
// alone) holds each of cfg.StreamCounts idle /events streams in turn
// (opened on top of the previous count) and, after cfg.settle(), one line
// per count goes out as scenario=streams-fresh/conc=N:
//
//	KiB/stream   (PSS now − PSS before any stream) ÷ streams held
//	pss-KiB      the PSS growth itself, for a fit over the counts
//	kernel-KiB   growth of the machine's slab and TCP socket buffers (both
//	             ends of every connection, and the simulator's; compare
//	             with direct's)
//
// Counts above a target's MaxStreams are skipped.
func memory(ctx context.Context, cfg Config, targets []*Target) error {
	if len(cfg.StreamCounts) == 0 {
		return nil
	}
	for rep := 1; rep <= max(cfg.MemRepeats, 1); rep++ {
		for _, t := range targets {
			if t.Only != "" {
				continue
			}
			fresh := t
			if t.start != nil {
				var err error
				fresh, err = t.start(ctx, fmt.Sprintf("-fresh%d", rep))
				if err != nil {
					return fmt.Errorf("suite: a fresh %s: %w", t.Name, err)
				}
			}
			fmt.Fprintf(cfg.Log, "  suite memory %d of %d: idle streams %v → a fresh %s\n", rep, max(cfg.MemRepeats, 1), cfg.StreamCounts, t.Name)
			err := memoryCurve(ctx, cfg, fresh)
			if fresh != t {
				fresh.Stop()
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func memoryCurve(ctx context.Context, cfg Config, t *Target) error {
	pid := t.PID()
	if err := sleep(ctx, cfg.settle()/4); err != nil { // a fresh process finishes starting
		return err
	}
	var pss0 int64
	if pid != 0 {
		pss0 = treePSS(pid)
	}
	kern0 := kernelKiB()
	set := &streamSet{t: t}
	defer set.close()
	for _, n := range cfg.StreamCounts {
		if n > limit(t) {
			continue
		}
		set.grow(ctx, n)
		held := len(set.conns)
		if held < n {
			fmt.Fprintf(cfg.Log, "  suite: %s held %d of %d streams; first error: %v\n", t.Name, held, n, set.err)
		}
		if held == 0 {
			return fmt.Errorf("suite: no idle stream through %s could be opened: %w", t.Name, set.err)
		}
		if err := sleep(ctx, cfg.settle()); err != nil {
			return err
		}
		kern := kernelKiB() - kern0
		line := fmt.Sprintf("BenchmarkLoadgen/target=%s/scenario=streams-fresh/conc=%d\t1", t.Name, n)
		if pid != 0 {
			pss := treePSS(pid) - pss0
			line += fmt.Sprintf("\t%.2f KiB/stream\t%d pss-KiB", float64(pss)/float64(held), pss)
		}
		line += fmt.Sprintf("\t%d streams\t%.2f kernel-KiB/stream\t%d kernel-KiB", held, float64(kern)/float64(held), kern)
		fmt.Fprintln(cfg.Out, line)
		if held < n {
			break
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// openStream opens one /events stream through url (http://host:port or
// unix:///path) and reads its response headers.
func openStream(ctx context.Context, url string) (net.Conn, error) {
	network, addr := "tcp", strings.TrimPrefix(url, "http://")
	if p, ok := strings.CutPrefix(url, "unix://"); ok {
		network, addr = "unix", p
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("GET /events?every=1h HTTP/1.1\r\nHost: docker\r\n\r\n")); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("GET /events: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
