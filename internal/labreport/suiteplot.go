package labreport

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette holds 16 colours that stay apart from each other (Tableau 20's
// dark and light pairs, interleaved), so that no two targets share one.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255}, {0, 0, 0, 255}, {174, 199, 232, 255},
	{255, 187, 120, 255}, {152, 223, 138, 255}, {197, 176, 213, 255}, {196, 156, 148, 255},
}

// shapes are the glyphs, cycled with the colours.
var shapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
	draw.PlusGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{},
}

// targetStyle gives target i of a plot its colour and glyph; the default
// target is drawn black, large and thick, peers with dashed lines.
type targetStyle struct {
	line  draw.LineStyle
	glyph draw.GlyphStyle
}

func styleFor(target string, i int) targetStyle {
	c := color.Color(palette[i%len(palette)])
	st := targetStyle{
		line:  draw.LineStyle{Color: c, Width: vg.Points(1.2)},
		glyph: draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: shapes[i%len(shapes)]},
	}
	switch {
	case target == DefaultTarget() || target == DefaultStrategy:
		st.line.Color, st.glyph.Color = color.Black, color.Black
		st.line.Width = vg.Points(2.8)
		st.glyph.Radius = vg.Points(4.5)
		st.glyph.Shape = draw.CircleGlyph{}
	case isPeer(target) && target != ceilingTarget:
		st.line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	case target == ceilingTarget:
		st.line.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2)}
	}
	return st
}

// errPoints is points with asymmetric vertical errors.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// WriteSuitePlots writes the suite's headline figures into dir, each one
// question, every point a median with its interval:
//
//	latency.svg      p99 latency against offered load (ping), one curve per
//	                 target; bars span the rounds' lowest to highest p99,
//	                 grey rings mark harness-bound points
//	cpu-request.svg  proxy CPU per request at fixed load, 95 % CI
//	cpu-gib.svg      proxy CPU-s per GiB at fixed load (blob, chunked), 95 % CI
//	memory.svg       PSS growth against idle streams on fresh processes, with
//	                 each target's fitted line
//
// A figure with no data is not written.
func (s *Set) WriteSuitePlots(dir string) error {
	sc := s.suiteConfigs()
	targets := s.targets(sc.capacity, sc.closed, sc.sweep, sc.fresh)
	index := map[string]int{}
	for i, t := range targets {
		index[t] = i
	}
	if err := s.latencyPlot(filepath.Join(dir, "latency.svg"), sc, index); err != nil {
		return err
	}
	var perReq, perGiB []Config
	for _, c := range sc.capacity {
		if isBulk(c) {
			perGiB = append(perGiB, c)
		} else {
			perReq = append(perReq, c)
		}
	}
	median := func(unit string, scale float64) func(Config, string) Interval {
		return func(c Config, t string) Interval { return MedianCI(s.vals(c, t, unit)).Scale(scale) }
	}
	if err := s.ciPlot(filepath.Join(dir, "cpu-request.svg"), "Proxy CPU per request at fixed load (median, 95% CI)", "µs of CPU per request", perReq, median(unitCPUOp, 1e6), index); err != nil {
		return err
	}
	if err := s.ciPlot(filepath.Join(dir, "cpu-gib.svg"), "Proxy CPU per GiB at fixed load (median, 95% CI)", "CPU-seconds per GiB", perGiB, median(unitCPUGiB, 1), index); err != nil {
		return err
	}
	return s.memoryPlot(filepath.Join(dir, "memory.svg"), sc, index)
}

func (s *Set) latencyPlot(path string, sc suiteConfigs, index map[string]int) error {
	if len(sc.sweep) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "p99 latency against offered load (ping, open loop; bars: lowest to highest round)"
	p.X.Label.Text = "offered load, requests/s (log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Label.Text = "p99 latency, ms (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	drawn, ringLegend := false, false
	for _, t := range s.targets(sc.sweep) {
		var pts errPoints
		for _, c := range sc.sweep {
			xs := s.vals(c, t, "p99-sec")
			if len(xs) == 0 {
				continue
			}
			rate, _ := strconv.ParseFloat(c.Get("rate"), 64)
			m := math.Max(median(xs)*1e3, 1e-3)
			lo, hi := m, m
			for _, x := range xs {
				lo, hi = math.Min(lo, math.Max(x*1e3, 1e-3)), math.Max(hi, x*1e3)
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: rate, Y: m})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{m - lo, hi - m})
		}
		if len(pts.XYs) == 0 {
			continue
		}
		st := styleFor(t, index[t])
		line, points, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			return fmt.Errorf("labreport: %s: %w", path, err)
		}
		line.LineStyle, points.GlyphStyle = st.line, st.glyph
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return fmt.Errorf("labreport: %s: %w", path, err)
		}
		bars.LineStyle = draw.LineStyle{Color: st.line.Color, Width: vg.Points(0.8)}
		p.Add(line, points, bars)
		p.Legend.Add(t, line, points)
		drawn = true
		// Harness-bound points get a grey ring: the client side may
		// have set their latency.
		var bound plotter.XYs
		for _, c := range sc.sweep {
			if s.harnessBound(c, t) {
				rate, _ := strconv.ParseFloat(c.Get("rate"), 64)
				for _, xy := range pts.XYs {
					if xy.X == rate {
						bound = append(bound, xy)
					}
				}
			}
		}
		if len(bound) > 0 {
			rings, err := plotter.NewScatter(bound)
			if err != nil {
				return fmt.Errorf("labreport: %s: %w", path, err)
			}
			rings.GlyphStyle = draw.GlyphStyle{Color: color.Gray{Y: 120}, Radius: vg.Points(8), Shape: draw.RingGlyph{}}
			p.Add(rings)
			if !ringLegend {
				p.Legend.Add("harness-bound (harness CPU ≥ 0.90)", rings)
				ringLegend = true
			}
		}
	}
	if !drawn {
		return nil
	}
	return save(p, 9*vg.Inch, 6*vg.Inch, path)
}

// ciPlot draws, for each configuration, one point per target with its
// 95 % interval; targets along x, configurations told apart by glyph.
func (s *Set) ciPlot(path, title, ylabel string, configs []Config, value func(Config, string) Interval, index map[string]int) error {
	targets := s.targets(configs)
	var shown []string
	for _, t := range targets {
		for _, c := range configs {
			if value(c, t).OK {
				shown = append(shown, t)
				break
			}
		}
	}
	if len(shown) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	seriesShapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}}
	legendDone := make([]bool, len(configs))
	top := 0.0 // the highest interval end, to keep the legend above the data
	for k, c := range configs {
		off := (float64(k) - float64(len(configs)-1)/2) * 0.25
		for j, t := range shown {
			iv := value(c, t)
			if !iv.OK {
				continue
			}
			top = math.Max(top, iv.Hi)
			st := styleFor(t, index[t])
			pts := errPoints{XYs: plotter.XYs{{X: float64(j) + off, Y: iv.Point}}}
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{iv.Point - iv.Lo, iv.Hi - iv.Point})
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return fmt.Errorf("labreport: %s: %w", path, err)
			}
			sc.GlyphStyle = st.glyph
			sc.GlyphStyle.Shape = seriesShapes[k%len(seriesShapes)]
			bars, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return fmt.Errorf("labreport: %s: %w", path, err)
			}
			bars.LineStyle = draw.LineStyle{Color: st.glyph.Color, Width: st.line.Width}
			p.Add(bars, sc)
			if !legendDone[k] && len(configs) > 1 {
				legendDone[k] = true
				legend := *sc
				legend.GlyphStyle.Color = color.Gray{Y: 80}
				p.Legend.Add(shortScenario(c.Keys), &legend)
			}
		}
	}
	p.NominalX(shown...)
	p.X.Tick.Label.Rotation = math.Pi / 5
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.Y.Min = 0
	if len(configs) > 1 && top > 0 {
		p.Y.Max = top * 1.25 // room for the legend above every interval
		p.Legend.Left = true
	}
	width := math.Max(6, 0.7*float64(len(shown))+2)
	return save(p, vg.Length(width)*vg.Inch, 5*vg.Inch, path)
}

// shortScenario is a legend's name for a scenario key:
// "scenario=blob/size=64MiB/rate=4" is "blob 64MiB, 4/s".
func shortScenario(keys string) string {
	name, rest, _ := strings.Cut(strings.TrimPrefix(keys, "scenario="), "/")
	out := name
	for kv := range strings.SplitSeq(rest, "/") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "size":
			out += " " + v
		case "rate":
			out += ", " + v + "/s"
		case "conc":
			out += ", conc " + v
		}
	}
	return out
}

func (s *Set) memoryPlot(path string, sc suiteConfigs, index map[string]int) error {
	if len(sc.fresh) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "Memory held by idle /events streams (fresh process per target; points: each count and repeat)"
	p.X.Label.Text = "idle streams held"
	p.Y.Label.Text = "proxy PSS growth, MiB"
	p.Legend.Top, p.Legend.Left = true, true
	drawn := false
	for _, t := range s.targets(sc.fresh) {
		var pts plotter.XYs
		for _, c := range sc.fresh {
			n, _ := strconv.ParseFloat(c.Get("conc"), 64)
			for _, v := range s.vals(c, t, unitPSSGrowth) {
				pts = append(pts, plotter.XY{X: n, Y: v / 1024})
			}
		}
		if len(pts) == 0 {
			continue
		}
		st := styleFor(t, index[t])
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("labreport: %s: %w", path, err)
		}
		sc.GlyphStyle = st.glyph
		p.Add(sc)
		x, y := make([]float64, len(pts)), make([]float64, len(pts))
		for i, pt := range pts {
			x[i], y[i] = pt.X, pt.Y
		}
		if b, ok := slope(x, y); ok {
			a := (sum(y) - b*sum(x)) / float64(len(x))
			hi := maxOf(x)
			line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: a}, {X: hi, Y: a + b*hi}})
			if err != nil {
				return fmt.Errorf("labreport: %s: %w", path, err)
			}
			line.LineStyle = st.line
			p.Add(line)
			p.Legend.Add(fmt.Sprintf("%s (%.1f KiB/stream)", t, b*1024), line, sc)
		} else {
			p.Legend.Add(t, sc)
		}
		drawn = true
	}
	if !drawn {
		return nil
	}
	p.X.Min, p.Y.Min = 0, 0
	return save(p, 9*vg.Inch, 6*vg.Inch, path)
}

func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

func save(p *plot.Plot, w, h vg.Length, path string) error {
	if err := p.Save(w, h, path); err != nil {
		return fmt.Errorf("labreport: saving %s: %w", path, err)
	}
	return nil
}
