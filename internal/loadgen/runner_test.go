package loadgen

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeScenario runs operations in memory; block, when non-nil, holds each
// operation until it is closed.
type fakeScenario struct {
	block chan struct{}
}

func (s *fakeScenario) NewConn(int) Conn { return fakeConn{s} }

type fakeConn struct{ s *fakeScenario }

func (c fakeConn) Do(ctx context.Context) Outcome {
	if c.s.block != nil {
		<-c.s.block
	}
	return Outcome{Bytes: 1}
}

func (fakeConn) Close() error { return nil }

type collector struct {
	mu  sync.Mutex
	res []*Result
	m   Metrics
}

func (c *collector) add(r *Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res = append(c.res, r)
	c.m.Add(r)
}

func (c *collector) snapshot() Metrics {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m
}

func TestConstantPacer(t *testing.T) {
	start := time.Unix(1000, 0)
	p := ConstantPacer{Rate: 400}
	for i, want := range []time.Duration{0, 2500 * time.Microsecond, 5 * time.Millisecond, 2500 * time.Millisecond} {
		n := []int64{0, 1, 2, 1000}[i]
		if got := p.Intended(start, n).Sub(start); got != want {
			t.Errorf("Intended(start, %d) = start+%v; want start+%v", n, got, want)
		}
	}
}

// The open loop hands each operation its scheduled time, whatever the
// machine's timing: latency counts from there.
func TestOpenLoopSchedule(t *testing.T) {
	var c collector
	Attack(context.Background(), &fakeScenario{}, Plan{Pacer: ConstantPacer{Rate: 2000}, Count: 50}, c.add)
	if len(c.res) != 50 {
		t.Fatalf("got %d results; want 50", len(c.res))
	}
	slices.SortFunc(c.res, func(a, b *Result) int { return a.Intended.Compare(b.Intended) })
	t0 := c.res[0].Intended
	for i, r := range c.res {
		if got, want := r.Intended.Sub(t0), time.Duration(i)*500*time.Microsecond; got != want {
			t.Errorf("result %d intended at +%v; want +%v", i, got, want)
		}
		if r.Start.Before(r.Intended) {
			t.Errorf("result %d started %v before its intended time", i, r.Intended.Sub(r.Start))
		}
		if r.Latency != r.End.Sub(r.Intended) {
			t.Errorf("result %d latency %v; want End-Intended %v", i, r.Latency, r.End.Sub(r.Intended))
		}
	}
}

// With every worker stuck, sends beyond the in-flight cap are dropped and
// counted, not queued.
func TestOpenLoopDrops(t *testing.T) {
	s := &fakeScenario{block: make(chan struct{})}
	var c collector
	done := make(chan struct{})
	go func() {
		defer close(done)
		Attack(context.Background(), s, Plan{Pacer: ConstantPacer{Rate: 10000}, Conc: 2, Count: 5}, c.add)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for c.snapshot().Dropped < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(s.block)
	<-done
	m := c.snapshot()
	if m.Dropped != 3 || m.Requests != 2 {
		t.Errorf("dropped %d, requests %d; want 3 and 2", m.Dropped, m.Requests)
	}
}

func TestClosedLoopCount(t *testing.T) {
	var c collector
	Attack(context.Background(), &fakeScenario{}, Plan{Conc: 8, Count: 1000}, c.add)
	if m := c.snapshot(); m.Requests != 1000 || m.Bytes != 1000 {
		t.Errorf("requests %d, bytes %d; want 1000 each", m.Requests, m.Bytes)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	done := make(chan struct{})
	go func() {
		defer close(done)
		Attack(ctx, &fakeScenario{}, Plan{Conc: 4, Duration: time.Hour}, c.add)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for c.snapshot().Requests < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

func TestMetrics(t *testing.T) {
	t0 := time.Unix(100, 0)
	var m Metrics
	m.Add(&Result{Intended: t0.Add(-time.Second), End: t0, Latency: time.Hour, Warmup: true})
	for i := range 1000 {
		lat := time.Duration(i+1) * time.Microsecond
		m.Add(&Result{Intended: t0.Add(time.Duration(i) * time.Millisecond), End: t0.Add(time.Duration(i)*time.Millisecond + lat), Latency: lat, Bytes: 10})
	}
	m.Add(&Result{Intended: t0, End: t0, Err: &Error{Kind: KindTimeout, Err: context.DeadlineExceeded}})
	m.Close()
	if m.Requests != 1001 || m.Success != 1000 || m.Errors.Timeout != 1 || m.Dropped != 0 || m.Bytes != 10000 {
		t.Errorf("requests %d success %d timeouts %d dropped %d bytes %d; want 1001 1000 1 0 10000",
			m.Requests, m.Success, m.Errors.Timeout, m.Dropped, m.Bytes)
	}
	if want := 999*time.Millisecond + 1000*time.Microsecond; m.Elapsed != want {
		t.Errorf("elapsed %v; want %v (warmup excluded)", m.Elapsed, want)
	}
	near := func(name string, got, want time.Duration) {
		if d := got - want; d < -want/500 || d > want/500 {
			t.Errorf("%s = %v; want %v ± 0.2%%", name, got, want)
		}
	}
	near("p50", m.Latency.P50, 500*time.Microsecond)
	near("p99", m.Latency.P99, 990*time.Microsecond)
	near("max", m.Latency.Max, 1000*time.Microsecond)
}

// A dropped send counts in the latency quantiles as answered at the end of
// the run: 10 of 100 sends dropped at t0 put p95 at the run's length.
func TestMetricsDroppedLatency(t *testing.T) {
	t0 := time.Unix(100, 0)
	var m Metrics
	for i := range 90 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		m.Add(&Result{Intended: at, End: at.Add(time.Millisecond), Latency: time.Millisecond})
	}
	for range 10 {
		m.Add(&Result{Intended: t0, End: t0, Dropped: true})
	}
	m.Close()
	if m.Requests != 90 || m.Dropped != 10 {
		t.Errorf("requests %d dropped %d; want 90 and 10", m.Requests, m.Dropped)
	}
	end := 90 * time.Millisecond // the last send's end
	if got := m.Quantile(0.95); got < end-end/500 || got > end+end/500 {
		t.Errorf("p95 = %v; want the run's length %v", got, end)
	}
	if got := m.Latency.P50; got < time.Millisecond-2*time.Microsecond || got > time.Millisecond+2*time.Microsecond {
		t.Errorf("p50 = %v; want 1ms", got)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func TestProgress(t *testing.T) {
	var out lockedBuffer
	var mu sync.Mutex
	m := &Metrics{}
	mu.Lock()
	m.Add(&Result{Intended: time.Now().Add(-time.Second), End: time.Now(), Latency: time.Millisecond})
	mu.Unlock()
	stop := startProgress(&out, &mu, m)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "1 requests") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	got := out.String()
	if !strings.Contains(got, "\r\033[K1 requests") || !strings.Contains(got, "p99 1.00ms") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress output %q; want a \\r-rewritten line with 1 requests and p99 1.00ms, cleared at the end", got)
	}
}

// Cancelling a run stops it promptly even with every worker blocked in a
// read, for each kind of connection.
func TestCancelBlocked(t *testing.T) {
	ln, accepted := listenSilent(t)
	for i, scenario := range []string{"ping", "attach"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan *Report)
		go func() {
			rep, err := Run(ctx, Config{Target: "unix://" + ln, Scenario: scenario, Conc: 2, Duration: time.Hour})
			if err != nil {
				t.Error(err)
			}
			done <- rep
		}()
		deadline := time.Now().Add(10 * time.Second)
		for accepted() < 2*(i+1) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case rep := <-done:
			if rep != nil && rep.Metrics.Errors.Total() != 0 {
				t.Errorf("%s: %d errors after cancel; want none (cut-short operations are not reported)", scenario, rep.Metrics.Errors.Total())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: Run did not return within 20s of cancel", scenario)
		}
	}
}
