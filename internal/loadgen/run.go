package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Config is one run, as the command line gives it. The zero value of each
// field says what it does.
type Config struct {
	// Target is "http://host:port" or "unix:///path/to.sock".
	Target string
	// Name labels the target in benchmark names; "" means
	// Target.DefaultName ("direct" for a Unix socket, else host:port).
	Name string
	// Scenario is one of Scenarios().
	Scenario string
	// Size is the body or message size; 0 means DefaultSize(Scenario) (for
	// json: the simulator's default list of 10 entries).
	Size int64
	// Mix weighs the scenarios of "mix", e.g. "ping=80,json=15,chunked=5".
	Mix string
	// Conc is the closed loop's connections (0 means 16), or with Rate the
	// cap on requests in flight (0 means DefaultInFlight).
	Conc int
	// Rate, when positive, runs an open loop at Rate requests per second.
	Rate float64
	// Count, when positive, ends the run after that many measured
	// requests; otherwise Duration does (0 means 10s).
	Count    int64
	Duration time.Duration
	// Warmup runs first and is not measured.
	Warmup time.Duration
	// Timeout bounds each request or round trip; 0 means 30s.
	Timeout time.Duration
	// Every is the events scenario's interval between events (the
	// simulator's /events?every=); 0 means DefaultEvery. Other scenarios
	// take none.
	Every time.Duration
	// Client is "raw" (or ""), the lean built-in HTTP/1.1 client, or
	// "std", net/http's Client, for the ping, json, blob, chunked, docker
	// and mix scenarios (events always use net/http; attach its own
	// upgraded connection).
	Client string
	// Progress, when non-nil, receives a live one-line display (req/s,
	// errors, p99 so far), rewritten with \r about 4 times a second.
	Progress io.Writer
}

// Check validates c, so that flag errors can be told from run failures.
func (c *Config) Check() error {
	if _, err := ParseTarget(c.Target); err != nil {
		return err
	}
	if strings.ContainsAny(c.Name, "/= \t") {
		return fmt.Errorf("invalid -name %q: no '/', '=' or spaces", c.Name)
	}
	known := false
	for _, s := range Scenarios() {
		known = known || s == c.Scenario
	}
	if !known {
		return fmt.Errorf("unknown scenario %q (want one of %s)", c.Scenario, strings.Join(Scenarios(), ", "))
	}
	if c.Scenario == "mix" {
		if _, _, err := ParseMix(c.Mix); err != nil {
			return err
		}
	} else if c.Mix != "" {
		return errors.New("-mix needs -scenario mix")
	}
	if c.Scenario == "events" && c.Rate > 0 {
		return errors.New("scenario events is paced by the server: use -c, not -rate")
	}
	if c.Every != 0 && c.Scenario != "events" {
		return errors.New("-every needs -scenario events")
	}
	if c.Client != "" && c.Client != "raw" && c.Client != "std" {
		return fmt.Errorf("unknown -client %q (want raw or std)", c.Client)
	}
	if c.Size < 0 {
		return errors.New("-size must not be negative")
	}
	if c.Scenario == "save" && c.Size != 0 {
		return errors.New("scenario save has no -size: it saves " + SaveImage + " whatever its size")
	}
	if c.Conc < 0 || c.Rate < 0 || c.Count < 0 || c.Duration < 0 || c.Warmup < 0 || c.Timeout < 0 || c.Every < 0 {
		return errors.New("-c, -rate, -n, -d, -warmup, -timeout and -every must not be negative")
	}
	return nil
}

// Run prepares the scenario against the target, attacks it as cfg says, and
// returns the report. An error means the run could not start (a bad
// target or scenario, or preparation failed); failed requests are counted
// in the report instead.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	target, _ := ParseTarget(cfg.Target)
	if cfg.Name == "" {
		cfg.Name = target.DefaultName()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Count == 0 && cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Count > 0 {
		cfg.Duration = 0
	}
	plan := Plan{Conc: cfg.Conc, Count: cfg.Count, Duration: cfg.Duration, Warmup: cfg.Warmup}
	if cfg.Rate > 0 {
		plan.Pacer = ConstantPacer{Rate: cfg.Rate}
		if plan.Conc == 0 {
			plan.Conc = DefaultInFlight
		}
	} else if plan.Conc == 0 {
		plan.Conc = 16
	}
	client := target.client(plan.Conc, cfg.Timeout)
	defer client.CloseIdleConnections()
	e := &env{target: target, client: client, size: cfg.Size, timeout: cfg.Timeout, stdClient: cfg.Client == "std", every: cfg.Every}
	pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	scen, err := newScenario(pctx, cfg.Scenario, cfg.Mix, e)
	cancel()
	if err != nil {
		return nil, err
	}
	size := cfg.Size
	if size == 0 {
		size = DefaultSize(cfg.Scenario)
	}
	rep := &Report{
		Env: CurrentEnv(), Target: cfg.Target, Name: cfg.Name, Scenario: cfg.Scenario, Size: size,
		Mix: cfg.Mix, Client: cfg.Client, Conc: plan.Conc, Rate: cfg.Rate, Duration: cfg.Duration, Count: cfg.Count,
		Warmup: cfg.Warmup,
	}
	var mu sync.Mutex
	add := func(r *Result) {
		mu.Lock()
		rep.Metrics.Add(r)
		mu.Unlock()
	}
	stop := func() {}
	if cfg.Progress != nil {
		stop = startProgress(cfg.Progress, &mu, &rep.Metrics)
	}
	Attack(ctx, scen, plan, add)
	stop()
	rep.Metrics.Close()
	return rep, nil
}

// startProgress rewrites one status line on w every 250ms until the
// returned stop is called, which clears the line.
func startProgress(w io.Writer, mu *sync.Mutex, m *Metrics) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-t.C:
				mu.Lock()
				n, errs, p99 := m.Requests, m.Errors.Total(), m.Quantile(0.99)
				var rate float64
				if el := now.Sub(m.Earliest); n > 0 && el > 0 {
					rate = float64(n) / el.Seconds()
				}
				mu.Unlock()
				fmt.Fprintf(w, "\r\033[K%d requests  %.0f req/s  %d errors  p99 %s", n, rate, errs, fmtDur(p99))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
