package labreport

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WritePlots writes throughput.svg (median MB/s per strategy for every
// BenchmarkProxy configuration that moves a body) and allocs.svg (proxy-own
// allocations per request per strategy for the small-request
// configurations) into dir. It writes nothing for a plot with no data.
func (s *Set) WritePlots(dir string) error {
	var big, small []Config
	for _, c := range s.Configs("Proxy") {
		switch c.Get("shape") {
		case "blob", "chunked":
			big = append(big, c)
		case "ping", "json", "upgrade":
			small = append(small, c)
		}
	}
	if err := s.barPlot(filepath.Join(dir, "throughput.svg"), "Throughput through the proxy (median)", "MB/s", big,
		func(c Config, st string) (float64, bool) {
			v, _, ok := s.Median(c, st, UnitSpeed)
			return v / 1e6, ok
		}); err != nil {
		return err
	}
	return s.barPlot(filepath.Join(dir, "allocs.svg"), "Proxy-own allocations per request (row − direct, medians)", "allocs/op", small,
		func(c Config, st string) (float64, bool) {
			if st == "direct" {
				return 0, false
			}
			return s.Own(c, st, UnitAllocs)
		})
}

// barPlot draws one group of bars per configuration, one bar per strategy.
func (s *Set) barPlot(path, title, ylabel string, configs []Config, value func(Config, string) (float64, bool)) error {
	if len(configs) == 0 {
		return nil
	}
	var strategies []string
	for _, st := range s.strategies {
		for _, c := range configs {
			if _, ok := value(c, st); ok {
				strategies = append(strategies, st)
				break
			}
		}
	}
	if len(strategies) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	barW := vg.Points(7)
	var top float64
	for i, st := range strategies {
		vals := make(plotter.Values, len(configs))
		for j, c := range configs {
			if v, ok := value(c, st); ok {
				vals[j] = v
				top = max(top, v)
			}
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return fmt.Errorf("labreport: plotting %s: %w", path, err)
		}
		bars.LineStyle.Width = 0
		// One colour per strategy (plotutil's 7 repeat), the default black.
		bars.Color = palette[i%len(palette)]
		if st == DefaultStrategy {
			bars.Color = color.Black
		}
		bars.Offset = vg.Length(float64(i)-float64(len(strategies)-1)/2) * barW
		p.Add(bars)
		p.Legend.Add(st, bars)
	}
	labels := make([]string, len(configs))
	for j, c := range configs {
		labels[j] = strings.ReplaceAll(strings.ReplaceAll(c.Keys, "shape=", ""), "/", "\n")
	}
	p.NominalX(labels...)
	// Room above the bars for the legend (one line per strategy), which
	// would cover them otherwise.
	p.Y.Min = 0
	p.Y.Max = top * (1 + 0.075*float64(len(strategies)))
	width := vg.Length(len(configs)*len(strategies)+2*len(configs)) * barW
	if width < 6*vg.Inch {
		width = 6 * vg.Inch
	}
	if err := p.Save(width, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("labreport: saving %s: %w", path, err)
	}
	return nil
}
