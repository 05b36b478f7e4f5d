package labreport

import "path/filepath"

// WritePlots writes the Go benchmarks' figures into dir, each a median
// with its 95 % bootstrap interval per strategy, the default drawn black:
//
//	throughput.svg  MB/s through the proxy for 64 MiB bodies (blob, chunked)
//	allocs.svg      proxy-own allocations per request (row − direct, paired
//	                per round) on the goals' small-request rows
//
// It writes nothing for a plot with no data. The suite's figures are
// [Set.WriteSuitePlots]'s.
func (s *Set) WritePlots(dir string) error {
	var big, small []Config
	for _, c := range s.Configs("Proxy") {
		switch {
		case (c.Get("shape") == "blob" || c.Get("shape") == "chunked") && c.Get("size") == "64MiB":
			big = append(big, c)
		case c.Keys == Goals[0].Keys || c.Keys == Goals[1].Keys:
			small = append(small, c)
		}
	}
	index := map[string]int{}
	for i, st := range s.strategies {
		index[st] = i
	}
	if err := s.ciPlot(filepath.Join(dir, "throughput.svg"), "Throughput through the proxy, 64 MiB bodies (median, 95% CI)", "MB/s", big,
		func(c Config, st string) Interval { return MedianCI(s.Samples[c][st][UnitSpeed]).Scale(1e-6) }, index); err != nil {
		return err
	}
	return s.ciPlot(filepath.Join(dir, "allocs.svg"), "Proxy-own allocations per request (row − direct, paired; median, 95% CI)", "allocs/op", small,
		func(c Config, st string) Interval {
			if st == "direct" {
				return Interval{}
			}
			return PairedDiffCI(s.Samples[c][st][UnitAllocs], s.Samples[c]["direct"][UnitAllocs])
		}, index)
}
