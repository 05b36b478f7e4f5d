// Package labreport turns the lab's raw Go benchmark output into what
// benchstat cannot compute: the proxy's own cost (a BenchmarkProxy row minus
// the `direct` row with the same shape, size and concurrency), its ratio to
// `stdlib`, the goals checked against it, and SVG plots.
//
// It reads benchfmt (the files `make bench` writes as gotest.txt and
// loadgen.txt), groups results by benchmark name without the strategy (or
// target) key, and summarises every group of samples by its median, as
// benchstat does. Rounds are interleaved, so sample i of every group ran
// in round i: own costs and ratios are computed from per-round paired
// differences, and every ratio a goal is judged on carries a 95 %
// percentile bootstrap interval (rounds resampled whole, a fixed seed, so
// that a report is reproducible from its raw files; see [Interval]). A goal
// is met only when its whole interval is on the right side of it, and it
// is judged on the default configuration; the best of all strategies is
// reported beside it, marked as selected after the fact.
package labreport

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// Units the report reads, in benchfmt's normalised spelling.
const (
	UnitTime   = "sec/op"
	UnitBytes  = "B/op"
	UnitAllocs = "allocs/op"
	UnitSpeed  = "B/s"
	UnitCPU    = "cpu-sec/B" // reported by the benchmarks as cpu-ns/B
)

// Config is one benchmark configuration without its strategy: the base name
// and the other keys in their original order, e.g. "Proxy" and
// "shape=blob/size=64MiB".
type Config struct {
	Base string
	Keys string
}

// Get returns the value of key in c.Keys, or "".
func (c Config) Get(key string) string {
	for _, kv := range strings.Split(c.Keys, "/") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func (c Config) String() string { return c.Base + "/" + c.Keys }

// Set holds every sample read, by configuration, strategy (or loadgen
// target) and unit.
type Set struct {
	// Samples[config][strategy][unit] is the list of values seen.
	Samples map[Config]map[string]map[string][]float64
	// order keeps configurations and strategies in first-seen order, the
	// order the benchmarks ran in.
	configs    []Config
	strategies []string
}

// Read parses benchfmt from every reader into one Set. Lines that are not
// benchmark results are ignored; syntax errors are returned.
func Read(files map[string]io.Reader) (*Set, error) {
	s := &Set{Samples: map[Config]map[string]map[string][]float64{}}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		r := benchfmt.NewReader(files[name], name)
		for r.Scan() {
			switch rec := r.Result().(type) {
			case *benchfmt.SyntaxError:
				return nil, fmt.Errorf("labreport: %w", rec)
			case *benchfmt.Result:
				s.add(rec)
			}
		}
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("labreport: reading %s: %w", name, err)
		}
	}
	return s, nil
}

// ReadFiles is Read over named files on disk.
func ReadFiles(paths ...string) (*Set, error) {
	m := map[string]io.Reader{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("labreport: %w", err)
		}
		defer f.Close()
		m[p] = f
	}
	return Read(m)
}

func (s *Set) add(r *benchfmt.Result) {
	base, parts := r.Name.Parts()
	strategy, transport, pol, metrics := "", "", "", ""
	var keys []string
	for _, p := range parts {
		ps := string(p)
		if !strings.HasPrefix(ps, "/") {
			continue // the -GOMAXPROCS suffix
		}
		kv := ps[1:]
		// The column key: the strategy in BenchmarkProxy and
		// BenchmarkCopy, the target in BenchmarkLoadgen.
		if v, ok := strings.CutPrefix(kv, "strategy="); ok {
			strategy = v
			continue
		}
		if v, ok := strings.CutPrefix(kv, "target="); ok {
			strategy = v
			continue
		}
		// A transport other than the default is part of the column, as
		// in the suite's target names (sockproxy-pooled-raw), so that a
		// raw row meets the direct row of its configuration.
		if v, ok := strings.CutPrefix(kv, "transport="); ok {
			transport = v
			continue
		}
		// So is a policy (a restricted proxy: splice-chunked-raw-traefik).
		if v, ok := strings.CutPrefix(kv, "policy="); ok {
			pol = v
			continue
		}
		// And metrics (an observed proxy: splice-chunked-raw-metrics).
		if v, ok := strings.CutPrefix(kv, "metrics="); ok {
			if v != "off" {
				metrics = "metrics"
			}
			continue
		}
		keys = append(keys, kv)
	}
	if strategy == "" {
		return
	}
	if transport != "" && transport != "std" {
		strategy += "-" + transport
	}
	if pol != "" {
		strategy += "-" + pol
	}
	if metrics != "" {
		strategy += "-" + metrics
	}
	c := Config{Base: string(base), Keys: strings.Join(keys, "/")}
	byStrategy, ok := s.Samples[c]
	if !ok {
		byStrategy = map[string]map[string][]float64{}
		s.Samples[c] = byStrategy
		s.configs = append(s.configs, c)
	}
	byUnit, ok := byStrategy[strategy]
	if !ok {
		byUnit = map[string][]float64{}
		byStrategy[strategy] = byUnit
	}
	if !slices.Contains(s.strategies, strategy) {
		s.strategies = append(s.strategies, strategy)
	}
	for _, v := range r.Values {
		byUnit[v.Unit] = append(byUnit[v.Unit], v.Value)
	}
}

// Configs returns the configurations of base in first-seen order.
func (s *Set) Configs(base string) []Config {
	var out []Config
	for _, c := range s.configs {
		if c.Base == base {
			out = append(out, c)
		}
	}
	return out
}

// Strategies returns the strategies seen for c, in first-seen order.
func (s *Set) Strategies(c Config) []string {
	var out []string
	for _, st := range s.strategies {
		if _, ok := s.Samples[c][st]; ok {
			out = append(out, st)
		}
	}
	return out
}

// Median returns the median of the samples of (c, strategy, unit) and how
// many there were; ok is false when there are none.
func (s *Set) Median(c Config, strategy, unit string) (med float64, n int, ok bool) {
	xs := s.Samples[c][strategy][unit]
	if len(xs) == 0 {
		return 0, 0, false
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	m := len(ys) / 2
	if len(ys)%2 == 1 {
		return ys[m], len(ys), true
	}
	return (ys[m-1] + ys[m]) / 2, len(ys), true
}

// Own returns the proxy's own cost for (c, strategy, unit): the median of
// the per-round differences row − direct when both have one sample per
// round (the rounds are interleaved, so sample i of each ran in round i),
// else the difference of the medians. ok is false when either is missing.
func (s *Set) Own(c Config, strategy, unit string) (float64, bool) {
	a, d := s.Samples[c][strategy][unit], s.Samples[c]["direct"][unit]
	if len(a) == 0 || len(d) == 0 {
		return 0, false
	}
	if len(a) == len(d) {
		return median(diffs(a, d)), true
	}
	return median(a) - median(d), true
}

// ratio formats a/b, or "-" where it has no meaning.
func ratio(a, b float64) string {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
