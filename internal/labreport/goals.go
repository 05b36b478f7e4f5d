package labreport

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// A Goal is one of the lab's stated targets: on configuration Keys of
// BenchmarkProxy, the best project strategy's own cost in each of Units must
// be at most Max times stdlib's.
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

// verdict words a goal's outcome.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// reference strategies are not candidates for "best".
func isReference(strategy string) bool {
	return strategy == "direct" || strings.HasPrefix(strategy, "stdlib")
}

// The goals compare with stdlib over Go's transport: the baseline users run.

// WriteGoals writes, for each goal, the best project strategy (least own
// cost in the goal's first unit) and each ratio against stdlib, met or not.
func (s *Set) WriteGoals(w io.Writer) error {
	fmt.Fprintln(w, "goals (best project strategy's own cost ÷ stdlib's own cost, same run):")
	for _, g := range Goals {
		c := Config{Base: "Proxy", Keys: g.Keys}
		if _, ok := s.Samples[c]; !ok {
			fmt.Fprintf(w, "  %-32s not measured in this run\n", g.Keys)
			continue
		}
		best, bestV := "", math.Inf(1)
		for _, st := range s.Strategies(c) {
			if isReference(st) {
				continue
			}
			if v, ok := s.Own(c, st, g.Units[0]); ok && v < bestV {
				best, bestV = st, v
			}
		}
		if best == "" {
			fmt.Fprintf(w, "  %-32s no project strategy measured\n", g.Keys)
			continue
		}
		var parts []string
		for i, u := range g.Units {
			own, ok1 := s.Own(c, best, u)
			ref, ok2 := s.Own(c, "stdlib", u)
			if !ok1 || !ok2 || ref <= 0 {
				parts = append(parts, fmt.Sprintf("%s n/a", u))
				continue
			}
			r := own / ref
			parts = append(parts, fmt.Sprintf("%s %.2fx (goal ≤ %.2fx: %s)", u, r, g.Max[i], verdict(r <= g.Max[i])))
		}
		fmt.Fprintf(w, "  %-32s best=%-10s %s\n", g.Keys, best, strings.Join(parts, "; "))
	}
	return nil
}
