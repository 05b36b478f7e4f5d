package labreport

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestReport(t *testing.T) {
	s, err := ReadFiles("testdata/gotest.txt")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteOwnCost(&buf); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\n")
	if err := s.WriteGoals(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden", buf.Bytes())

	c := Config{Base: "Proxy", Keys: "shape=ping/conc=64"}
	if got, _, _ := s.Median(c, "stdlib", UnitTime); math.Abs(got-90100e-9) > 1e-12 {
		t.Errorf("median stdlib ping time = %g; want %g", got, 90100e-9)
	}
	if got, _ := s.Own(c, "pooled", UnitAllocs); got != 40 {
		t.Errorf("own allocs of pooled = %g; want 40", got)
	}
}

func TestGoalsPaired(t *testing.T) {
	s, err := ReadFiles("testdata/gotest-rounds.txt")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteOwnCost(&buf); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\n")
	if err := s.WriteGoals(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "goals.golden", buf.Bytes())
}

func TestSuite(t *testing.T) {
	for _, c := range []struct{ in, golden string }{
		{"testdata/suite-rounds.txt", "suite.golden"},
		{"testdata/loadgen.txt", "suite-old.golden"}, // a run from before fixed-rate runs
	} {
		s, err := ReadFiles(c.in)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := s.WriteSuite(&buf); err != nil {
			t.Fatal(err)
		}
		golden(t, c.golden, buf.Bytes())
	}
}

func TestSpliceGoals(t *testing.T) {
	s, err := ReadFiles("testdata/suite-rounds.txt")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteSpliceGoals(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "splicegoals.golden", buf.Bytes())
}

func TestSuitePlots(t *testing.T) {
	s, err := ReadFiles("testdata/suite-rounds.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := s.WriteSuitePlots(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"latency.svg", "cpu-request.svg", "cpu-gib.svg", "memory.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "<svg") {
			t.Errorf("%s is not an SVG: %.60q", name, b)
		}
	}
}

func TestPlots(t *testing.T) {
	s, err := ReadFiles("testdata/gotest.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := s.WritePlots(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"throughput.svg", "allocs.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "<svg") {
			t.Errorf("%s is not an SVG: %.60q", name, b)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	if _, err := Read(map[string]io.Reader{"bad": strings.NewReader("BenchmarkX 1 2 ns/op 3\n")}); err == nil {
		t.Errorf("Read of a malformed line succeeded; want a syntax error")
	}
}

// TestColumnKeys: transport, policy and metrics fold into the column, so
// that a restricted or observed proxy's row meets its direct row.
func TestColumnKeys(t *testing.T) {
	const in = "goos: linux\n" +
		"BenchmarkProxy/strategy=direct/shape=ping/conc=1-2 1 100 ns/op\n" +
		"BenchmarkProxy/strategy=splice-chunked/transport=raw/shape=ping/conc=1-2 1 300 ns/op\n" +
		"BenchmarkProxy/strategy=splice-chunked/transport=raw/policy=traefik/shape=ping/conc=1-2 1 310 ns/op\n" +
		"BenchmarkProxy/strategy=splice-chunked/transport=raw/metrics=on/shape=ping/conc=1-2 1 305 ns/op\n"
	s, err := Read(map[string]io.Reader{"in": strings.NewReader(in)})
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Base: "Proxy", Keys: "shape=ping/conc=1"}
	for col, want := range map[string]float64{
		"splice-chunked-raw":         200e-9,
		"splice-chunked-raw-traefik": 210e-9,
		"splice-chunked-raw-metrics": 205e-9,
	} {
		if got, _ := s.Own(c, col, UnitTime); math.Abs(got-want) > 1e-15 {
			t.Errorf("own time of %s = %g; want %g", col, got, want)
		}
	}
}

// The events run gets its own table (added delay over direct, paired per
// round) and goal line (against haproxy); an upload is judged against the
// download of the same framing.
func TestEventsAndUploads(t *testing.T) {
	var b strings.Builder
	b.WriteString("goos: linux\n")
	def := DefaultTarget()
	for round := range 3 {
		r := float64(round)
		for _, row := range []struct {
			target   string
			p50, p99 float64 // µs
		}{{"direct", 100, 300}, {def, 150, 500}, {"haproxy", 180, 600}} {
			fmt.Fprintf(&b, "BenchmarkLoadgen/target=%s/scenario=events/conc=1 200 1e7 ns/op 100 req/s %.0f p50-ns %.0f p99-ns 0.1 harness-util\n",
				row.target, (row.p50+r)*1e3, (row.p99+r)*1e3)
		}
		fmt.Fprintf(&b, "BenchmarkLoadgen/target=%s/scenario=blob/size=64MiB/rate=4 4 2.5e8 ns/op 4 req/s 268 MB/s %.2f proxy-cpu-s/GiB\n", def, 0.50+r/100)
		fmt.Fprintf(&b, "BenchmarkLoadgen/target=%s/scenario=load/size=64MiB/rate=4 4 2.5e8 ns/op 4 req/s 268 MB/s %.2f proxy-cpu-s/GiB\n", def, 0.60+r/100)
	}
	s, err := Read(map[string]io.Reader{"loadgen.txt": strings.NewReader(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	var suite, goals bytes.Buffer
	if err := s.WriteSuite(&suite); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteSpliceGoals(&goals); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stream delivery delay", "added p50", "50µs [", "200µs ["} {
		if !strings.Contains(suite.String(), want) {
			t.Errorf("suite tables lack %q:\n%s", want, suite.String())
		}
	}
	for _, want := range []string{
		"added p50 delivery delay − haproxy's -30µs [-30µs, -30µs] (n=3; goal ≤ 0: met)",
		"added p99 delivery delay − haproxy's -100µs [-100µs, -100µs] (n=3; goal ≤ 0: met)",
		"load/size=64MiB/rate=4",
		"÷ blob's 1.20x",
		"goal ≤ 1.10x: MISSED",
	} {
		if !strings.Contains(goals.String(), want) {
			t.Errorf("suite goals lack %q:\n%s", want, goals.String())
		}
	}
}

// The testdata and golden files were recorded when splice-chunked over raw
// was sockproxy's default: they are judged on it.
func init() { DefaultStrategy = "splice-chunked-raw" }
