package labreport

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// A Goal is one of the lab's stated targets: on configuration Keys of
// BenchmarkProxy, the default strategy's own cost in each of Units must be
// at most Max times stdlib's.
type Goal struct {
	Keys  string
	Units []string
	Max   []float64
}

// Goals are the lab issue's targets, checked from results, never by a test.
var Goals = []Goal{
	{Keys: "shape=ping/conc=64", Units: []string{UnitTime, UnitAllocs, UnitBytes}, Max: []float64{0.67, 0.5, 0.5}},
	{Keys: "shape=json/size=1536B/conc=64", Units: []string{UnitTime, UnitAllocs, UnitBytes}, Max: []float64{0.67, 0.5, 0.5}},
	{Keys: "shape=chunked/size=64MiB", Units: []string{UnitCPU}, Max: []float64{0.7}},
	{Keys: "shape=blob/size=64MiB", Units: []string{UnitCPU}, Max: []float64{0.7}},
}

// DefaultStrategy is the configuration the goals are judged on: sockproxy's
// default strategy over its default transport, as BenchmarkProxy names it
// (the suite's target is "sockproxy-" + DefaultStrategy).
var DefaultStrategy = "lean-raw"

// verdict words a goal's outcome from an interval: "met" when all of it is
// strictly on the good side of the goal (under max, or with atLeast above
// it), "MISSED" when all of it is on the wrong side, and "not shown" when
// it straddles the goal (whether the median meets it is said too).
func verdict(iv Interval, max float64, atLeast bool) string {
	if !iv.OK {
		return "n/a"
	}
	// Strictly: an interval that ends on the goal has not shown it.
	good := func(v float64) bool {
		if atLeast {
			return v > max
		}
		return v < max
	}
	switch {
	case good(iv.Lo) && good(iv.Hi):
		return "met"
	case !good(iv.Lo) && !good(iv.Hi):
		return "MISSED"
	case good(iv.Point):
		return "not shown: the interval crosses the goal, the median meets it"
	}
	return "not shown: the interval crosses the goal, the median misses it"
}

// reference strategies are not candidates for "best".
func isReference(strategy string) bool {
	return strategy == "direct" || strings.HasPrefix(strategy, "stdlib")
}

// ownRatio is the paired own-cost ratio of strategy against stdlib, with
// its interval.
func (s *Set) ownRatio(c Config, strategy, unit string) Interval {
	by := s.Samples[c]
	return PairedRatioCI(by[strategy][unit], by["stdlib"][unit], by["direct"][unit])
}

// WriteGoals writes, for each goal, the default strategy's own cost ÷
// stdlib's (per-round paired, median, 95 % bootstrap interval) and its
// verdict; then, apart, the best project strategy (least median own cost
// in the goal's first unit), which is selected after the fact from many
// noisy candidates and judged on the same data, so it is no verdict.
func (s *Set) WriteGoals(w io.Writer) error {
	fmt.Fprintf(w, "goals, judged on the default (%s): own cost (row − direct, paired per round) ÷ stdlib's own cost,\n", DefaultStrategy)
	fmt.Fprintf(w, "median and %.0f %% bootstrap interval over the rounds; met only when the whole interval is under the goal:\n", Level*100)
	for _, g := range Goals {
		c := Config{Base: "Proxy", Keys: g.Keys}
		if _, ok := s.Samples[c]; !ok {
			fmt.Fprintf(w, "  %-32s not measured in this run\n", g.Keys)
			continue
		}
		if _, ok := s.Samples[c][DefaultStrategy]; !ok {
			fmt.Fprintf(w, "  %-32s the default was not measured\n", g.Keys)
			continue
		}
		var parts []string
		for i, u := range g.Units {
			iv := s.ownRatio(c, DefaultStrategy, u)
			if !iv.OK {
				parts = append(parts, fmt.Sprintf("%s n/a (an own cost is not positive or rounds are unpaired)", u))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s (n=%d; goal ≤ %.2fx: %s)", u, iv.Format("%.2fx"), iv.N, g.Max[i], verdict(iv, g.Max[i], false)))
		}
		fmt.Fprintf(w, "  %-32s %s\n", g.Keys, strings.Join(parts, "; "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "best of (selected after the fact: the least median own cost in the first unit among the project's strategies,")
	fmt.Fprintln(w, "then measured on the same data, so biased low; for reference, not a verdict):")
	for _, g := range Goals {
		c := Config{Base: "Proxy", Keys: g.Keys}
		if _, ok := s.Samples[c]; !ok {
			continue
		}
		best, bestV, n := "", math.Inf(1), 0
		for _, st := range s.Strategies(c) {
			if isReference(st) {
				continue
			}
			n++
			if v, ok := s.Own(c, st, g.Units[0]); ok && v < bestV {
				best, bestV = st, v
			}
		}
		if best == "" {
			fmt.Fprintf(w, "  %-32s no project strategy measured\n", g.Keys)
			continue
		}
		iv := s.ownRatio(c, best, g.Units[0])
		fmt.Fprintf(w, "  %-32s best of %d = %s: %s %s\n", g.Keys, n, best, g.Units[0], iv.Format("%.2fx"))
	}
	return nil
}
