package labreport

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The suite's units, as cmd/labsuite and loadgen write them (benchfmt
// normalises -ns units to -sec).
const (
	unitReqs       = "req/s"
	unitCPUOp      = "proxy-cpu-sec/op"
	unitCPUGiB     = "proxy-cpu-s/GiB"
	unitHarness    = "harness-util"
	unitProxyUtil  = "proxy-util"
	unitPSSGrowth  = "pss-KiB"
	unitKernel     = "kernel-KiB"
	unitPerStream  = "KiB/stream"
	unitDropped    = "dropped/op"
	unitLate       = "late/op"
	scenarioFresh  = "streams-fresh"
	scenarioAfter  = "streams"
	scenarioPair   = "socketpair"
	scenarioEvents = "events"
	ceilingTarget  = "relay"
	harnessWarning = " H"
)

// The suite's upload goal: the default target's proxy CPU per GiB
// uploaded ÷ per GiB downloaded with the same framing (load ÷ blob,
// load-chunked ÷ chunked), paired per round.
const UploadMaxRatio = 1.10

// uploadPairs maps an upload scenario to its download of the same framing.
var uploadPairs = map[string]string{"load": "blob", "load-chunked": "chunked"}

// HarnessBound is the harness CPU use (in cores: loadgen and the simulator
// on their own CPU) from which a row is flagged harness-bound: the client
// side, not the target, may have set the pace.
const HarnessBound = 0.9

// The suite's goals, judged on the default target at fixed load (CPU) and
// in the closed loop (throughput), and on fresh processes (memory).
const (
	SpliceMaxCPU   = 0.5  // proxy CPU-s per GiB, chunked and blob 64 MiB
	SpliceMinSpeed = 0.8  // throughput ÷ direct's, chunked 64 MiB
	MemoryMaxKiB   = 16.0 // KiB per idle stream, fresh process
)

// DefaultTarget is the suite's name for the default.
func DefaultTarget() string { return "sockproxy-" + DefaultStrategy }

func isPeer(t string) bool { return !strings.HasPrefix(t, "sockproxy-") && t != "direct" }

// suiteConfigs sorts the Loadgen configurations: closed-loop runs, the
// fixed-rate capacity run per scenario (the rate with the most samples),
// the ping rate sweep (every rate), memory (fresh, after load) and the
// socketpair ceiling.
type suiteConfigs struct {
	closed, capacity, sweep, fresh, after, pair, events []Config
}

func (s *Set) suiteConfigs() suiteConfigs {
	var sc suiteConfigs
	byScenario := map[string][]Config{}
	var order []string
	for _, c := range s.Configs("Loadgen") {
		switch name := c.Get("scenario"); {
		case name == scenarioFresh:
			sc.fresh = append(sc.fresh, c)
		case name == scenarioAfter:
			sc.after = append(sc.after, c)
		case name == scenarioPair:
			sc.pair = append(sc.pair, c)
		case name == scenarioEvents:
			sc.events = append(sc.events, c)
		case c.Get("rate") != "":
			key := strings.Split(c.Keys, "/rate=")[0]
			if _, ok := byScenario[key]; !ok {
				order = append(order, key)
			}
			byScenario[key] = append(byScenario[key], c)
			if name == "ping" {
				sc.sweep = append(sc.sweep, c)
			}
		default:
			sc.closed = append(sc.closed, c)
		}
	}
	for _, key := range order {
		cs := byScenario[key]
		best, bestN := cs[0], -1
		for _, c := range cs {
			if n := s.maxSamples(c); n > bestN {
				best, bestN = c, n
			}
		}
		sc.capacity = append(sc.capacity, best)
	}
	slices.SortStableFunc(sc.sweep, func(a, b Config) int {
		ra, _ := strconv.ParseFloat(a.Get("rate"), 64)
		rb, _ := strconv.ParseFloat(b.Get("rate"), 64)
		return cmp.Compare(ra, rb)
	})
	return sc
}

// maxSamples is the most samples any target has in c.
func (s *Set) maxSamples(c Config) int {
	n := 0
	for _, byUnit := range s.Samples[c] {
		for _, xs := range byUnit {
			n = max(n, len(xs))
		}
	}
	return n
}

// targets returns the targets seen in any of configs, in first-seen order.
func (s *Set) targets(configs ...[]Config) []string {
	var out []string
	for _, st := range s.strategies {
		for _, cs := range configs {
			for _, c := range cs {
				if _, ok := s.Samples[c][st]; ok && !slices.Contains(out, st) {
					out = append(out, st)
				}
			}
		}
	}
	return out
}

func (s *Set) vals(c Config, t, unit string) []float64 { return s.Samples[c][t][unit] }

// harnessBound reports whether t's median harness use in c reaches HarnessBound.
func (s *Set) harnessBound(c Config, t string) bool {
	xs := s.vals(c, t, unitHarness)
	return len(xs) > 0 && median(xs) >= HarnessBound
}

func (s *Set) flag(c Config, t string) string {
	if s.harnessBound(c, t) {
		return harnessWarning
	}
	return ""
}

func fmtMed(xs []float64, scale float64, f string) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf(f, median(xs)*scale)
}

// WriteSuite writes the cross-process suite's tables: capacity at fixed
// load, the closed loop, latency against offered load, memory per idle
// stream, and the ceilings. Every figure is a median over the rounds, an
// interval in brackets its 95 % bootstrap interval; "H" marks a row whose
// harness CPU (loadgen and the simulator, on a CPU of their own) was at
// HarnessBound or more of a core: its throughput and latency describe the
// harness at least as much as the target.
func (s *Set) WriteSuite(w io.Writer) error {
	sc := s.suiteConfigs()
	if len(sc.closed)+len(sc.capacity)+len(sc.fresh)+len(sc.after)+len(sc.events) == 0 {
		return nil
	}
	if len(sc.capacity) > 0 {
		s.writeCapacity(w, sc)
		fmt.Fprintln(w)
	}
	if len(sc.closed) > 0 {
		s.writeClosed(w, sc)
		fmt.Fprintln(w)
	}
	if len(sc.events) > 0 {
		s.writeEvents(w, sc)
		fmt.Fprintln(w)
	}
	if len(sc.sweep) > 0 {
		s.writeSweep(w, sc)
		fmt.Fprintln(w)
	}
	if len(sc.fresh)+len(sc.after) > 0 {
		s.writeMemory(w, sc)
		fmt.Fprintln(w)
	}
	s.writeCeilings(w, sc)
	return nil
}

func (s *Set) writeCapacity(w io.Writer, sc suiteConfigs) {
	fmt.Fprintf(w, "capacity at fixed load (open loop, proxy on its own CPU): proxy CPU per request or per GiB, median [%.0f %% CI];\n", Level*100)
	fmt.Fprintln(w, "util = CPU used ÷ wall time, in cores (proxy; harness = loadgen + simulator + labsuite, H at ≥ 0.90); × relay = ÷ the relay ceiling's CPU")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "target\t")
	for _, c := range sc.capacity {
		name := strings.ReplaceAll(c.Keys, "scenario=", "")
		if isBulk(c) {
			fmt.Fprintf(tw, "%s cpu-s/GiB\t× relay\t", name)
		} else {
			fmt.Fprintf(tw, "%s cpu/req\t× relay\t", name)
		}
		fmt.Fprint(tw, "proxy util\tharness util\t")
	}
	fmt.Fprintln(tw)
	for _, t := range s.targets(sc.capacity) {
		fmt.Fprint(tw, t+"\t")
		for _, c := range sc.capacity {
			unit, scale, f := unitCPUOp, 1e6, "%.1fµs"
			if isBulk(c) {
				unit, scale, f = unitCPUGiB, 1, "%.2f"
			}
			iv := MedianCI(s.vals(c, t, unit)).Scale(scale)
			fmt.Fprintf(tw, "%s\t%s\t", iv.Format(f), s.ceilingRatio(c, t, unit))
			fmt.Fprintf(tw, "%s\t%s%s\t", fmtMed(s.vals(c, t, unitProxyUtil), 1, "%.2f"), fmtMed(s.vals(c, t, unitHarness), 1, "%.2f"), s.flag(c, t))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func isBulk(c Config) bool {
	switch c.Get("scenario") {
	case "blob", "chunked", "save", "load", "load-chunked":
		return true
	}
	return false
}

// ceilingRatio is t's median ÷ the relay's in c, unit.
func (s *Set) ceilingRatio(c Config, t, unit string) string {
	a, b := s.vals(c, t, unit), s.vals(c, ceilingTarget, unit)
	if len(a) == 0 || len(b) == 0 || median(b) <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", median(a)/median(b))
}

func (s *Set) writeClosed(w io.Writer, sc suiteConfigs) {
	fmt.Fprintln(w, "closed loop (secondary: it measures the slower of the target and the harness): req/s or MB/s and p99, medians;")
	fmt.Fprintln(w, "× relay = ÷ the relay ceiling's throughput; H = harness-bound (harness util ≥ 0.90)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "target\t")
	for _, c := range sc.closed {
		name := strings.ReplaceAll(c.Keys, "scenario=", "")
		if isBulk(c) {
			fmt.Fprintf(tw, "%s MB/s\t× relay\tp99\t", name)
		} else {
			fmt.Fprintf(tw, "%s req/s\t× relay\tp99\t", name)
		}
	}
	fmt.Fprintln(tw)
	for _, t := range s.targets(sc.closed) {
		fmt.Fprint(tw, t+"\t")
		for _, c := range sc.closed {
			unit, scale := unitReqs, 1.0
			if isBulk(c) {
				unit, scale = UnitSpeed, 1e-6
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t", fmtMed(s.vals(c, t, unit), scale, "%.0f"), s.flag(c, t),
				s.ceilingRatio(c, t, unit), fmtMed(s.vals(c, t, "p99-sec"), 1e3, "%.2fms"))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// addedDelay is t's delivery delay at quantile unit (p50-sec, p99-sec)
// minus direct's, paired per round, in seconds.
func (s *Set) addedDelay(c Config, t, unit string) Interval {
	return PairedDiffCI(s.vals(c, t, unit), s.vals(c, "direct", unit))
}

func (s *Set) writeEvents(w io.Writer, sc suiteConfigs) {
	fmt.Fprintln(w, "stream delivery delay (one /events stream per run, events at a fixed interval): receipt − the event's send time (timeNano);")
	fmt.Fprintf(w, "added = the target's quantile − direct's in the same round, median over the rounds [%.0f %% CI]; cpu/event = proxy CPU per event\n", Level*100)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trun\tn\tevents/s\tp50\tadded p50\tp99\tadded p99\tcpu/event\tharness util\t")
	for _, c := range sc.events {
		run := strings.ReplaceAll(c.Keys, "scenario=", "")
		for _, t := range s.targets([]Config{c}) {
			p50, p99 := s.vals(c, t, "p50-sec"), s.vals(c, t, "p99-sec")
			if len(p50) == 0 {
				continue
			}
			added50, added99 := "-", "-"
			if t != "direct" {
				added50 = s.addedDelay(c, t, "p50-sec").Scale(1e6).Format("%.0fµs")
				added99 = s.addedDelay(c, t, "p99-sec").Scale(1e6).Format("%.0fµs")
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\t\n", t, run, len(p50), fmtMed(s.vals(c, t, unitReqs), 1, "%.0f"),
				fmtMed(p50, 1e6, "%.0fµs"), added50, fmtMed(p99, 1e6, "%.0fµs"), added99,
				fmtMed(s.vals(c, t, unitCPUOp), 1e6, "%.1fµs"), fmtMed(s.vals(c, t, unitHarness), 1, "%.2f"), s.flag(c, t))
		}
	}
	tw.Flush()
}

func (s *Set) writeSweep(w io.Writer, sc suiteConfigs) {
	fmt.Fprintln(w, "latency against offered load (ping, open loop; a late or dropped send counts from its intended time): medians over the rounds;")
	fmt.Fprintln(w, "a target is run at the next rate only while it keeps the last one (no drops, ≥ 90 % achieved)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\toffered req/s\tn\tachieved req/s\tp50\tp99\tp99.9\tdropped/op\tharness util\t")
	for _, t := range s.targets(sc.sweep) {
		for _, c := range sc.sweep {
			reqs := s.vals(c, t, unitReqs)
			if len(reqs) == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s%s\t\n", t, c.Get("rate"), len(reqs), fmtMed(reqs, 1, "%.0f"),
				fmtMed(s.vals(c, t, "p50-sec"), 1e3, "%.2fms"), fmtMed(s.vals(c, t, "p99-sec"), 1e3, "%.2fms"),
				fmtMed(s.vals(c, t, "p999-sec"), 1e3, "%.2fms"), fmtMed(zeroFill(s.vals(c, t, unitDropped), len(reqs)), 1, "%.3f"),
				fmtMed(s.vals(c, t, unitHarness), 1, "%.2f"), s.flag(c, t))
		}
	}
	tw.Flush()
}

// zeroFill pads xs with zeros to n: loadgen writes dropped/op only when
// there were drops.
func zeroFill(xs []float64, n int) []float64 {
	out := slices.Clone(xs)
	for len(out) < n {
		out = append(out, 0)
	}
	return out
}

// memoryFit is one target's memory per idle stream on fresh processes.
type memoryFit struct {
	pss, kernel Interval
	counts      []float64
}

// freshFit fits the PSS growth (and the kernel's) against the stream
// count over every fresh process and count measured for t.
func (s *Set) freshFit(sc suiteConfigs, t string) memoryFit {
	var x, y, xk, yk []float64
	var counts []float64
	for _, c := range sc.fresh {
		n, _ := strconv.ParseFloat(c.Get("conc"), 64)
		for _, v := range s.vals(c, t, unitPSSGrowth) {
			x, y = append(x, n), append(y, v)
		}
		for _, v := range s.vals(c, t, unitKernel) {
			xk, yk = append(xk, n), append(yk, v)
		}
		if len(s.vals(c, t, "streams")) > 0 {
			counts = append(counts, n)
		}
	}
	return memoryFit{pss: SlopeCI(x, y), kernel: SlopeCI(xk, yk), counts: counts}
}

func (s *Set) writeMemory(w io.Writer, sc suiteConfigs) {
	fmt.Fprintf(w, "memory per idle /events stream: on fresh processes, the slope of PSS growth against the stream count (least squares\n")
	fmt.Fprintf(w, "over every count and repeat, [%.0f %% CI]); kernel = slope of the machine's slab + TCP buffers, both ends, minus direct's;\n", Level*100)
	fmt.Fprintln(w, "mean at the most = PSS growth ÷ streams at the largest count (with the start-up share the slope leaves out);")
	fmt.Fprintln(w, "after load = PSS growth per stream on the process that carried the load (its heap already grown)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tfresh KiB/stream\tcounts\tmean at the most\tkernel KiB/stream\tafter load KiB/stream\t")
	direct := s.freshFit(sc, "direct").kernel
	for _, t := range s.targets(sc.fresh, sc.after) {
		if t == "direct" {
			continue
		}
		fit := s.freshFit(sc, t)
		kern := "-"
		if fit.kernel.OK && direct.OK {
			kern = fmt.Sprintf("%.1f", fit.kernel.Point-direct.Point)
		}
		var counts []string
		for _, n := range slices.Compact(fit.counts) {
			counts = append(counts, strconv.FormatFloat(n, 'f', -1, 64))
		}
		after := "-"
		for _, c := range sc.after {
			if xs := s.vals(c, t, unitPerStream); len(xs) > 0 {
				after = fmt.Sprintf("%.1f (%s)", median(xs), c.Get("conc"))
			}
		}
		// The mean per stream at the largest count, beside the slope: a
		// fresh process also pays a fixed start-up share that the mean
		// spreads over the streams and the slope leaves out.
		mean := "-"
		for _, c := range sc.fresh {
			if xs := s.vals(c, t, unitPerStream); len(xs) > 0 {
				mean = fmt.Sprintf("%.1f (%s)", median(xs), c.Get("conc"))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", t, fit.pss.Format("%.1f"), strings.Join(counts, ","), mean, kern, after)
	}
	tw.Flush()
}

func (s *Set) writeCeilings(w io.Writer, sc suiteConfigs) {
	var lines []string
	for _, c := range sc.capacity {
		if !isBulk(c) {
			continue
		}
		if xs := s.vals(c, ceilingTarget, unitCPUGiB); len(xs) > 0 {
			lines = append(lines, fmt.Sprintf("  relay (cmd/relay: bytes only, spliced), %s: %s proxy CPU-s/GiB", strings.ReplaceAll(c.Keys, "scenario=", ""), MedianCI(xs).Format("%.2f")))
		}
	}
	for _, c := range sc.pair {
		for _, t := range s.targets([]Config{c}) {
			lines = append(lines, fmt.Sprintf("  %s, %s: %s MB/s, %s CPU-s/GiB (one process writing and reading a Unix socketpair)", t, strings.ReplaceAll(c.Keys, "scenario=", ""),
				fmtMed(s.vals(c, t, UnitSpeed), 1e-6, "%.0f"), fmtMed(s.vals(c, t, unitCPUGiB), 1, "%.2f")))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "ceilings on this machine (same run):")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// WriteSpliceGoals writes the suite's goals, judged on the default target
// (DefaultTarget): its proxy CPU per GiB at fixed load for the 64 MiB bulk
// bodies (≤ SpliceMaxCPU), its closed-loop chunked throughput ÷ direct's,
// paired per round (≥ SpliceMinSpeed), its CPU per GiB uploaded ÷ per GiB
// downloaded with the same framing (≤ UploadMaxRatio), its added delivery
// delay of events − HAProxy's (p50 and p99, ≤ 0), and its memory per idle
// stream on a fresh process (≤ MemoryMaxKiB), each with its interval; then the peers'
// figures for reference and, apart, the best sockproxy target (selected).
func (s *Set) WriteSpliceGoals(w io.Writer) error {
	sc := s.suiteConfigs()
	def := DefaultTarget()
	var lines []string
	for _, c := range sc.capacity {
		if _, up := uploadPairs[c.Get("scenario")]; !isBulk(c) || up {
			continue // uploads are judged against downloads, below
		}
		xs := s.vals(c, def, unitCPUGiB)
		if len(xs) == 0 {
			continue
		}
		iv := MedianCI(xs)
		line := fmt.Sprintf("  %-34s proxy CPU-s/GiB %s (n=%d; goal ≤ %.2f: %s)", strings.ReplaceAll(c.Keys, "scenario=", ""), iv.Format("%.2f"), iv.N, SpliceMaxCPU, verdict(iv, SpliceMaxCPU, false))
		if s.harnessBound(c, def) {
			line += " (harness-bound)"
		}
		var refs []string
		for _, t := range s.targets([]Config{c}) {
			if t == def || t == "direct" || !isPeer(t) && t != "sockproxy-stdlib" {
				continue
			}
			if ys := s.vals(c, t, unitCPUGiB); len(ys) > 0 {
				refs = append(refs, fmt.Sprintf("%s %.2f", t, median(ys)))
			}
		}
		if len(refs) > 0 {
			line += "; for reference: " + strings.Join(refs, ", ")
		}
		lines = append(lines, line)
	}
	for _, c := range sc.closed {
		if c.Get("scenario") != "chunked" && c.Get("scenario") != "save" {
			continue
		}
		a, d := s.vals(c, def, UnitSpeed), s.vals(c, "direct", UnitSpeed)
		if len(a) == 0 || len(d) == 0 {
			continue
		}
		iv := PairedRatioCI(a, d, nil)
		if len(a) != len(d) {
			iv = RatioCI(a, d)
		}
		note := ""
		if s.harnessBound(c, def) || s.harnessBound(c, "direct") {
			note = " (harness-bound: the ratio may say more about the harness)"
		}
		lines = append(lines, fmt.Sprintf("  %-34s MB/s ÷ direct's %s (n=%d; goal ≥ %.2fx: %s)%s", strings.ReplaceAll(c.Keys, "scenario=", ""), iv.Format("%.2fx"), iv.N, SpliceMinSpeed, verdict(iv, SpliceMinSpeed, true), note))
	}
	for _, c := range sc.capacity {
		down, ok := uploadPairs[c.Get("scenario")]
		if !ok {
			continue
		}
		for _, d := range sc.capacity {
			if d.Get("scenario") != down || d.Get("size") != c.Get("size") {
				continue
			}
			iv := PairedRatioCI(s.vals(c, def, unitCPUGiB), s.vals(d, def, unitCPUGiB), nil)
			if iv.N == 0 {
				continue
			}
			lines = append(lines, fmt.Sprintf("  %-34s proxy CPU-s/GiB ÷ %s's %s (n=%d; goal ≤ %.2fx: %s)", strings.ReplaceAll(c.Keys, "scenario=", ""), down,
				iv.Format("%.2fx"), iv.N, UploadMaxRatio, verdict(iv, UploadMaxRatio, false)))
		}
	}
	for _, c := range sc.events {
		for _, q := range []struct{ name, unit string }{{"p50", "p50-sec"}, {"p99", "p99-sec"}} {
			iv := PairedDiffCI(s.vals(c, def, q.unit), s.vals(c, "haproxy", q.unit))
			if !iv.OK {
				continue
			}
			lines = append(lines, fmt.Sprintf("  %-34s added %s delivery delay − haproxy's %s (n=%d; goal ≤ 0: %s); added over direct %s, haproxy's %s",
				strings.ReplaceAll(c.Keys, "scenario=", ""), q.name, iv.Scale(1e6).Format("%.0fµs"), iv.N, verdict(iv, 0, false),
				s.addedDelay(c, def, q.unit).Scale(1e6).Format("%.0fµs"), s.addedDelay(c, "haproxy", q.unit).Scale(1e6).Format("%.0fµs")))
		}
	}
	if len(sc.fresh) > 0 {
		if fit := s.freshFit(sc, def); fit.pss.OK {
			lines = append(lines, fmt.Sprintf("  %-34s KiB per idle stream, fresh process %s (n=%d points; goal ≤ %.0f: %s)", "streams", fit.pss.Format("%.1f"), fit.pss.N, MemoryMaxKiB, verdict(fit.pss, MemoryMaxKiB, false)))
		} else if fit.pss.N > 0 {
			lines = append(lines, fmt.Sprintf("  %-34s KiB per idle stream, fresh process: n/a (%d points; a fit needs %d at %d counts or more)", "streams", fit.pss.N, MinFitPoints, MinFitCounts))
		}
	}
	for _, c := range sc.capacity {
		if isBulk(c) {
			continue
		}
		for _, peer := range []string{"haproxy", "nginx"} {
			iv := PairedRatioCI(s.vals(c, def, unitCPUOp), s.vals(c, peer, unitCPUOp), nil)
			if iv.OK {
				lines = append(lines, fmt.Sprintf("  %-34s proxy CPU per request ÷ %s's %s (n=%d; no goal)", strings.ReplaceAll(c.Keys, "scenario=", ""), peer, iv.Format("%.2fx"), iv.N))
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	fmt.Fprintf(w, "suite goals, judged on the default (%s); median [%.0f %% bootstrap CI]; met only when the whole interval meets the goal:\n", def, Level*100)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	// Best of, apart: selected after the fact.
	var best []string
	for _, c := range sc.capacity {
		if !isBulk(c) {
			continue
		}
		bt, bv, n := "", math.Inf(1), 0
		for _, t := range s.targets([]Config{c}) {
			if !strings.HasPrefix(t, "sockproxy-") || strings.HasPrefix(t, "sockproxy-stdlib") {
				continue
			}
			if xs := s.vals(c, t, unitCPUGiB); len(xs) > 0 {
				n++
				if m := median(xs); m < bv {
					bt, bv = t, m
				}
			}
		}
		if bt != "" {
			best = append(best, fmt.Sprintf("  %-34s best of %d = %s: proxy CPU-s/GiB %s", strings.ReplaceAll(c.Keys, "scenario=", ""), n, bt, MedianCI(s.vals(c, bt, unitCPUGiB)).Format("%.2f")))
		}
	}
	if len(best) > 0 {
		fmt.Fprintln(w, "best sockproxy target (selected after the fact on the same data; not a verdict):")
		for _, l := range best {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}
