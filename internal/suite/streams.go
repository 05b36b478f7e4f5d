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

// idleSettle is how long the streams idle before the proxy's memory is
// measured: past sockproxy's default -park-idle (proxy.DefaultParkIdle).
const idleSettle = 3 * time.Second

// idleStreams opens cfg.Streams idle `GET /events` streams through t, waits
// until every one has its response headers and then idleSettle, and
// reports the proxy's memory (PSS) per open stream: (PSS holding them −
// PSS before) ÷ streams.
func idleStreams(ctx context.Context, cfg Config, t *Target) error {
	addr := strings.TrimPrefix(t.URL, "http://")
	pid := t.PID()
	before := treePSS(pid)
	conns := make([]net.Conn, cfg.Streams)
	errs := make([]error, cfg.Streams)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			conns[i], errs[i] = openStream(ctx, addr)
		}()
	}
	wg.Wait()
	held := 0
	var firstErr error
	for _, err := range errs {
		if err == nil {
			held++
		} else if firstErr == nil {
			firstErr = err
		}
	}
	// Measure streams that are idle, not ones just opened: sockproxy parks
	// a stream idle for its -park-idle (1ms by default).
	select {
	case <-time.After(idleSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	after := treePSS(pid)
	if held == 0 {
		return fmt.Errorf("suite: no idle stream through %s could be opened: %w", t.Name, firstErr)
	}
	if firstErr != nil {
		fmt.Fprintf(cfg.Log, "  suite: %s held %d of %d streams; first error: %v\n", t.Name, held, cfg.Streams, firstErr)
	}
	fmt.Fprintf(cfg.Out, "BenchmarkLoadgen/target=%s/scenario=streams/conc=%d\t1\t%.2f KiB/stream\t%d streams\t%d pss-KiB\n",
		t.Name, cfg.Streams, float64(after-before)/float64(held), held, after)
	return nil
}

// openStream opens one /events stream and reads its response headers.
func openStream(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
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
