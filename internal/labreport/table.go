package labreport

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteOwnCost writes, for every BenchmarkProxy configuration, each
// strategy's proxy-own cost ([Set.Own]: row − `direct`, paired per round) in time/op,
// B/op, allocs/op and, where reported, CPU per byte, with its ratio to
// `stdlib`'s own cost.
func (s *Set) WriteOwnCost(w io.Writer) error {
	fmt.Fprintln(w, "proxy-own cost = row − direct (median of the per-round differences over n rounds); ratios against stdlib's own cost")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tstrategy\tn\ttime/op\tvs stdlib\tB/op\tvs stdlib\tallocs/op\tvs stdlib\tcpu-ns/B\tvs stdlib\t")
	for _, c := range s.Configs("Proxy") {
		for _, st := range s.Strategies(c) {
			if st == "direct" {
				continue
			}
			_, n, _ := s.Median(c, st, UnitTime)
			fmt.Fprintf(tw, "%s\t%s\t%d\t", c.Keys, st, n)
			for _, u := range []string{UnitTime, UnitBytes, UnitAllocs, UnitCPU} {
				own, ok := s.Own(c, st, u)
				if !ok {
					fmt.Fprint(tw, "-\t-\t")
					continue
				}
				ref, _ := s.Own(c, "stdlib", u)
				fmt.Fprintf(tw, "%s\t%s\t", formatUnit(own, u), ratio(own, ref))
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

// formatUnit formats v, given in unit u, for a table.
func formatUnit(v float64, u string) string {
	switch u {
	case UnitTime:
		return formatNs(v * 1e9)
	case UnitBytes:
		return formatBytes(v)
	case UnitCPU:
		return fmt.Sprintf("%.3f", v*1e9)
	}
	return fmt.Sprintf("%.0f", v)
}

func formatNs(ns float64) string {
	a := ns
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1e9:
		return fmt.Sprintf("%.3gs", ns/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.3gms", ns/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.3gµs", ns/1e3)
	}
	return fmt.Sprintf("%.3gns", ns)
}

func formatBytes(b float64) string {
	a := b
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1<<20:
		return fmt.Sprintf("%.3gMiB", b/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.3gKiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0fB", b)
}
