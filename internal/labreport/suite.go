package labreport

import (
	"fmt"
	"io"
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
		case "blob", "chunked":
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
