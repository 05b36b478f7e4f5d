package loadgen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenReports are fixed reports, one closed and one open loop.
func goldenReports() map[string]*Report {
	env := Env{GOOS: "linux", GOARCH: "amd64", CPU: "Test CPU @ 3.00GHz", Version: "0123456789ab"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	closed := &Report{
		Env: env, Target: "unix:///run/upstream.sock", Name: "direct", Scenario: "blob", Size: 64 << 10, Conc: 16,
		Duration: 10 * time.Second,
		Metrics: Metrics{
			Requests: 200000, Success: 200000, Bytes: 200000 * 65536,
			Earliest: t0, Latest: t0.Add(10 * time.Second), Elapsed: 10 * time.Second, Rate: 20000, Throughput: 200000 * 65536 / 10,
			Latency: Latencies{Min: 41 * time.Microsecond, Mean: 790 * time.Microsecond, P50: 702 * time.Microsecond,
				P90: 1201 * time.Microsecond, P99: 2403 * time.Microsecond, P999: 9871 * time.Microsecond, Max: 31 * time.Millisecond},
		},
	}
	open := &Report{
		Env: env, Target: "http://127.0.0.1:8080", Name: "sockproxy-pooled", Scenario: "ping", Conc: 1024, Rate: 5000,
		Count: 50000, Warmup: time.Second,
		Metrics: Metrics{
			Requests: 49990, Success: 49987, Errors: ErrorCounts{Status: 2, Timeout: 1}, FirstError: "status: GET /_ping: status 502 Bad Gateway",
			Bytes: 49987 * 2, Late: 120, Dropped: 10,
			Earliest: t0, Latest: t0.Add(10*time.Second + 3*time.Millisecond), Elapsed: 10*time.Second + 3*time.Millisecond,
			Rate: 4997.5, Throughput: 9994,
			Latency: Latencies{Min: 20 * time.Microsecond, Mean: 95 * time.Microsecond, P50: 81 * time.Microsecond,
				P90: 120 * time.Microsecond, P99: 10100 * time.Microsecond, P999: 201 * time.Millisecond, Max: 203 * time.Millisecond},
		},
	}
	return map[string]*Report{"closed": closed, "open": open}
}

func TestGolden(t *testing.T) {
	for name, rep := range goldenReports() {
		for _, format := range Formats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				report, err := NewReporter(format, rep)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := report(&buf); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join("testdata", name+"."+format+".golden")
				if *update {
					if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("%s output:\n%s\nwant (%s):\n%s", format, buf.Bytes(), file, want)
				}
			})
		}
	}
}

// The bench output reads back with benchfmt as one result carrying the
// name, the request count and every unit.
func TestBenchParse(t *testing.T) {
	for name, rep := range goldenReports() {
		var buf bytes.Buffer
		if err := BenchReporter(rep)(&buf); err != nil {
			t.Fatal(err)
		}
		r := benchfmt.NewReader(&buf, name)
		var results []*benchfmt.Result
		for r.Scan() {
			switch rec := r.Result().(type) {
			case *benchfmt.Result:
				results = append(results, rec.Clone())
			case *benchfmt.SyntaxError:
				t.Errorf("%s: %v", name, rec)
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		if len(results) != 1 {
			t.Fatalf("%s: %d results; want 1", name, len(results))
		}
		res := results[0]
		if got, want := res.Name.String(), rep.BenchName(); got != want {
			t.Errorf("%s: name %q; want %q", name, got, want)
		}
		if res.Iters != int(rep.Metrics.Requests) {
			t.Errorf("%s: iters %d; want %d", name, res.Iters, rep.Metrics.Requests)
		}
		if got, want := res.GetConfig("cpu"), rep.Env.CPU; got != want {
			t.Errorf("%s: cpu %q; want %q", name, got, want)
		}
		// benchfmt tidies ns/op to sec/op and p99-ns to p99-sec.
		checks := map[string]float64{
			"sec/op":  rep.Metrics.Elapsed.Seconds() / float64(rep.Metrics.Requests),
			"req/s":   rep.Metrics.Rate,
			"p99-sec": rep.Metrics.Latency.P99.Seconds(),
		}
		for unit, want := range checks {
			got, ok := res.Value(unit)
			if !ok || abs(got-want) > want*1e-3 {
				t.Errorf("%s: %s = %v (present %v); want %v", name, unit, got, ok, want)
			}
		}
	}
	names := map[string]string{}
	for name, rep := range goldenReports() {
		names[name] = rep.BenchName()
	}
	if want := "Loadgen/target=direct/scenario=blob/size=64KiB/conc=16"; names["closed"] != want {
		t.Errorf("closed name %q; want %q", names["closed"], want)
	}
	if want := "Loadgen/target=sockproxy-pooled/scenario=ping/rate=5000"; names["open"] != want {
		t.Errorf("open name %q; want %q", names["open"], want)
	}
}

func abs(x float64) float64 { return max(x, -x) }
