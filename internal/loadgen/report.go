package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/perf/benchfmt"
)

// A Report is everything a run produced: what was asked, where it ran, and
// the [Metrics]. Reporters render it.
type Report struct {
	// Env describes the machine and the loadgen build.
	Env Env `json:"env"`
	// Target is the URL; Name is the target's label in benchmark names.
	Target string `json:"target"`
	Name   string `json:"name"`
	// Scenario, and Size (0 when the scenario has none) and Mix as run.
	Scenario string `json:"scenario"`
	Size     int64  `json:"size,omitempty"`
	Mix      string `json:"mix,omitempty"`
	// Client is the HTTP client used: "raw" or "std" ("" means raw).
	Client string `json:"client,omitempty"`
	// Conc is the closed loop's connections, or the open loop's in-flight
	// cap; Rate is the open loop's requests per second (0: closed loop).
	Conc int     `json:"conc"`
	Rate float64 `json:"rate,omitempty"`
	// Duration or Count ended the run, after Warmup.
	Duration time.Duration `json:"duration_ns,omitempty"`
	Count    int64         `json:"count,omitempty"`
	Warmup   time.Duration `json:"warmup_ns,omitempty"`
	// Metrics are the measurements.
	Metrics Metrics `json:"metrics"`
}

// Env describes where a run happened; it becomes the benchfmt file
// configuration.
type Env struct {
	GOOS    string `json:"goos"`            // runtime.GOOS
	GOARCH  string `json:"goarch"`          // runtime.GOARCH
	CPU     string `json:"cpu"`             // the CPU model, as go test names it
	Version string `json:"loadgen_version"` // the VCS revision, or "devel"
}

// CurrentEnv describes this machine and binary.
func CurrentEnv() Env {
	return Env{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPU: cpuModel(), Version: version()}
}

// cpuModel names the CPU as go test's "cpu:" line does.
func cpuModel() string {
	if name := brandName(); name != "" {
		return name
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// version is the module version, or the VCS revision (with "-dirty") the
// binary was built from, or "devel".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		return rev[:min(len(rev), 12)] + dirty
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "devel"
}

// BenchName is the result's name without the "Benchmark" prefix:
// Loadgen/target=NAME/scenario=S[/size=Z]/conc=N, or /rate=R for an open
// loop.
func (r *Report) BenchName() string {
	var b strings.Builder
	b.WriteString("Loadgen/target=" + r.Name + "/scenario=" + r.Scenario)
	if r.Size > 0 {
		b.WriteString("/size=" + sizeLabel(r.Size))
	}
	if r.Rate > 0 {
		b.WriteString("/rate=" + strconv.FormatFloat(r.Rate, 'f', -1, 64))
	} else {
		b.WriteString("/conc=" + strconv.Itoa(r.Conc))
	}
	return b.String()
}

// A Reporter writes a report in one format.
type Reporter func(io.Writer) error

// Formats lists the -format names NewReporter accepts.
func Formats() []string { return []string{"text", "bench", "json"} }

// NewReporter returns the reporter for format: "text", "bench" or "json".
func NewReporter(format string, r *Report) (Reporter, error) {
	switch format {
	case "text":
		return TextReporter(r), nil
	case "bench":
		return BenchReporter(r), nil
	case "json":
		return JSONReporter(r), nil
	}
	return nil, fmt.Errorf("unknown format %q (want text, bench or json)", format)
}

// JSONReporter writes r as one indented JSON object.
func JSONReporter(r *Report) Reporter {
	return func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
}

// BenchReporter writes r in the Go benchmark format, ready for benchstat:
// the environment as file configuration (goos, goarch, cpu,
// loadgen-version: the same for every run on a machine, because benchstat
// splits its tables by file configuration; the target and scenario are in
// the name instead), then one result line whose
// iteration count is the number of requests, with units ns/op (elapsed ÷
// requests), req/s, MB/s, p50-ns, p90-ns, p99-ns, p999-ns and max-ns, plus
// errors/op, late/op and dropped/op when they are not zero.
func BenchReporter(r *Report) Reporter {
	return func(w io.Writer) error {
		m := &r.Metrics
		res := &benchfmt.Result{Name: benchfmt.Name(r.BenchName()), Iters: int(m.Requests)}
		for _, kv := range [][2]string{
			{"goos", r.Env.GOOS}, {"goarch", r.Env.GOARCH}, {"cpu", r.Env.CPU},
			{"loadgen-version", r.Env.Version},
		} {
			res.Config = append(res.Config, benchfmt.Config{Key: kv[0], Value: []byte(kv[1]), File: true})
		}
		per := func(n int64) float64 {
			if m.Requests == 0 {
				return 0
			}
			return float64(n) / float64(m.Requests)
		}
		res.Values = []benchfmt.Value{
			{Value: per(int64(m.Elapsed)), Unit: "ns/op"},
			{Value: round(m.Rate), Unit: "req/s"},
			{Value: round(m.Throughput / 1e6), Unit: "MB/s"},
			{Value: float64(m.Latency.P50), Unit: "p50-ns"},
			{Value: float64(m.Latency.P90), Unit: "p90-ns"},
			{Value: float64(m.Latency.P99), Unit: "p99-ns"},
			{Value: float64(m.Latency.P999), Unit: "p999-ns"},
			{Value: float64(m.Latency.Max), Unit: "max-ns"},
		}
		for _, x := range []struct {
			n    int64
			unit string
		}{{m.Errors.Total(), "errors/op"}, {m.Late, "late/op"}, {m.Dropped, "dropped/op"}} {
			if x.n > 0 {
				res.Values = append(res.Values, benchfmt.Value{Value: round(per(x.n)), Unit: x.unit})
			}
		}
		res.Values[0].Value = round(res.Values[0].Value)
		return benchfmt.NewWriter(w).Write(res)
	}
}

// round keeps 6 significant digits, so output does not hinge on float
// noise.
func round(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	return v
}

// TextReporter writes a human summary of r.
func TextReporter(r *Report) Reporter {
	return func(w io.Writer) error {
		m := &r.Metrics
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		scen := r.Scenario
		if r.Size > 0 {
			scen += " " + sizeLabel(r.Size)
		}
		if r.Mix != "" {
			scen += " (" + r.Mix + ")"
		}
		loop := fmt.Sprintf("closed loop, %d connections", r.Conc)
		if r.Rate > 0 {
			loop = fmt.Sprintf("open loop, %s req/s, at most %d in flight", strconv.FormatFloat(r.Rate, 'f', -1, 64), r.Conc)
		}
		if r.Client == "std" {
			loop += ", net/http client"
		}
		fmt.Fprintf(tw, "target\t%s (%s)\n", r.Target, r.Name)
		fmt.Fprintf(tw, "scenario\t%s, %s\n", scen, loop)
		fmt.Fprintf(tw, "requests\t%d in %v: %.1f req/s, %.2f MB/s\n", m.Requests, m.Elapsed.Round(time.Millisecond), m.Rate, m.Throughput/1e6)
		fmt.Fprintf(tw, "errors\t%d (connect %d, status %d, read %d, timeout %d)\n",
			m.Errors.Total(), m.Errors.Connect, m.Errors.Status, m.Errors.Read, m.Errors.Timeout)
		if m.FirstError != "" {
			fmt.Fprintf(tw, "first error\t%s\n", m.FirstError)
		}
		if r.Rate > 0 {
			fmt.Fprintf(tw, "late sends\t%d (started > %v behind schedule)\n", m.Late, LateAfter)
			fmt.Fprintf(tw, "dropped sends\t%d (in-flight cap reached)\n", m.Dropped)
		}
		l := m.Latency
		fmt.Fprintf(tw, "latency\tp50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
			fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max))
		return tw.Flush()
	}
}

// fmtDur prints a duration with 3 significant figures.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
	case d >= time.Millisecond:
		return sig3(float64(d)/1e6) + "ms"
	case d >= time.Microsecond:
		return sig3(float64(d)/1e3) + "µs"
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

func sig3(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}
