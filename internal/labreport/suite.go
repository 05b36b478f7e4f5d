package labreport

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// suiteColumn is one column of the suite summary.
type suiteColumn struct {
	c      Config
	unit   string
	header string
	scale  float64 // multiply the median by this for display
	format string
}

// WriteSuite writes the cross-process suite (BenchmarkLoadgen results) as
// one row per target: throughput for each scenario (req/s for requests,
// MB/s for bulk bodies), p99 latency, the proxy's CPU per request or per
// GiB, and memory per idle stream; medians of the rounds.
func (s *Set) WriteSuite(w io.Writer) error {
	var cols []suiteColumn
	for _, c := range s.Configs("Loadgen") {
		sc := strings.ReplaceAll(c.Keys, "scenario=", "")
		switch c.Get("scenario") {
		case "streams":
			cols = append(cols, suiteColumn{c, "KiB/stream", "KiB/stream", 1, "%.1f"})
		case "blob", "chunked", "save":
			cols = append(cols,
				suiteColumn{c, UnitSpeed, sc + " MB/s", 1e-6, "%.0f"},
				suiteColumn{c, "proxy-cpu-s/GiB", "cpu-s/GiB", 1, "%.2f"},
				suiteColumn{c, "proxy-peak-pss-KiB", "peak MiB", 1.0 / 1024, "%.1f"})
		default:
			cols = append(cols,
				suiteColumn{c, "req/s", sc + " req/s", 1, "%.0f"},
				suiteColumn{c, "p99-sec", "p99", 1e3, "%.2fms"},
				suiteColumn{c, "proxy-cpu-sec/op", "cpu/req", 1e6, "%.0fµs"})
		}
	}
	if len(cols) == 0 {
		return nil
	}
	var targets []string
	for _, st := range s.strategies {
		for _, col := range cols {
			if _, ok := s.Samples[col.c][st]; ok {
				targets = append(targets, st)
				break
			}
		}
	}
	fmt.Fprintln(w, "cross-process suite: medians per target (throughput, p99 latency, proxy CPU, memory per idle stream)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "target\t")
	for _, col := range cols {
		fmt.Fprint(tw, col.header+"\t")
	}
	fmt.Fprintln(tw)
	for _, t := range targets {
		fmt.Fprint(tw, t+"\t")
		for _, col := range cols {
			if v, _, ok := s.Median(col.c, t, col.unit); ok {
				fmt.Fprintf(tw, col.format+"\t", v*col.scale)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// The splice issue's goals, from the cross-process suite: for big chunked
// bodies (and a real docker save, when the suite ran against dockerd) the
// best sockproxy target must spend at most SpliceMaxCPU proxy CPU-seconds
// per GiB and reach at least SpliceMinSpeed of direct's throughput.
const (
	SpliceMaxCPU   = 0.5
	SpliceMinSpeed = 0.8
)

// WriteSpliceGoals writes, for each bulk suite configuration with a
// chunked body (scenario chunked or save), the sockproxy target with the
// least median proxy CPU per GiB, its throughput against direct's, and the
// reference figures of stdlib and the peers.
func (s *Set) WriteSpliceGoals(w io.Writer) error {
	var configs []Config
	for _, c := range s.Configs("Loadgen") {
		if sc := c.Get("scenario"); sc == "chunked" || sc == "save" {
			configs = append(configs, c)
		}
	}
	if len(configs) == 0 {
		return nil
	}
	fmt.Fprintf(w, "splice goals (suite medians; best sockproxy target by proxy CPU-s/GiB, goal ≤ %.2f, and its throughput ÷ direct's, goal ≥ %.2fx):\n", SpliceMaxCPU, SpliceMinSpeed)
	for _, c := range configs {
		best, bestV := "", math.Inf(1)
		for _, t := range s.Strategies(c) {
			if !strings.HasPrefix(t, "sockproxy-") || strings.HasPrefix(t, "sockproxy-stdlib") {
				continue
			}
			if v, _, ok := s.Median(c, t, "proxy-cpu-s/GiB"); ok && v < bestV {
				best, bestV = t, v
			}
		}
		if best == "" {
			fmt.Fprintf(w, "  %-32s no sockproxy target measured\n", c.Keys)
			continue
		}
		line := fmt.Sprintf("  %-32s best=%s cpu-s/GiB %.2f (%s)", c.Keys, best, bestV, verdict(bestV <= SpliceMaxCPU))
		speed, _, ok1 := s.Median(c, best, UnitSpeed)
		direct, _, ok2 := s.Median(c, "direct", UnitSpeed)
		if ok1 && ok2 && direct > 0 {
			r := speed / direct
			line += fmt.Sprintf("; MB/s %.0f = %.2fx direct (%s)", speed*1e-6, r, verdict(r >= SpliceMinSpeed))
		}
		var refs []string
		for _, t := range []string{"sockproxy-stdlib", "sockproxy-pooled", "haproxy", "nginx"} {
			if v, _, ok := s.Median(c, t, "proxy-cpu-s/GiB"); ok {
				refs = append(refs, fmt.Sprintf("%s %.2f", t, v))
			}
		}
		if len(refs) > 0 {
			line += "; for reference: " + strings.Join(refs, ", ")
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
